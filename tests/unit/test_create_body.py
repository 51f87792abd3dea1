"""POST /containers/create and /update bodies: merge with the image, validation, types."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.api.create_body import (
    ContainerUpdate,
    apply_update,
    create_warnings,
    parse_create,
    parse_endpoints,
    parse_update,
    validate_container_name,
)
from supervisor.engine.model import (
    DEFAULT_SHM_SIZE,
    ContainerSpec,
    HealthConfig,
    LogConfig,
    Resources,
    RestartPolicy,
    Ulimit,
)
from supervisor.errors import InvalidArgument
from supervisor.images.model import Image, ImageConfig

IMAGE_ID = "sha256:" + "ab" * 32
IMAGE = Image(
    id=IMAGE_ID,
    repo_tags=("busybox:latest",),
    config=ImageConfig(
        env=("PATH=/usr/bin:/bin", "LANG=C"),
        cmd=("sh",),
        entrypoint=("/entry.sh",),
        working_dir="/srv",
        user="daemon",
        labels={"maintainer": "x", "tier": "image"},
        stop_signal="SIGQUIT",
        exposed_ports=("80/tcp",),
        volumes=("/data",),
        healthcheck=HealthConfig(test=("CMD", "true"), interval=10**9, retries=2),
        shell=("/bin/sh", "-c"),
    ),
)
BARE = Image(id=IMAGE_ID, config=ImageConfig(cmd=("sh",)))


def create(body: dict[str, Any], image: Image = BARE, name: str | None = None) -> ContainerSpec:
    return parse_create(body, image, name=name)


# --- merging with the image (moby's merge) ----------------------------------------------


def test_minimal_docker_py_body_gets_docker_defaults() -> None:
    """docker-py's bare create body fills LogConfig/RestartPolicy/NetworkMode defaults."""
    spec = create({"Image": "busybox", "HostConfig": {"NetworkMode": "default"}})
    assert spec.image == "busybox"
    assert spec.image_id == IMAGE_ID
    assert spec.network_mode == "bridge"
    assert spec.log_config == LogConfig("json-file", {})
    assert spec.restart_policy == RestartPolicy("no", 0)
    assert spec.shm_size == DEFAULT_SHM_SIZE
    assert spec.cmd == ("sh",)


def test_cli_log_config_placeholder_becomes_json_file() -> None:
    """The CLI sends LogConfig {"Type":"","Config":{}}: the default driver applies."""
    spec = create({"HostConfig": {"LogConfig": {"Type": "", "Config": {}}, "NetworkMode": ""}})
    assert spec.log_config.type == "json-file"
    assert spec.network_mode == "bridge"


def test_env_request_wins_per_key_and_keeps_image_rest() -> None:
    """moby's order: the request's variables, then the image's it does not override."""
    spec = create({"Env": ["LANG=en_US.UTF-8", "A=1"]}, IMAGE)
    assert spec.env == ("LANG=en_US.UTF-8", "A=1", "PATH=/usr/bin:/bin")
    assert create({}, IMAGE).env == IMAGE.config.env


@pytest.mark.parametrize(
    ("body", "cmd", "entrypoint"),
    [
        ({}, ("sh",), ("/entry.sh",)),
        ({"Cmd": ["ls", "-l"]}, ("ls", "-l"), ("/entry.sh",)),
        ({"Cmd": "ls"}, ("ls",), ("/entry.sh",)),
        ({"Cmd": None, "Entrypoint": None}, ("sh",), ("/entry.sh",)),
        ({"Entrypoint": ["/bin/echo"]}, (), ("/bin/echo",)),  # image Cmd dropped
        ({"Entrypoint": "/bin/echo", "Cmd": ["hi"]}, ("hi",), ("/bin/echo",)),
        ({"Entrypoint": [""], "Cmd": ["ls"]}, ("ls",), ()),  # [""] resets the entrypoint
        ({"Entrypoint": "", "Cmd": ["ls"]}, ("ls",), ()),
        ({"Entrypoint": []}, ("sh",), ()),  # empty list: no entrypoint, image Cmd kept
    ],
)
def test_cmd_and_entrypoint_merge(
    body: dict[str, Any], cmd: tuple[str, ...], entrypoint: tuple[str, ...]
) -> None:
    """Cmd/Entrypoint follow moby's merge, including the string and [""] forms."""
    spec = create(body, IMAGE)
    assert (spec.cmd, spec.entrypoint) == (cmd, entrypoint)


