"""What every benchmark shares: a berth daemon on a temporary root, started as a user would."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def start_daemon(root: Path, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    """Start ``berth daemon`` on ``root`` and wait for its socket (the daemon is then ready)."""
    sock = root / "berth.sock"
    log = open(root / "daemon.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "supervisor", "daemon", "--data-root", str(root / "data"),
         "--exec-root", str(root / "exec"), "-H", f"unix://{sock}", "--log-level", "warning",
         *extra],
        stdout=log, stderr=log,
    )
    deadline = time.monotonic() + 30
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit((root / "daemon.log").read_text())
        time.sleep(0.02)
    return proc, sock


def stop_daemon(proc: subprocess.Popen[bytes] | None, root: Path) -> None:
    """Stop the daemon we started (SIGTERM, bounded), drop bare-runc baseline cgroups, remove ``root``."""
    if proc is not None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    for parent in Path("/sys/fs/cgroup").glob("*/berth-bench"):
        for sub in parent.iterdir():
            if sub.is_dir():
                sub.rmdir()
        parent.rmdir()
    shutil.rmtree(root, ignore_errors=True)


def api_create_start(client: Any, host_config: dict[str, object] | None = None) -> float:
    """Seconds from ``POST /containers/create`` to the start's answer (busybox ``true``); then clean up.

    ``client`` is an ``httpx.Client`` on the daemon's socket.
    """
    body: dict[str, object] = {"Image": "busybox", "Cmd": ["true"]}
    if host_config is not None:
        body["HostConfig"] = host_config
    t0 = time.perf_counter()
    r = client.post("/v1.50/containers/create", json=body)
    r.raise_for_status()
    cid = r.json()["Id"]
    client.post(f"/v1.50/containers/{cid}/start").raise_for_status()
    elapsed = time.perf_counter() - t0
    client.post(f"/v1.50/containers/{cid}/wait", timeout=30)
    client.delete(f"/v1.50/containers/{cid}", params={"force": "1"})
    return elapsed
