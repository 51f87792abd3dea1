"""Container start latency: berth against bare runc, measured in the same run.

Measures (medians over N runs of busybox ``true``):
  1. bare ``runc create`` + ``runc start`` (until start returns: the process runs)
  2. bare ``runc run`` (until the process has exited)
  3. berth API ``POST /containers/create`` + ``POST /containers/{id}/start``
  4. ``docker run --rm busybox true`` (the real docker CLI) against berth
and prints the ratios 3/1 (target <= 1.3) and 4/2 (target <= 2.0).

For context it also times the docker CLI on its own (``docker --version``:
start-up and exit, no daemon involved), a fixed cost inside every
``docker run`` that no daemon can remove.

Run as root: ``.venv/bin/python bench/start.py [-n 30]``.
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
sys.path.insert(0, str(HERE.parent))

from harness import api_create_start, start_daemon, stop_daemon  # noqa: E402

from supervisor.images.tarball import build_busybox_tarball  # noqa: E402


def busybox_bundle(root: Path) -> Path:
    bundle = root / "bundle"
    rootfs = bundle / "rootfs"
    rootfs.mkdir(parents=True)
    subprocess.run(["tar", "-xf", str(root / "busybox.tar"), "-C", str(rootfs)], check=True)
    subprocess.run(["runc", "spec"], cwd=bundle, check=True)
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["terminal"] = False
    config["process"]["args"] = ["true"]
    config["linux"]["cgroupsPath"] = "/berth-bench/runc"
    (bundle / "config.json").write_text(json.dumps(config))
    return bundle


def runc_create_start(runc: list[str], bundle: Path, cid: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([*runc, "create", "--bundle", str(bundle), cid], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    subprocess.run([*runc, "start", cid], check=True)
    elapsed = time.perf_counter() - t0
    time.sleep(0.02)
    subprocess.run([*runc, "delete", "--force", cid], check=True)
    return elapsed


def runc_run(runc: list[str], bundle: Path, cid: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([*runc, "run", "--bundle", str(bundle), cid], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def docker_run(env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(["docker", "run", "--rm", "busybox", "true"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def docker_cli_alone(env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(["docker", "--version"], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=30, help="runs per measurement")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    root = Path(tempfile.mkdtemp(prefix="berth-bench", dir="/tmp"))
    proc = None
    try:
        build_busybox_tarball(root / "busybox.tar")
        bundle = busybox_bundle(root)
        proc, sock = start_daemon(root)
        env = {**os.environ, "DOCKER_HOST": f"unix://{sock}", "DOCKER_CONFIG": str(root / "dc")}
        subprocess.run(["docker", "import", str(root / "busybox.tar"), "busybox:latest"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        runc = ["runc", "--root", str(root / "runc-state")]
        create_start: list[float] = []
        run: list[float] = []
        api: list[float] = []
        docker: list[float] = []
        cli: list[float] = []
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://berth", timeout=60) as client:
            # Interleaved rounds: each round measures all four, so the machine's
            # drift (these hosts are noisy) hits baseline and berth alike.
            for i in range(-3, args.n):  # three warm-up rounds
                round_ = [
                    runc_create_start(runc, bundle, f"bench-{os.getpid()}-{i}"),
                    runc_run(runc, bundle, f"bench-{os.getpid()}-{i}r"),
                    api_create_start(client),
                    docker_run(env),
                    docker_cli_alone(env),
                ]
                if i >= 0:
                    for values, value in zip((create_start, run, api, docker, cli), round_, strict=True):
                        values.append(value)
        a, b, c, d, e = ms(create_start), ms(run), ms(api), ms(docker), ms(cli)
        print(f"runs per measurement: {args.n}")
        print(f"bare runc create+start      {a:8.1f} ms")
        print(f"bare runc run               {b:8.1f} ms")
        print(f"berth API create+start      {c:8.1f} ms   ratio {c / a:.2f}x runc create+start (target <= 1.3)")
        print(f"docker run --rm vs berth    {d:8.1f} ms   ratio {d / b:.2f}x runc run (target <= 2.0)")
        print(f"  context: docker --version {e:8.1f} ms   (the CLI's own start-up and exit, in every docker run)")
    finally:
        stop_daemon(proc, root)


if __name__ == "__main__":
    main()