def test_no_command_at_all_is_rejected() -> None:
    """Nothing to run from request or image is Docker's "No command specified"."""
    with pytest.raises(InvalidArgument, match="No command specified"):
        create({}, Image(id=IMAGE_ID))
    with pytest.raises(InvalidArgument, match="No command specified"):
        create({"Entrypoint": [""]}, Image(id=IMAGE_ID))


def test_scalars_inherit_from_image_unless_given() -> None:
    """WorkingDir, User, StopSignal and Shell come from the image when the request has none."""
    spec = create({}, IMAGE)
    assert (spec.working_dir, spec.user, spec.stop_signal, spec.shell) == (
        "/srv", "daemon", "SIGQUIT", ("/bin/sh", "-c"),
    )  # fmt: skip
    spec = create(
        {"WorkingDir": "/app/./x/../y", "User": "0:0", "StopSignal": "TERM", "Shell": ["bash"]},
        IMAGE,
    )
    assert (spec.working_dir, spec.user, spec.stop_signal, spec.shell) == (
        "/app/y", "0:0", "TERM", ("bash",),
    )  # fmt: skip


def test_labels_ports_volumes_are_unions() -> None:
    """Request labels overlay image labels; ExposedPorts and Volumes are unions."""
    spec = create(
        {"Labels": {"tier": "web", "a": "b"}, "ExposedPorts": {"443/tcp": {}, "53/udp": {}},
         "Volumes": {"/logs": {}}},
        IMAGE,
    )  # fmt: skip
    assert spec.labels == {"maintainer": "x", "tier": "web", "a": "b"}
    assert spec.exposed_ports == ("443/tcp", "53/udp", "80/tcp")
    assert spec.volumes == ("/logs", "/data")


@pytest.mark.parametrize(
    ("healthcheck", "expected"),
    [
        (None, IMAGE.config.healthcheck),
        ({"Test": []}, IMAGE.config.healthcheck),
        ({"Test": [], "Retries": 5}, HealthConfig(("CMD", "true"), interval=10**9, retries=5)),
        ({"Test": ["NONE"]}, HealthConfig(("NONE",), interval=10**9, retries=2)),
        (
            {"Test": ["CMD-SHELL", "curl x"], "Interval": 2 * 10**9},
            HealthConfig(("CMD-SHELL", "curl x"), interval=2 * 10**9, retries=2),
        ),
    ],
)
def test_healthcheck_merge(healthcheck: dict[str, Any] | None, expected: HealthConfig) -> None:
    """Test [] inherits the image's check; ["NONE"] is kept so the engine disables it."""
    body = {} if healthcheck is None else {"Healthcheck": healthcheck}
    assert create(body, IMAGE).healthcheck == expected


def test_empty_healthcheck_without_image_check_is_none() -> None:
    """An all-zero Healthcheck with nothing to inherit means no check."""
    assert create({"Healthcheck": {"Test": []}}).healthcheck is None


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("Interval", "Interval in Healthcheck cannot be less than 1ms"),
        ("Timeout", "Timeout in Healthcheck cannot be less than 1ms"),
        ("StartPeriod", "StartPeriod in Healthcheck cannot be less than 1ms"),
        ("StartInterval", "StartInterval in Healthcheck cannot be less than 1ms"),
    ],
)
def test_health_durations_below_1ms_rejected(field: str, message: str) -> None:
    """Durations must be 0 or ≥ 1 ms, negatives included."""
    for value in (1, 999_999, -5):
        with pytest.raises(InvalidArgument) as info:
            create({"Healthcheck": {"Test": ["CMD", "x"], field: value}})
        assert str(info.value) == message
    create({"Healthcheck": {"Test": ["CMD", "x"], field: 1_000_000}})


