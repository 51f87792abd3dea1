"""The real docker CLI 28.2.2 against a berth daemon running real runc containers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.conftest import HAVE_DOCKER, Daemon

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not HAVE_DOCKER, reason="docker CLI not installed"),
]


def test_version_and_info(daemon: Daemon) -> None:
    out = daemon.docker("version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}").stdout
    assert out.strip() == "1.50 linux"
    info = json.loads(daemon.docker("info", "--format", "{{json .}}").stdout)
    assert info["OSType"] == "linux" and info["Swarm"]["LocalNodeState"] == "inactive"


def test_run_foreground_streams_output_and_exit_code(daemon: Daemon) -> None:
    out = daemon.docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert out.returncode == 3
    assert out.stdout == "out\n"
    assert "err\n" in out.stderr
    assert daemon.docker("ps", "-aq").stdout == ""  # --rm removed it


def test_run_interactive_passes_piped_input_sent_before_the_start(daemon: Daemon) -> None:
    """``docker run -i`` sends its input from its attach on, before its start: none of it is lost."""
    for _ in range(3):
        out = daemon.docker("run", "--rm", "-i", "busybox", "cat", input=b"piped\nlines\n", timeout=30)
        assert out.stdout == "piped\nlines\n"


def test_start_attach_interactive_passes_input_on_every_run(daemon: Daemon) -> None:
    """``docker start -ai`` of a container that ran before: the new run gets the input sent before its start."""
    daemon.docker("create", "-i", "--name", "again", "busybox", "cat")
    try:
        for text in ("first\n", "second\n"):
            out = daemon.docker("start", "-ai", "again", input=text.encode(), timeout=30)
            assert out.stdout == text
    finally:
        daemon.docker("rm", "-f", "again", check=False)


def test_host_network_container_takes_the_hosts_name(daemon: Daemon) -> None:
    """As on Docker: ``--network host`` without ``--hostname`` is named like the host."""
    out = daemon.docker("run", "--rm", "--network", "host", "busybox", "hostname").stdout
    assert out == socket.gethostname() + "\n"
    # Its /etc/hosts and resolv.conf are the host's, as libnetwork copies them.
    hosts = daemon.docker("run", "--rm", "--network", "host", "busybox", "cat", "/etc/hosts").stdout
    assert hosts == Path("/etc/hosts").read_text()
    resolv = daemon.docker("run", "--rm", "--network", "host", "busybox", "cat", "/etc/resolv.conf").stdout
    assert resolv == Path("/etc/resolv.conf").read_text()


def test_run_config_env_workdir_user_hostname_labels(daemon: Daemon) -> None:
    out = daemon.docker(
        "run", "--rm", "-e", "FOO=bar", "-w", "/tmp", "-u", "65534:65534", "--hostname", "box",
        "--label", "tier=web", "busybox", "sh", "-c", 'echo "$FOO $(pwd) $(id -u):$(id -g) $(hostname)"',
    ).stdout
    assert out == "bar /tmp 65534:65534 box\n"


def test_user_by_name_from_image_passwd(daemon: Daemon) -> None:
    out = daemon.docker("run", "--rm", "-u", "nobody", "busybox", "id", "-u").stdout
    assert out.strip() == "65534"


def test_resource_limits_reach_the_cgroups(daemon: Daemon) -> None:
    script = (
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"
        " /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares"
        " /sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/pids/pids.max"
    )
    out = daemon.docker(
        "run", "--rm", "-m", "64m", "--memory-swap", "128m", "--cpus", "0.5", "--cpu-shares", "512",
        "--cpuset-cpus", "0", "--pids-limit", "50", "busybox", "sh", "-c", script,
    ).stdout.split()
    assert out == [str(64 << 20), str(128 << 20), "50000", "512", "0", "50"]


def test_init_runs_tini_as_pid_1(daemon: Daemon) -> None:
    out = daemon.docker("run", "--rm", "--init", "busybox", "cat", "/proc/1/cmdline").stdout
    assert out.split("\0")[0] == "/sbin/docker-init"


def test_missing_command_gives_127(daemon: Daemon) -> None:
    out = daemon.docker("run", "--rm", "busybox", "no-such-binary", check=False)
    assert out.returncode == 127
    assert "executable file not found" in out.stderr
    assert daemon.docker("ps", "-aq").stdout == ""


def test_detached_lifecycle(daemon: Daemon) -> None:
    cid = daemon.docker("run", "-d", "--name", "life", "busybox", "sleep", "1000").stdout.strip()
    assert len(cid) == 64
    try:
        ps = daemon.docker("ps", "--format", "{{.ID}} {{.Names}} {{.Status}}").stdout
        assert f"{cid[:12]} life Up" in ps
        daemon.docker("pause", "life")
        assert daemon.inspect("life")["State"]["Status"] == "paused"
        with open(f"/sys/fs/cgroup/freezer/berth/{cid}/freezer.state") as f:
            assert f.read().strip() == "FROZEN"
        assert daemon.docker("ps", "-q", "--filter", "status=paused").stdout.strip() == cid[:12]
        daemon.docker("unpause", "life")
        pid_before = daemon.inspect("life")["State"]["Pid"]
        daemon.docker("restart", "-t", "1", "life")
        state = daemon.inspect("life")["State"]
        assert state["Running"] and state["Pid"] != pid_before
        daemon.docker("rename", "life", "life2")
        assert daemon.docker("inspect", "-f", "{{.Name}}", "life2").stdout.strip() == "/life2"
        # busybox sleep as PID 1 ignores SIGTERM: the stop timeout ends in SIGKILL, 137.
        t0 = time.monotonic()
        daemon.docker("stop", "-t", "1", "life2")
        assert 0.9 < time.monotonic() - t0 < 5
        assert daemon.docker("wait", "life2").stdout.strip() == "137"
        assert "Exited (137)" in daemon.docker("ps", "-a", "--filter", "name=life2", "--format", "{{.Status}}").stdout
        assert daemon.docker("stop", "life2").returncode == 0  # 304 is success for the CLI
    finally:
        daemon.docker("rm", "-f", "life", "life2", check=False)


def test_stop_signal_and_timeout_from_create(daemon: Daemon) -> None:
    daemon.docker("create", "--name", "sig", "--stop-signal", "SIGUSR1", "--stop-timeout", "1",
                  "busybox", "sh", "-c", "trap 'exit 7' USR1; while :; do sleep 0.1; done")
    try:
        daemon.docker("start", "sig")
        time.sleep(0.3)
        daemon.docker("stop", "sig")
        assert daemon.inspect("sig")["State"]["ExitCode"] == 7
    finally:
        daemon.docker("rm", "-f", "sig", check=False)


def test_kill_with_signal_and_errors(daemon: Daemon) -> None:
    daemon.docker("run", "-d", "--name", "kk", "busybox", "sh", "-c", "trap 'exit 9' HUP; while :; do sleep 0.1; done")
    try:
        time.sleep(0.3)
        daemon.docker("kill", "-s", "HUP", "kk")
        assert daemon.docker("wait", "kk").stdout.strip() == "9"
        out = daemon.docker("kill", "kk", check=False)
        assert out.returncode == 1 and "is not running" in out.stderr
    finally:
        daemon.docker("rm", "-f", "kk", check=False)


def test_rm_running_needs_force_and_rm_f_missing_is_ok(daemon: Daemon) -> None:
    daemon.docker("run", "-d", "--name", "rmme", "busybox", "sleep", "1000")
    out = daemon.docker("rm", "rmme", check=False)
    assert out.returncode == 1 and "stop the container before removing or force remove" in out.stderr
    daemon.docker("rm", "-f", "rmme")
    assert daemon.docker("rm", "-f", "rmme", check=False).returncode == 0
    out = daemon.docker("inspect", "rmme", check=False)
    assert out.returncode == 1 and "No such object" in out.stderr


def test_ps_filters_formats_and_lookup(daemon: Daemon) -> None:
    a = daemon.docker("create", "--name", "fa", "--label", "role=db", "busybox", "true").stdout.strip()
    b = daemon.docker("create", "--name", "fb", "--label", "role=web", "busybox", "true").stdout.strip()
    try:
        assert daemon.docker("ps", "-q").stdout == ""
        ids = daemon.docker("ps", "-aq", "--no-trunc").stdout.split()
        assert ids[:2] == [b, a]  # newest first
        assert daemon.docker("ps", "-aq", "--filter", "label=role=db").stdout.split() == [a[:12]]
        assert daemon.docker("ps", "-aq", "--filter", "name=fb").stdout.split() == [b[:12]]
        assert daemon.docker("ps", "-aq", "--filter", f"id={a[:6]}").stdout.split() == [a[:12]]
        assert daemon.docker("ps", "-q", "--filter", "status=created").stdout.split() == [b[:12], a[:12]]
        assert daemon.docker("ps", "-l", "-q").stdout.split() == [b[:12]]
        assert len(daemon.docker("ps", "-a", "-n", "1", "-q").stdout.split()) == 1
        rows = [json.loads(line) for line in daemon.docker("ps", "-a", "--format", "json").stdout.splitlines()]
        assert {r["Names"] for r in rows} >= {"fa", "fb"}
        # lookup by id prefix, name with slash
        assert daemon.docker("inspect", "-f", "{{.Id}}", a[:7]).stdout.strip() == a
        assert daemon.docker("inspect", "-f", "{{.Config.Labels.role}}", "/fb").stdout.strip() == "web"
        out = daemon.docker("ps", "--filter", "status=bogus", check=False)
        assert out.returncode != 0 and "status=bogus" in out.stderr
    finally:
        daemon.docker("rm", "-f", a, b, check=False)


def test_name_conflict(daemon: Daemon) -> None:
    daemon.docker("create", "--name", "dup", "busybox", "true")
    try:
        out = daemon.docker("create", "--name", "dup", "busybox", "true", check=False)
        assert out.returncode == 1 and "is already in use by container" in out.stderr
        out = daemon.docker("run", "--name", "dup", "busybox", "true", check=False)
        assert out.returncode == 125 and "is already in use by container" in out.stderr
    finally:
        daemon.docker("rm", "dup")


def test_images_import_tag_rmi(daemon: Daemon) -> None:
    tar = daemon.root / "busybox.tar"
    out = daemon.docker("import", str(tar), "mybox:1", "--change", "CMD [\"echo\", \"from-cmd\"]").stdout
    assert out.startswith("sha256:")
    images = daemon.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert {"busybox:latest", "mybox:1", "host:latest"} <= set(images)
    assert daemon.docker("run", "--rm", "mybox:1").stdout == "from-cmd\n"
    daemon.docker("tag", "mybox:1", "mybox:2")
    daemon.docker("create", "--name", "user", "mybox:2")
    try:
        out = daemon.docker("rmi", "mybox:2", check=False)
        # Another tag exists: this only untags.
        assert out.returncode == 0 and "Untagged: mybox:2" in out.stdout
        out = daemon.docker("rmi", "mybox:1", check=False)
        assert out.returncode == 1 and "conflict" in out.stderr
    finally:
        daemon.docker("rm", "user")
    out = daemon.docker("rmi", "mybox:1").stdout
    assert "Deleted: sha256:" in out
    out = daemon.docker("image", "inspect", "mybox:1", check=False)
    assert out.returncode == 1


def test_import_from_stdin(daemon: Daemon) -> None:
    data = (daemon.root / "busybox.tar").read_bytes()
    daemon.docker("import", "-", "stdinbox:latest", input=data)
    assert daemon.docker("run", "--rm", "stdinbox", "echo", "ok").stdout == "ok\n"
    daemon.docker("rmi", "stdinbox")


def test_host_image_runs_a_host_program_isolated(daemon: Daemon) -> None:
    out = daemon.docker(
        "run", "--rm", "host", "python3", "-c",
        "import os; print(os.getpid(), os.path.exists('/etc/os-release'), os.listdir('/tmp'))",
    ).stdout.split(maxsplit=2)
    assert out[0] == "1" and out[1] == "True" and out[2].strip() == "[]"
    out = daemon.docker("run", "--rm", "host", "sh", "-c", "touch /usr/x 2>&1; echo $?").stdout
    assert out.strip() != "0"  # read-only view
    out = daemon.docker("run", "--rm", "host", "sh", "-c", f"ls {daemon.data_root} 2>/dev/null | wc -l").stdout
    assert out.strip() == "0"  # the daemon's own state is hidden


def test_events_replay_and_filters(daemon: Daemon) -> None:
    since = str(int(time.time()) - 1)
    daemon.docker("run", "--rm", "--name", "ev", "--label", "team=blue", "busybox", "true")
    until = str(int(time.time()) + 1)
    out = daemon.docker("events", "--since", since, "--until", until, "--filter", "container=ev").stdout
    actions = [line.split()[2] for line in out.splitlines()]
    assert actions == ["create", "start", "die", "destroy"]
    out = daemon.docker("events", "--since", since, "--until", until, "--filter", "event=die",
                        "--filter", "label=team=blue", "--format", "{{json .}}").stdout
    (event,) = [json.loads(line) for line in out.splitlines()]
    assert event["status"] == "die" and event["Actor"]["Attributes"]["exitCode"] == "0"
    assert event["from"] == "busybox" and len(event["id"]) == 64


def test_wait_conditions_and_bad_input(daemon: Daemon) -> None:
    cid = daemon.docker("create", "busybox", "sh", "-c", "sleep 0.5; exit 4").stdout.strip()
    # not-running on a container that never ran answers at once, as Docker does.
    assert daemon.docker("wait", cid).stdout.strip() == "0"
    daemon.docker("start", cid)
    env = {**os.environ, "DOCKER_HOST": daemon.host}
    waiter = subprocess.Popen(["docker", "wait", cid], stdout=subprocess.PIPE, env=env)
    assert waiter.communicate(timeout=30)[0].decode().strip() == "4"
    daemon.docker("rm", cid)
    out = daemon.docker("run", "--rm", "--cpus", "0.5", "--cpu-quota", "1000", "busybox", "true", check=False)
    assert out.returncode == 125
    out = daemon.docker("run", "--rm", "-m", "1k", "busybox", "true", check=False)
    assert out.returncode == 125 and "Minimum memory limit" in out.stderr
    out = daemon.docker("run", "--rm", "nosuchimage", "true", check=False)
    assert out.returncode == 125 and "No such image" in out.stderr


def test_no_runc_left_and_daemon_is_parent(daemon: Daemon) -> None:
    daemon.docker("run", "-d", "--name", "par", "busybox", "sleep", "100")
    try:
        pid = daemon.inspect("par")["State"]["Pid"]
        with open(f"/proc/{pid}/stat") as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        assert daemon.process is not None and ppid == daemon.process.pid
        runcs = subprocess.run(["pgrep", "-x", "runc"], capture_output=True, text=True).stdout.split()
        assert runcs == []
    finally:
        daemon.docker("rm", "-f", "par")
