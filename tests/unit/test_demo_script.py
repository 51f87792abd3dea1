"""config/demo.sh (``make run``) survives ``set -u`` on a machine with a bare environment."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.sh"


def test_the_welcome_message_renders_without_editor_or_other_variables() -> None:
    """The message block expands only what the script sets (EDITOR is usually unset under make)."""
    text = DEMO.read_text()
    block = re.search(r"^cat <<MSG\n.*?^MSG\n", text, re.MULTILINE | re.DOTALL)
    assert block is not None
    script = "set -euo pipefail\nDAEMON=4242\nBERTH_HOST=unix:///tmp/x.sock\n" + block.group(0)
    result = subprocess.run(
        ["bash", "-c", script], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "berth is running (pid 4242)" in result.stdout
    assert "$EDITOR config/demo.yml" in result.stdout


# Stands in for the daemon: records each stop signal; the first starts a graceful stop (0.3 s).
FAKE_DAEMON = """
import signal, sys, time
log = open(sys.argv[1], "a", buffering=1)
stopping = []
def on(sig, _frame):
    log.write(signal.Signals(sig).name + "\\n")
    stopping.append(time.monotonic())
for s in (signal.SIGINT, signal.SIGTERM):
    signal.signal(s, on)
while not stopping or time.monotonic() - stopping[0] < 0.3:
    time.sleep(0.01)
"""


def _run_with_the_demos_traps(tmp_path: Path, ending: str, *, interrupt: bool) -> str:
    """Run the demo's trap lines around a fake daemon; return the signals it received."""
    traps = "\n".join(line for line in DEMO.read_text().splitlines() if line.startswith("trap "))
    log = tmp_path / "signals"
    fake = tmp_path / "fake_daemon.py"
    fake.write_text(FAKE_DAEMON)
    script = f"set -euo pipefail\npython3 {fake} {log} &\nDAEMON=$!\n{traps}\nsleep 0.3\n{ending}\n"
    proc = subprocess.Popen(["bash", "-c", script], start_new_session=True)
    if interrupt:
        time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
    proc.wait(timeout=10)
    return log.read_text() if log.exists() else ""


def test_ctrl_c_lets_the_daemon_stop_gracefully(tmp_path: Path) -> None:
    """The daemon gets Ctrl-C's SIGINT itself; the script must not add a second signal ("exit now")."""
    assert _run_with_the_demos_traps(tmp_path, "wait $DAEMON", interrupt=True) == "SIGINT\n"


def test_the_daemon_is_stopped_when_the_script_fails(tmp_path: Path) -> None:
    assert _run_with_the_demos_traps(tmp_path, "false", interrupt=False) == "SIGTERM\n"


def test_the_script_parses() -> None:
    assert subprocess.run(["bash", "-n", str(DEMO)], check=False).returncode == 0