def test_negative_retries_rejected() -> None:
    """Docker's message for a negative Retries."""
    with pytest.raises(InvalidArgument, match=r"^Retries in Healthcheck cannot be negative$"):
        create({"Healthcheck": {"Test": ["CMD", "x"], "Retries": -1}})


# --- HostConfig ----------------------------------------------------------------------


def test_full_host_config_is_read() -> None:
    """Every HostConfig field berth models lands in the spec."""
    spec = create(
        {
            "Hostname": "web-1",
            "Domainname": "example.org",
            "Tty": True,
            "OpenStdin": True,
            "StdinOnce": True,
            "AttachStdin": True,
            "StopTimeout": 3,
            "HostConfig": {
                "Memory": 64 * 2**20,
                "MemorySwap": -1,
                "MemoryReservation": 32 * 2**20,
                "CpuPeriod": 100000,
                "CpuQuota": 50000,
                "CpuShares": 512,
                "CpusetCpus": "0-1,3",
                "CpusetMems": "0",
                "PidsLimit": 100,
                "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
                "Init": True,
                "Privileged": True,
                "ReadonlyRootfs": True,
                "CapAdd": ["NET_ADMIN", "cap_sys_time"],
                "CapDrop": ["ALL"],
                "Binds": ["/tmp:/tmp:ro", "proj_data:/data:rw"],
                "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}], "53/udp": None},
                "PublishAllPorts": True,
                "Dns": ["1.1.1.1"],
                "DnsSearch": ["example.org"],
                "DnsOptions": ["ndots:2"],
                "ExtraHosts": ["db:10.0.0.2", "gw=host-gateway", "v6:::1"],
                "ShmSize": 2**20,
                "Tmpfs": {"/run": "rw,size=64k"},
                "Sysctls": {"net.core.somaxconn": "1024"},
                "ConsoleSize": [30, 100],
                "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
                "LogConfig": {"Type": "json-file", "Config": {"max-size": "10m"}},
                "NetworkMode": "proj_default",
            },
        }
    )
    assert spec.resources == Resources(
        memory=64 * 2**20, memory_swap=-1, memory_reservation=32 * 2**20, cpu_period=100000,
        cpu_quota=50000, cpu_shares=512, cpuset_cpus="0-1,3", cpuset_mems="0", pids_limit=100,
        ulimits=(Ulimit("nofile", 1024, 2048),),
    )  # fmt: skip
    assert spec.port_bindings == {
        "80/tcp": ({"HostIp": "", "HostPort": "8080"},),
        "53/udp": (),
    }
    assert (spec.hostname, spec.domainname, spec.stop_timeout) == ("web-1", "example.org", 3)
    assert spec.tty and spec.open_stdin and spec.stdin_once and spec.attach_stdin
    assert spec.init and spec.privileged and spec.readonly_rootfs and spec.publish_all_ports
    assert spec.cap_add == ("NET_ADMIN", "cap_sys_time") and spec.cap_drop == ("ALL",)
    assert spec.binds == ("/tmp:/tmp:ro", "proj_data:/data:rw")
    assert spec.extra_hosts == ("db:10.0.0.2", "gw=host-gateway", "v6:::1")
    assert spec.shm_size == 2**20 and spec.tmpfs == {"/run": "rw,size=64k"}
    assert spec.console_size == (30, 100)
    assert spec.restart_policy == RestartPolicy("on-failure", 3)
    assert spec.log_config == LogConfig("json-file", {"max-size": "10m"})
    assert spec.network_mode == "proj_default"


def test_nulls_are_zero_values() -> None:
    """null is Go's zero value everywhere Docker allows it."""
    keys = ["Hostname", "Env", "Cmd", "Labels", "ExposedPorts", "Volumes", "Healthcheck",
            "StopTimeout", "Tty", "WorkingDir"]  # fmt: skip
    host_keys = ["Memory", "PidsLimit", "Ulimits", "Binds", "PortBindings", "RestartPolicy",
                 "LogConfig", "Init", "Dns", "Tmpfs", "Sysctls", "ConsoleSize", "CapAdd",
                 "ShmSize", "NetworkMode", "Mounts"]  # fmt: skip
    body: dict[str, Any] = dict.fromkeys(keys)
    body["HostConfig"] = dict.fromkeys(host_keys)
    body["NetworkingConfig"] = None
    spec = create(body)
    assert spec == create({})


