"""Container start time with a bridge network against ``--network none``, in one run.

Two measurements:
  1. through the API (needs the daemon with networking wired in): ``POST
     /containers/create`` + ``POST /containers/{id}/start`` of busybox ``true``
     with ``NetworkMode`` none, bridge, a user network, and bridge with one
     published port (``-p 127.0.0.1::80``); runs interleaved, median of N
     each; the difference to ``none`` is what networking adds (target:
     <= 25 ms);
  2. ``--direct``: the network manager alone on this host (no daemon):
     ``plan`` + ``attach`` + ``detach`` for a process in a fresh namespace
     (``unshare -n sleep``), the cost the engine adds between runc create and
     runc start, median of N.

Traffic goes only to loopback. Run as root:
``.venv/bin/python bench/network.py [-n 30] [--direct]``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
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

TARGET_MS = 25.0


def bench_api(n: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="berth-bench-net", dir="/tmp"))
    proc = None
    try:
        build_busybox_tarball(root / "busybox.tar")
        proc, sock = start_daemon(root)
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://berth", timeout=60) as client:
            if client.get("/v1.50/networks").status_code != 200:
                raise SystemExit("this daemon does not serve /networks yet (networking not wired in); try --direct")
            with open(root / "busybox.tar", "rb") as tar:
                client.post("/v1.50/images/create", params={"fromSrc": "-", "repo": "busybox", "tag": "latest"},
                            content=tar.read()).raise_for_status()
            net = "bench-" + secrets.token_hex(3)
            client.post("/v1.50/networks/create", json={"Name": net}).raise_for_status()
            cases = {
                "none": {"NetworkMode": "none"},
                "bridge": {"NetworkMode": "bridge"},
                "user network": {"NetworkMode": net},
                "bridge + 1 port": {"NetworkMode": "bridge", "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}},
            }
            times: dict[str, list[float]] = {k: [] for k in cases}
            for hc in cases.values():  # warm-up
                api_create_start(client, hc)
            for _ in range(n):
                for name, hc in cases.items():
                    times[name].append(api_create_start(client, hc))
            client.delete(f"/v1.50/networks/{net}")
        base = statistics.median(times["none"]) * 1000
        print(f"runs per case: {n} (interleaved), create+start through the API, median")
        for name, values in times.items():
            med = statistics.median(values) * 1000
            extra = "" if name == "none" else f"   +{med - base:6.1f} ms vs none (target <= {TARGET_MS:.0f})"
            print(f"{name:18s} {med:8.1f} ms{extra}")
    finally:
        stop_daemon(proc, root)


def bench_direct(n: int) -> None:
    import trio

    from supervisor.engine.model import ContainerSpec
    from supervisor.network.manager import NetworkConfig, NetworkManager

    root = Path(tempfile.mkdtemp(prefix="berth-bench-net", dir="/tmp"))

    async def main() -> None:
        manager = NetworkManager(NetworkConfig(root, root / "exec", bridge_name="bb" + secrets.token_hex(4)))
        async with trio.open_nursery() as nursery:
            await nursery.start(manager.run)
            user = await manager.create_network("bench-" + secrets.token_hex(3))
            cases = {
                "bridge": ContainerSpec(image="x", cmd=("x",)),
                "user network": ContainerSpec(image="x", cmd=("x",), network_mode=user.name),
                "bridge + 1 port": ContainerSpec(image="x", cmd=("x",), port_bindings={"80/tcp": ({"HostIp": "127.0.0.1", "HostPort": ""},)}),
            }
            attach: dict[str, list[float]] = {k: [] for k in cases}
            detach: dict[str, list[float]] = {k: [] for k in cases}
            for i in range(n + 1):
                for name, spec in cases.items():
                    proc = subprocess.Popen(["unshare", "-n", "sleep", "30"])
                    while Path(f"/proc/{proc.pid}/ns/net").resolve() == Path("/proc/self/ns/net").resolve():
                        await trio.sleep(0.001)
                    cid = secrets.token_hex(32)
                    await manager.register(cid, spec)
                    t0 = time.perf_counter()
                    await manager.plan(cid, "c", spec)
                    await manager.attach(cid, "c", spec, proc.pid)
                    t1 = time.perf_counter()
                    await manager.detach(cid)
                    t2 = time.perf_counter()
                    await manager.forget(cid)
                    proc.kill()
                    proc.wait()
                    if i:  # the first round is a warm-up
                        attach[name].append(t1 - t0)
                        detach[name].append(t2 - t1)
            await manager.remove_network(user.name)
            nursery.cancel_scope.cancel()
        print(f"runs per case: {n}, network manager alone (plan+attach between runc create and start), median")
        for name in cases:
            a = statistics.median(attach[name]) * 1000
            d = statistics.median(detach[name]) * 1000
            print(f"{name:18s} attach {a:6.1f} ms (target <= {TARGET_MS:.0f})   detach {d:6.1f} ms")

    try:
        trio.run(main)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=30, help="runs per case")
    parser.add_argument("--direct", action="store_true", help="measure the network manager alone")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    if args.direct:
        bench_direct(args.n)
    else:
        bench_api(args.n)


if __name__ == "__main__":
    main()
