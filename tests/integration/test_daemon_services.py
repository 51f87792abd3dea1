"""berth daemon -c FILE: services kept running, reloaded on SIGHUP; a broken file changes nothing."""

from __future__ import annotations

import signal
import time

import pytest

from tests.integration.conftest import Daemon

pytestmark = pytest.mark.integration

FILE = """
services:
  app:
    image: busybox
    command: ["sh", "-c", "echo {word}; sleep 1000"]
    network_mode: none
    restart: always
"""


def _wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def _app_ids(d: Daemon) -> list[str]:
    return d.docker("ps", "-q", "--filter", "label=com.docker.compose.service=app").stdout.split()


def test_sighup_reloads_service_files(daemon_factory) -> None:
    d: Daemon = daemon_factory()
    services = d.root / "svc.yml"
    services.write_text(FILE.format(word="one"))
    d.start("-c", str(services))
    d.import_busybox()  # the image was missing at boot: the next reload picks the service up
    assert d.process is not None
    d.process.send_signal(signal.SIGHUP)
    _wait_for(lambda: len(_app_ids(d)) == 1)
    first = _app_ids(d)[0]
    _wait_for(lambda: d.docker("logs", first).stdout == "one\n")

    services.write_text("services: [not, a, mapping\n")  # broken YAML: nothing changes
    d.process.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    assert _app_ids(d) == [first]
    out = d.docker("events", "--since", "1m", "--until", "0s", "--filter", "type=daemon",
                   "--format", "{{.Action}} {{json .Actor.Attributes}}").stdout
    assert "reload" in out and "svc.yml" in out

    services.write_text(FILE.format(word="two"))  # a changed service is recreated
    d.process.send_signal(signal.SIGHUP)
    _wait_for(lambda: _app_ids(d) not in ([], [first]))
    second = _app_ids(d)[0]
    _wait_for(lambda: d.docker("logs", second).stdout == "two\n")
    assert d.berth("reload").stdout.strip() == "service files reloaded: nothing to change"