def test_pids_limit_zero_or_negative_is_unlimited() -> None:
    """PidsLimit 0 / -1 / null all mean unlimited (stored as 0)."""
    for value in (0, -1, None):
        assert create({"HostConfig": {"PidsLimit": value}}).resources.pids_limit == 0


def test_keys_match_case_insensitively_like_go() -> None:
    """Go's decoder falls back to a case-insensitive key match."""
    spec = create({"cmd": ["ls"], "hostconfig": {"memory": 7 * 2**20}})
    assert spec.cmd == ("ls",) and spec.resources.memory == 7 * 2**20


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"Name": "sometimes"}, "invalid restart policy: unknown policy 'sometimes'; use one of "
         "'no', 'always', 'on-failure', or 'unless-stopped'"),
        ({"Name": "always", "MaximumRetryCount": 2},
         "invalid restart policy: maximum retry count can only be used with 'on-failure'"),
        ({"Name": "no", "MaximumRetryCount": -2},
         "invalid restart policy: maximum retry count can only be used with 'on-failure' "
         "and cannot be negative"),
        ({"Name": "on-failure", "MaximumRetryCount": -1},
         "invalid restart policy: maximum retry count cannot be negative"),
    ],
)  # fmt: skip
def test_restart_policy_validation(policy: dict[str, Any], message: str) -> None:
    """moby's ValidateRestartPolicy messages, word for word."""
    with pytest.raises(InvalidArgument) as info:
        create({"HostConfig": {"RestartPolicy": policy}})
    assert str(info.value) == message


def test_legacy_empty_policy_name_is_no() -> None:
    """An empty Name (pre-25 clients) means no restart, whatever the count."""
    spec = create({"HostConfig": {"RestartPolicy": {"Name": "", "MaximumRetryCount": 4}}})
    assert spec.restart_policy == RestartPolicy("no", 0)


