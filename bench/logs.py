"""Log capture throughput and tail latency: berth against the host's own write, in one run.

Measures:
  1. the host writing ``busybox seq 1000000`` to a file (median of 3);
  2. the same through berth: ``POST create`` + ``start`` of a busybox container
     running ``seq 1000000``, ``wait``, then ``GET /containers/{id}/logs``
     until the whole response (all 1,000,000 lines, checked after the clock
     stops) is in (median of 3), and the ratio 2/1 (target <= 6x; Docker 20.10
     measured here: about 36x); ``docker logs > file`` is timed too, for
     reference (the Go CLI makes one write per line, which dominates it);
  3. bytes on disk per line of that container's json-file log (Docker: 77);
  4. ``GET /containers/{id}/logs?tail=100`` on a 1 GB log built by the bench
     (the file is written directly into the container's LogPath), median of
     20 (target < 50 ms), and ``docker logs --tail 100`` for reference.

Run as root: ``.venv/bin/python bench/logs.py [--lines 1000000] [--big-gb 1]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from harness import start_daemon, stop_daemon  # noqa: E402

from supervisor.images.tarball import build_busybox_tarball  # noqa: E402
from supervisor.logs.jsonfile import encode_batch  # noqa: E402

BUSYBOX = shutil.which("busybox") or "/bin/busybox"


def host_write(root: Path, lines: int) -> float:
    target = root / "host-seq.txt"
    with open(target, "wb") as out:
        t0 = time.perf_counter()
        subprocess.run([BUSYBOX, "seq", str(lines)], stdout=out, check=True)
        elapsed = time.perf_counter() - t0
    target.unlink()
    return elapsed


def count_lines(path: Path) -> int:
    count = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def demux_count(body: bytes) -> tuple[int, int]:
    """(stdout lines, frames) of a stdcopy body."""
    lines = frames = 0
    pos, end = 0, len(body)
    unpack = struct.Struct(">BxxxI").unpack_from
    while pos < end:
        stream, size = unpack(body, pos)
        pos += 8
        if stream == 1:
            lines += body.count(b"\n", pos, pos + size)
        frames += 1
        pos += size
    return lines, frames


def berth_run(client: httpx.Client, env: dict[str, str], root: Path, lines: int) -> tuple[float, float, float, str]:
    """(create → GET /logs complete, of which the GET, docker logs > file for reference, container id)."""
    t0 = time.perf_counter()
    r = client.post("/v1.50/containers/create", json={"Image": "busybox", "Cmd": ["seq", str(lines)]})
    r.raise_for_status()
    cid = r.json()["Id"]
    client.post(f"/v1.50/containers/{cid}/start").raise_for_status()
    client.post(f"/v1.50/containers/{cid}/wait", timeout=600).raise_for_status()
    t1 = time.perf_counter()
    chunks = []
    with client.stream("GET", f"/v1.50/containers/{cid}/logs", params={"stdout": "1", "stderr": "1"}) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            chunks.append(chunk)
    t2 = time.perf_counter()
    got, frames = demux_count(b"".join(chunks))  # checked after the clock stopped
    if got != lines or frames != lines:
        msg = f"GET /logs returned {got} lines in {frames} frames, expected {lines}"
        raise SystemExit(msg)
    out_path = root / "logs-out.txt"
    t3 = time.perf_counter()
    with open(out_path, "wb") as out:
        subprocess.run(["docker", "logs", cid], env=env, stdout=out, check=True)
    cli = time.perf_counter() - t3
    got = count_lines(out_path)
    out_path.unlink()
    if got != lines:
        msg = f"docker logs returned {got} lines, expected {lines}"
        raise SystemExit(msg)
    return t2 - t0, t2 - t1, cli, cid


def disk_bytes(client: httpx.Client, cid: str) -> int:
    log_path = Path(client.get(f"/v1.50/containers/{cid}/json").json()["LogPath"])
    return sum(p.stat().st_size for p in log_path.parent.iterdir() if p.name.startswith(log_path.name))


def build_big_log(path: Path, size: int) -> None:
    """Append json-file lines (1000-line batches of 60-byte lines) until ``path`` is ``size`` bytes."""
    t = time.time_ns() - 3600 * 10**9
    block = b"".join(
        encode_batch(1 + (i % 2), t + i * 1000, [b"%08d " % (i * 1000 + j) + b"x" * 50 for j in range(1000)], True)
        for i in range(16)
    )
    with open(path, "ab") as f:
        while f.tell() < size:
            f.write(block)


def tail_latency(client: httpx.Client, env: dict[str, str], cid: str, runs: int) -> tuple[float, float]:
    api, cli = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = client.get(f"/v1.50/containers/{cid}/logs", params={"stdout": "1", "stderr": "1", "tail": "100"})
        r.raise_for_status()
        api.append(time.perf_counter() - t0)
    for _ in range(min(runs, 5)):
        t0 = time.perf_counter()
        result = subprocess.run(["docker", "logs", "--tail", "100", cid], env=env, capture_output=True, check=True)
        cli.append(time.perf_counter() - t0)
        if result.stdout.count(b"\n") + result.stderr.count(b"\n") != 100:
            msg = "tail 100 did not return 100 lines"
            raise SystemExit(msg)
    return statistics.median(api) * 1000, statistics.median(cli) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--big-gb", type=float, default=1.0, help="size of the log for the tail test")
    parser.add_argument("-n", type=int, default=3, help="runs of the throughput test")
    args = parser.parse_args()
    if os.geteuid() != 0:
        msg = "run as root"
        raise SystemExit(msg)
    root = Path(tempfile.mkdtemp(prefix="berth-bench-logs", dir="/tmp"))
    proc = None
    try:
        host = statistics.median(host_write(root, args.lines) for _ in range(5))
        build_busybox_tarball(root / "busybox.tar")
        proc, sock = start_daemon(root)
        env = {**os.environ, "DOCKER_HOST": f"unix://{sock}", "DOCKER_CONFIG": str(root / "dc")}
        subprocess.run(["docker", "import", str(root / "busybox.tar"), "busybox:latest"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://berth", timeout=600) as client:
            totals, reads, clis, cids = [], [], [], []
            for _ in range(args.n):
                total, read, cli, cid = berth_run(client, env, root, args.lines)
                totals.append(total)
                reads.append(read)
                clis.append(cli)
                cids.append(cid)
            per_line = disk_bytes(client, cids[-1]) / args.lines
            for cid in cids:
                client.delete(f"/v1.50/containers/{cid}", params={"force": "1"})

            r = client.post("/v1.50/containers/create", json={
                "Image": "busybox", "Cmd": ["true"],
                "HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"max-size": "-1"}}},
            })
            r.raise_for_status()
            big = r.json()["Id"]
            log_path = Path(client.get(f"/v1.50/containers/{big}/json").json()["LogPath"])
            log_path.parent.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            build_big_log(log_path, int(args.big_gb * 1e9))
            build = time.perf_counter() - t0
            tail_api, tail_cli = tail_latency(client, env, big, 20)
            size = log_path.stat().st_size
            client.delete(f"/v1.50/containers/{big}", params={"force": "1"})

        total, read, cli = statistics.median(totals), statistics.median(reads), statistics.median(clis)
        print(f"lines                                 {args.lines}")
        print(f"host: busybox seq > file              {host * 1000:9.1f} ms")
        print(f"berth: run + GET /logs, all lines     {total * 1000:9.1f} ms   "
              f"ratio {total / host:.2f}x the host (target <= 6x; Docker 20.10 ~36x)")
        print(f"   of which GET /logs (read back)     {read * 1000:9.1f} ms")
        print(f"docker logs > file (Go CLI, 1 write per line)  {cli * 1000:9.1f} ms   "
              f"run + this: {(total - read + cli) / host:.2f}x the host")
        print(f"bytes on disk per line                {per_line:9.1f}      (Docker: 77)")
        print(f"tail 100 of a {size / 1e9:.2f} GB log, API      {tail_api:9.1f} ms   (target < 50 ms; "
              f"log built in {build:.1f} s)")
        print(f"tail 100 of the same, docker logs     {tail_cli:9.1f} ms")
    finally:
        stop_daemon(proc, root)


if __name__ == "__main__":
    main()
