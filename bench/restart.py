"""Restart-policy overhead: from a process's exit to its successor running, minus the backoff.

A container with ``--restart always`` runs ``sh -c 'exit 1'`` and berth
restarts it over and over with the backoff pinned to 1 ms by labels
(``berth.restart.delay=1ms``, ``berth.restart.max-delay=1ms``). The overhead
of one restart is the time between two consecutive ``start`` events minus the
1 ms delay (an upper bound: it also contains the lifetime of ``sh``). The
baseline, in the same run, is bare ``runc create`` + ``runc start`` of the same
image (which is already most of the restart's cost) and ``runc delete`` +
``create`` + ``start``, the least a runc-based supervisor pays per restart.

Target: median overhead <= 60 ms (Docker adds 150-450 ms here).
Run as root: ``.venv/bin/python bench/restart.py [-n 40]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from harness import start_daemon, stop_daemon  # noqa: E402
from start import busybox_bundle, runc_create_start  # noqa: E402

from supervisor.images.tarball import build_busybox_tarball  # noqa: E402


def bench_runc_cycle(bundle: Path, state: Path, n: int) -> list[float]:
    """delete + create + start: what a runc supervisor pays to restart one container."""
    runc = ["runc", "--root", str(state)]
    cid = f"cycle-{os.getpid()}"
    subprocess.run([*runc, "create", "--bundle", str(bundle), cid], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    subprocess.run([*runc, "start", cid], check=True)
    times = []
    for _ in range(n):
        time.sleep(0.02)
        t0 = time.perf_counter()
        subprocess.run([*runc, "delete", "--force", cid], check=True)
        subprocess.run([*runc, "create", "--bundle", str(bundle), cid], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        subprocess.run([*runc, "start", cid], check=True)
        times.append(time.perf_counter() - t0)
    time.sleep(0.02)
    subprocess.run([*runc, "delete", "--force", cid], check=True)
    return times


def bench_berth(client: httpx.Client, n: int, network: str = "bridge") -> list[float]:
    body = {
        "Image": "busybox",
        "Cmd": ["sh", "-c", "exit 1"],
        "Labels": {"berth.restart.delay": "1ms", "berth.restart.max-delay": "1ms"},
        "HostConfig": {"RestartPolicy": {"Name": "always"}, "NetworkMode": network},
    }
    cid = client.post("/v1.50/containers/create", json=body).json()["Id"]
    since = time.time()
    client.post(f"/v1.50/containers/{cid}/start").raise_for_status()
    starts: list[int] = []
    filters = json.dumps({"container": [cid], "event": ["start"]})
    with client.stream("GET", "/v1.50/events", params={"since": f"{since - 1:.9f}", "filters": filters},
                       timeout=120) as response:
        for line in response.iter_lines():
            if line:
                starts.append(json.loads(line)["timeNano"])
                if len(starts) > n:
                    break
    client.delete(f"/v1.50/containers/{cid}", params={"force": "1"})
    gaps = [(b - a) / 1e9 - 0.001 for a, b in zip(starts, starts[1:], strict=False)]
    return gaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40)
    parser.add_argument("--network", default="bridge", help="the container's network (bridge, none, ...)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    root = Path(tempfile.mkdtemp(prefix="berth-bench", dir="/tmp"))
    proc = None
    try:
        build_busybox_tarball(root / "busybox.tar")
        bundle = busybox_bundle(root)
        runc = ["runc", "--root", str(root / "runc-state")]
        create_start = [
            runc_create_start(runc, bundle, f"bench-{os.getpid()}-{i}") for i in range(args.n // 2)
        ]
        cycle = bench_runc_cycle(bundle, root / "runc-state", args.n // 2)
        proc, sock = start_daemon(root)
        env = {**os.environ, "DOCKER_HOST": f"unix://{sock}", "DOCKER_CONFIG": str(root / "dc")}
        subprocess.run(["docker", "import", str(root / "busybox.tar"), "busybox:latest"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://berth", timeout=60) as client:
            gaps = bench_berth(client, args.n, args.network)
        a = statistics.median(create_start) * 1000
        b = statistics.median(cycle) * 1000
        g = statistics.median(gaps) * 1000
        print(f"restarts measured: {len(gaps)} (network {args.network})")
        print(f"bare runc create+start            {a:7.1f} ms")
        print(f"bare runc delete+create+start     {b:7.1f} ms")
        print(f"berth restart overhead (median)   {g:7.1f} ms   (target <= 60 ms; p90 {sorted(gaps)[int(len(gaps) * 0.9)] * 1000:.1f} ms)")
        print(f"ratio to runc create+start        {g / a:7.2f}x")
        print(f"ratio to runc delete+create+start {g / b:7.2f}x")
    finally:
        stop_daemon(proc, root)


if __name__ == "__main__":
    main()