def test_auto_remove_with_restart_policy_rejected() -> None:
    """--rm with --restart is Docker's create error; with "no" it is fine."""
    body = {"HostConfig": {"AutoRemove": True, "RestartPolicy": {"Name": "unless-stopped"}}}
    with pytest.raises(
        InvalidArgument, match=r"^can't create 'AutoRemove' container with restart policy$"
    ):
        create(body)
    assert create({"HostConfig": {"AutoRemove": True, "RestartPolicy": {"Name": "no"}}}).auto_remove


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ({"Memory": 1024}, "Minimum memory limit allowed is 6MB"),
        ({"Memory": -1}, "Minimum memory limit allowed is 6MB"),
        ({"Memory": 10 * 2**20, "MemorySwap": 8 * 2**20},
         "Minimum memoryswap limit should be larger than memory limit, see usage"),
        ({"MemorySwap": 8 * 2**20},
         "You should always set the Memory limit when using Memoryswap limit, see usage"),
        ({"Memory": 10 * 2**20, "MemoryReservation": 20 * 2**20},
         "Minimum memory limit can not be less than memory reservation limit, see usage"),
        ({"NanoCpus": 10**9, "CpuQuota": 50000},
         "Conflicting options: Nano CPUs and CPU Quota cannot both be set"),
        ({"NanoCpus": 10**9, "CpuPeriod": 50000},
         "Conflicting options: Nano CPUs and CPU Period cannot both be set"),
        ({"CpuPeriod": 999},
         "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"),
        ({"CpuQuota": 999}, "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
        ({"CpusetCpus": "0-"}, "Invalid value 0- for cpuset cpus"),
        ({"CpusetMems": "a"}, "Invalid value a for cpuset mems"),
        ({"ShmSize": -1}, "SHM size can not be less than 0"),
        ({"Ulimits": [{"Name": "nofiles", "Soft": 1, "Hard": 1}]}, "invalid ulimit type: nofiles"),
        ({"Ulimits": [{"Name": "nofile", "Soft": 3, "Hard": 1}]},
         "ulimit soft limit must be less than or equal to hard limit: 3 > 1"),
        ({"CapAdd": ["NET_MAGIC"]}, 'invalid CapAdd: unknown capability: "CAP_NET_MAGIC"'),
        ({"CapDrop": ["cap_bogus"]}, 'invalid CapDrop: unknown capability: "CAP_BOGUS"'),
        ({"ExtraHosts": ["db"]}, "invalid IP address in add-host: ''"),
        ({"ExtraHosts": ["db:10.0.0.300"]}, "invalid IP address in add-host: '10.0.0.300'"),
        ({"ExtraHosts": [":10.0.0.3"]}, "bad format for add-host: ':10.0.0.3'"),
        ({"PortBindings": {"http/tcp": []}}, "invalid port specification: 'http/tcp'"),
        ({"PortBindings": {"80/tcp": [{"HostPort": "99999"}]}},
         "invalid port specification: '99999'"),
        ({"Binds": ["relative"]}, "invalid volume specification: 'relative': invalid mount config "
         "for type \"volume\": invalid mount path: 'relative' mount path must be absolute"),
        ({"Binds": ["/a:/"]}, "invalid volume specification: '/a:/': invalid mount config for type "
         "\"bind\": invalid specification: destination can't be '/'"),
        ({"Binds": ["/a:/x", "v1:/x"]}, "Duplicate mount point: /x"),
        ({"Mounts": [{"Type": "bind", "Target": "/b"}]},
         'invalid mount config for type "bind": field Source must not be empty'),
        ({"VolumesFrom": ["web:rshared"]}, "invalid mode: rshared"),
    ],
)  # fmt: skip
def test_host_config_validation(host: dict[str, Any], message: str) -> None:
    """Each invalid HostConfig value is a 400 with Docker's (or a clear) message."""
    with pytest.raises(InvalidArgument) as info:
        create({"HostConfig": host})
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Env": ["=x"]}, "invalid environment variable: =x"),
        ({"Env": [""]}, "invalid environment variable: "),
        ({"WorkingDir": "app"}, "the working directory 'app' is invalid, it needs to be an absolute path"),
        ({"StopSignal": "SIGNOPE"}, "Invalid signal: SIGNOPE"),
        ({"StopSignal": "0"}, "Invalid signal: 0"),
        ({"ExposedPorts": {"0/tcp": {}}}, "invalid port specification: '0/tcp'"),
        ({"ExposedPorts": {"80/icmp": {}}}, "invalid port specification: '80/icmp'"),
        ({"Hostname": "bad_host"}, "invalid hostname format: 'bad_host'"),
        ({"Hostname": "a" * 65}, "invalid hostname format"),
        ({"Hostname": "h", "HostConfig": {"NetworkMode": "container:abc"}},
         "conflicting options: hostname and the network mode"),
    ],
)  # fmt: skip
def test_config_validation(body: dict[str, Any], message: str) -> None:
    """Config values moby rejects are rejected here with its message."""
    with pytest.raises(InvalidArgument) as info:
        create(body)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("signal", ["SIGTERM", "term", "KILL", "9", "SIGRTMIN+3", "RTMAX-1"])
