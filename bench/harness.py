"""What every benchmark shares: a berth daemon on a temporary root, started as a user would."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def start_daemon(root: Path, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    """Start ``berth daemon`` on ``root`` and wait for its socket (the daemon is then ready)."""
    sock = root / "berth.sock"
    log = open(root / "daemon.log", "wb")  # noqa: SIM115 - the daemon writes to it until stopped
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
