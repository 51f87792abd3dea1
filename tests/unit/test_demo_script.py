"""config/demo.sh (``make run``) survives ``set -u`` on a machine with a bare environment."""

from __future__ import annotations

import re
import subprocess
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


def test_the_daemon_is_stopped_whatever_ends_the_script() -> None:
    trap = next(line for line in DEMO.read_text().splitlines() if line.startswith("trap "))
    assert trap.split("'")[1].startswith("kill -TERM $DAEMON")
    assert trap.rstrip().endswith("INT TERM EXIT")
    assert subprocess.run(["bash", "-n", str(DEMO)], check=False).returncode == 0