def test_valid_stop_signals(signal: str) -> None:
    """Names with or without SIG, any case, numbers and real-time signals."""
    assert create({"StopSignal": signal}).stop_signal == signal


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"HostConfig": {"Memory": "1g"}},
         "json: cannot unmarshal string into Go struct field HostConfig.Memory of type int64"),
        ({"HostConfig": {"Memory": 1.5}},
         "json: cannot unmarshal number 1.5 into Go struct field HostConfig.Memory of type int64"),
        ({"HostConfig": {"Memory": 2**63}},
         f"json: cannot unmarshal number {2**63} into Go struct field HostConfig.Memory of type int64"),
        ({"HostConfig": {"Privileged": 1}},
         "json: cannot unmarshal number into Go struct field HostConfig.Privileged of type bool"),
        ({"HostConfig": {"CpuShares": True}},
         "json: cannot unmarshal bool into Go struct field HostConfig.CpuShares of type int64"),
        ({"HostConfig": {"Binds": {"a": "b"}}},
         "json: cannot unmarshal object into Go struct field HostConfig.Binds of type []string"),
        ({"HostConfig": {"Dns": [1]}},
         "json: cannot unmarshal number into Go struct field HostConfig.Dns of type string"),
        ({"HostConfig": {"RestartPolicy": "always"}},
         "json: cannot unmarshal string into Go struct field HostConfig.RestartPolicy of type "
         "container.RestartPolicy"),
        ({"HostConfig": {"RestartPolicy": {"MaximumRetryCount": "3"}}},
         "json: cannot unmarshal string into Go struct field HostConfig.RestartPolicy.MaximumRetryCount"
         " of type int"),
        ({"HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": 8080}]}}},
         "json: cannot unmarshal number into Go struct field HostConfig.PortBindings.HostPort of type string"),
        ({"HostConfig": {"PortBindings": {"80/tcp": {"HostPort": "1"}}}},
         "json: cannot unmarshal object into Go struct field HostConfig.PortBindings of type "
         "[]nat.PortBinding"),
        ({"HostConfig": {"ConsoleSize": [-1, 5]}},
         "json: cannot unmarshal number -1 into Go struct field HostConfig.ConsoleSize of type uint"),
        ({"HostConfig": []},
         "json: cannot unmarshal array into Go struct field ContainerConfig.HostConfig of type "
         "container.HostConfig"),
        ({"Env": "A=1"},
         "json: cannot unmarshal string into Go struct field ContainerConfig.Env of type []string"),
        ({"Labels": ["a=b"]},
         "json: cannot unmarshal array into Go struct field ContainerConfig.Labels of type "
         "map[string]string"),
        ({"ExposedPorts": ["80/tcp"]},
         "json: cannot unmarshal array into Go struct field ContainerConfig.ExposedPorts of type "
         "map[string]struct {}"),
        ({"Cmd": 5},
         "json: cannot unmarshal number into Go struct field ContainerConfig.Cmd of type "
         "strslice.StrSlice"),
        ({"Healthcheck": {"Interval": "30s"}},
         "json: cannot unmarshal string into Go struct field Healthcheck.Interval of type int64"),
        ({"NetworkingConfig": {"EndpointsConfig": {"default": []}}},
         "json: cannot unmarshal array into Go struct field NetworkingConfig.EndpointsConfig of type "
         "network.EndpointSettings"),
    ],
)  # fmt: skip
def test_wrong_json_types_name_the_field(body: dict[str, Any], message: str) -> None:
    """A wrong JSON type is a 400 naming the field and Go type, never a Python exception."""
    with pytest.raises(InvalidArgument) as info:
        create(body)
    assert str(info.value) == message


def test_body_must_be_an_object() -> None:
    """A non-object body is refused as Go refuses to decode it."""
    with pytest.raises(InvalidArgument, match=r"into Go value of type container\.CreateRequest"):
        parse_create([], BARE, name=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["web", "/web", "proj_db_1", "a.b-c", "0x"])
def test_valid_names(name: str) -> None:
    """Docker's name rule; the leading slash is optional and stripped."""
    assert validate_container_name(name) == name.lstrip("/")
    create({}, name=name)


@pytest.mark.parametrize("name", ["a", "-web", "_x", "we b", "x/y", "//web", "ü-name"])
def test_invalid_names(name: str) -> None:
    """Anything else is Docker's "Invalid container name" 400."""
    with pytest.raises(InvalidArgument) as info:
        create({}, name=name)
    assert str(info.value) == (
        f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    )


def test_endpoints_map_default_to_bridge() -> None:
    """NetworkingConfig endpoint "default" is the bridge; aliases are kept."""
    body = {"NetworkingConfig": {"EndpointsConfig": {"default": {}, "proj": {"Aliases": ["db"]}}}}
    assert parse_endpoints(body) == {"bridge": (), "proj": ("db",)}


def test_warnings_for_ignored_settings() -> None:
    """Settings berth accepts but does not apply are reported, empty ones are not."""
    body = {"HostConfig": {"Links": ["a:b"], "VolumesFrom": [], "PidMode": "", "OomScoreAdj": 5}}
    assert create_warnings(body) == [
        "HostConfig.Links is not supported by berth and was ignored",
        "HostConfig.OomScoreAdj is not supported by berth and was ignored",
    ]


