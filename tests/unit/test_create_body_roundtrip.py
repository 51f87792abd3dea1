"""inspect → create round-trips: parse_create(inspect's Config + HostConfig) == the spec."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.api.container_views import encode_config, encode_host_config, inspect
from supervisor.api.create_body import parse_create
from supervisor.engine.model import (
    ContainerRecord,
    ContainerSpec,
    HealthConfig,
    LogConfig,
    Resources,
    RestartPolicy,
    Ulimit,
)
from supervisor.images.model import Image

IMAGE = Image(id="sha256:" + "ef" * 32)
MB = 2**20

_word = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
_text = st.text(st.characters(codec="utf-8"), max_size=12)
_path = st.lists(_word, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))
_words = st.lists(_word, max_size=3).map(tuple)
_env = st.lists(st.tuples(_word.map(str.upper), _text).map("=".join), max_size=4).map(tuple)
_labels = st.dictionaries(_word, _text, max_size=3)
_port = st.tuples(st.integers(1, 65535), st.sampled_from(["tcp", "udp", "sctp"])).map(
    lambda p: f"{p[0]}/{p[1]}"
)
_ports = st.lists(_port, max_size=3, unique=True).map(tuple)
_binding = st.fixed_dictionaries(
    {"HostIp": st.sampled_from(["", "0.0.0.0", "127.0.0.1", "::"]),
     "HostPort": st.sampled_from(["", "8080", "9000-9010"])}
)  # fmt: skip
_duration = st.sampled_from([0, 1_000_000, 10**9, 30 * 10**9])
_health = st.builds(
    HealthConfig,
    test=st.sampled_from([("CMD", "true"), ("CMD-SHELL", "curl -f x || exit 1"), ("NONE",)]),
    interval=_duration, timeout=_duration, start_period=_duration, start_interval=_duration,
    retries=st.integers(0, 5),
)  # fmt: skip
_policy = st.sampled_from(["no", "always", "unless-stopped", "on-failure"]).flatmap(
    lambda name: st.builds(
        RestartPolicy,
        name=st.just(name),
        maximum_retry_count=st.integers(0, 5) if name == "on-failure" else st.just(0),
    )
)


@st.composite
def _resources(draw: st.DrawFn) -> Resources:
    memory = draw(st.sampled_from([0, 6 * MB, 64 * MB, 2**33]))
    swap = draw(st.sampled_from([0, -1, memory * 2])) if memory else 0
    reservation = draw(st.sampled_from([0, memory])) if memory else 0
    nano = draw(st.sampled_from([0, 5 * 10**8, 2 * 10**9]))
    period = 0 if nano else draw(st.sampled_from([0, 1000, 100_000, 1_000_000]))
    quota = 0 if nano else draw(st.sampled_from([0, -1, 1000, 50_000]))
    return Resources(
        memory=memory,
        memory_swap=swap,
        memory_reservation=reservation,
        nano_cpus=nano,
        cpu_period=period,
        cpu_quota=quota,
        cpu_shares=draw(st.sampled_from([0, 2, 512, 1024])),
        cpuset_cpus=draw(st.sampled_from(["", "0", "0-3", "0,2-3"])),
        cpuset_mems=draw(st.sampled_from(["", "0"])),
        pids_limit=draw(st.sampled_from([0, 1, 100])),
        ulimits=tuple(
            draw(st.lists(st.builds(
                lambda n, s, h: Ulimit(n, min(s, h), max(s, h)),
                st.sampled_from(["nofile", "nproc", "core", "memlock"]),
                st.integers(-1, 10**6), st.integers(-1, 10**6),
            ), max_size=2))
        ),
    )  # fmt: skip


@st.composite
def specs(draw: st.DrawFn) -> ContainerSpec:
    """Representative valid specs: every field varies, within what Docker accepts."""
    cmd = draw(st.lists(_text, max_size=3).map(tuple))
    entrypoint = draw(st.sampled_from([(), ("/bin/sh", "-c"), ("/entry",), ("tini", "--")]))
    if not cmd and not entrypoint:
        cmd = ("sh",)
    policy = draw(_policy)
    network_mode = draw(st.sampled_from(["bridge", "host", "none", "proj_default"]))
    return ContainerSpec(
        image=draw(st.sampled_from(["busybox", "busybox:latest", "docker.io/library/x:1", IMAGE.id])),
        image_id=IMAGE.id,
        cmd=cmd,
        entrypoint=entrypoint,
        env=draw(_env),
        working_dir=draw(st.sampled_from(["", "/", "/srv", "/app/data"])),
        user=draw(st.sampled_from(["", "root", "1000:1000", "nobody"])),
        hostname=draw(st.sampled_from(["web", "db-1", "a.example.org"])),
        domainname=draw(st.sampled_from(["", "example.org"])),
        labels=draw(_labels),
        tty=draw(st.booleans()),
        open_stdin=draw(st.booleans()),
        stdin_once=draw(st.booleans()),
        attach_stdin=draw(st.booleans()),
        attach_stdout=draw(st.booleans()),
        attach_stderr=draw(st.booleans()),
        stop_signal=draw(st.sampled_from(["", "SIGTERM", "SIGINT", "9", "SIGRTMIN+3"])),
        stop_timeout=draw(st.none() | st.integers(-1, 600)),
        healthcheck=draw(st.none() | _health),
        exposed_ports=draw(_ports),
        volumes=draw(st.lists(_path, max_size=2, unique=True).map(tuple)),
        shell=draw(st.sampled_from([(), ("/bin/bash", "-c")])),
        init=draw(st.booleans()),
        auto_remove=draw(st.booleans()) if policy.name == "no" else False,
        privileged=draw(st.booleans()),
        readonly_rootfs=draw(st.booleans()),
        cap_add=draw(st.lists(st.sampled_from(["NET_ADMIN", "CAP_SYS_TIME", "ALL"]), max_size=2).map(tuple)),
        cap_drop=draw(st.lists(st.sampled_from(["MKNOD", "cap_chown"]), max_size=2).map(tuple)),
        network_mode=network_mode,
        binds=draw(st.lists(st.sampled_from(["/tmp:/tmp", "data:/data:ro", "/a:/b:rw,z"]), max_size=2, unique=True).map(tuple)),
        port_bindings=draw(st.dictionaries(_port, st.lists(_binding, max_size=2).map(tuple), max_size=2)),
        publish_all_ports=draw(st.booleans()),
        dns=draw(st.lists(st.sampled_from(["1.1.1.1", "8.8.8.8"]), max_size=2).map(tuple)),
        dns_search=draw(_words),
        dns_options=draw(st.lists(st.sampled_from(["ndots:2", "rotate"]), max_size=2).map(tuple)),
        extra_hosts=draw(st.lists(st.sampled_from(["db:10.0.0.2", "gw=host-gateway", "v6:::1"]), max_size=2).map(tuple)),
        shm_size=draw(st.sampled_from([64 * MB, 1, MB])),
        tmpfs=draw(st.dictionaries(  # a bind and a tmpfs on one path is "Duplicate mount point"
            _path.filter(lambda p: p not in ("/tmp", "/data", "/b")), st.sampled_from(["", "rw,size=64k"]), max_size=2
        )),
        sysctls=draw(st.dictionaries(st.sampled_from(["net.core.somaxconn", "kernel.msgmax"]), _word, max_size=2)),
        restart_policy=policy,
        log_config=draw(st.builds(LogConfig, type=st.sampled_from(["json-file", "local", "none"]),
                                  config=st.dictionaries(st.sampled_from(["max-size", "max-file"]), _word, max_size=2))),
        resources=draw(_resources()),
        console_size=draw(st.none() | st.tuples(st.integers(1, 500), st.integers(0, 500))),
    )  # fmt: skip


def _inspect_body(spec: ContainerSpec) -> dict[str, Any]:
    rec = ContainerRecord(id="f" * 64, name="x1", created=0, spec=spec)
    shown = inspect(rec, image=IMAGE, now_ns=0, log_path="/c/x-json.log")
    body: dict[str, Any] = json.loads(
        json.dumps({**shown["Config"], "HostConfig": shown["HostConfig"]})
    )
    return body


@settings(max_examples=150, deadline=None)
@given(specs())
def test_inspect_body_round_trips(spec: ContainerSpec) -> None:
    """Creating from a container's inspect Config+HostConfig recreates the same spec."""
    assert parse_create(_inspect_body(spec), IMAGE, name="x1") == spec


@settings(max_examples=50, deadline=None)
@given(specs())
def test_encoders_round_trip(spec: ContainerSpec) -> None:
    """encode_config + encode_host_config are exactly what parse_create reads."""
    body = json.loads(json.dumps({**encode_config(spec), "HostConfig": encode_host_config(spec)}))
    assert parse_create(body, IMAGE, name=None) == spec