# --- update -----------------------------------------------------------------------------


def test_parse_update_keeps_only_changes() -> None:
    """moby applies only non-zero resource fields, PidsLimit when present, a named policy."""
    update = parse_update(
        {"Memory": 64 * 2**20, "CpuShares": 0, "CpusetCpus": "", "PidsLimit": 50,
         "RestartPolicy": {"Name": "always"}}
    )  # fmt: skip
    assert update == ContainerUpdate(
        resources={"memory": 64 * 2**20, "pids_limit": 50},
        restart_policy=RestartPolicy("always", 0),
    )
    assert parse_update({"RestartPolicy": {"Name": ""}}).empty
    with pytest.raises(InvalidArgument, match="of type int64"):
        parse_update({"Memory": "64m"})


def test_apply_update() -> None:
    """Changes land in the spec; untouched fields stay."""
    spec = create({"HostConfig": {"CpuShares": 100}})
    new = apply_update(
        spec,
        parse_update(
            {"Memory": 64 * 2**20, "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}}
        ),
    )
    assert new.resources.memory == 64 * 2**20 and new.resources.cpu_shares == 100
    assert new.restart_policy == RestartPolicy("on-failure", 2)


@pytest.mark.parametrize(
    ("host", "body", "message"),
    [
        ({"AutoRemove": True}, {"RestartPolicy": {"Name": "always"}},
         "Restart policy cannot be updated because AutoRemove is enabled for the container"),
        ({"Memory": 10 * 2**20, "MemorySwap": 20 * 2**20}, {"Memory": 30 * 2**20},
         "Memory limit should be smaller than already set memoryswap limit, update the memoryswap "
         "at the same time"),
        ({"NanoCpus": 10**9}, {"CpuQuota": 5000},
         "Conflicting options: CPU Quota/Period cannot be updated as NanoCPUs has already been set"),
        ({"CpuQuota": 5000}, {"NanoCpus": 10**9},
         "Conflicting options: Nano CPUs cannot be updated as CPU Period/Quota has already been set"),
        ({}, {"Memory": 1000}, "Minimum memory limit allowed is 6MB"),
    ],
)  # fmt: skip
def test_update_conflicts(host: dict[str, Any], body: dict[str, Any], message: str) -> None:
    """moby's UpdateContainer conflict messages."""
    spec = create({"HostConfig": host})
    with pytest.raises(InvalidArgument) as info:
        apply_update(spec, parse_update(body))
    assert str(info.value) == message


# --- fuzz: any JSON is either a spec or an InvalidArgument --------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=12,
)  # fmt: skip
_KEYS = ["Cmd", "Entrypoint", "Env", "Labels", "ExposedPorts", "Volumes", "Healthcheck",
         "StopTimeout", "StopSignal", "WorkingDir", "Hostname", "Tty", "Shell", "Image"]  # fmt: skip
_HOST_KEYS = ["Memory", "MemorySwap", "NanoCpus", "CpuQuota", "PidsLimit", "Ulimits", "Binds",
              "PortBindings", "RestartPolicy", "LogConfig", "Init", "Dns", "ExtraHosts", "Tmpfs",
              "Sysctls", "ConsoleSize", "CapAdd", "ShmSize", "NetworkMode", "AutoRemove",
              "CpusetCpus", "Mounts"]  # fmt: skip


@settings(max_examples=400)
@given(
    st.dictionaries(st.sampled_from(_KEYS), _json, max_size=4),
    st.dictionaries(st.sampled_from(_HOST_KEYS), _json, max_size=4),
    st.none() | st.text(max_size=6),
)
def test_arbitrary_bodies_never_crash(
    top: dict[str, Any], host: dict[str, Any], name: str | None
) -> None:
    """Whatever JSON arrives, parse_create returns a spec or raises InvalidArgument."""
    body = {**top, "HostConfig": host}
    try:
        spec = parse_create(body, IMAGE, name=name)
    except InvalidArgument:
        return
    assert isinstance(spec, ContainerSpec)
    try:
        parse_update(host)
    except InvalidArgument:
        pass
