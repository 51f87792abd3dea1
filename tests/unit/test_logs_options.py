"""Log options: Docker's json-file validation and messages, berth's rotation defaults."""

from __future__ import annotations

import pytest

from supervisor.errors import InvalidArgument
from supervisor.logs.options import (
    DEFAULT_MAX_BUFFER,
    JsonFileOptions,
    effective_options,
    extra_attributes,
    from_human_size,
    parse_daemon_log_opts,
    parse_json_file_options,
    validate_log_opts,
)


@pytest.mark.parametrize(
    ("text", "size"),
    [("10", 10), ("10k", 10_000), ("10m", 10_000_000), ("10MB", 10_000_000), ("10mi", 10_000_000),
     ("1.5g", 1_500_000_000), ("20 m", 20_000_000), ("3b", 3)],
)
def test_human_size_is_decimal(text: str, size: int) -> None:
    """go-units FromHumanSize: k/m/g are powers of 1000, the i and b are ignored."""
    assert from_human_size(text) == size


@pytest.mark.parametrize("text", ["", "m", "-1k", "ten", "1.2.3m", "5x"])
def test_human_size_invalid(text: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid size"):
        from_human_size(text)


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ({"max-size": "0"}, "max-size must be a positive number"),
        ({"max-file": "0"}, "max-file cannot be less than 1"),
        ({"max-file": "x"}, 'strconv.Atoi: parsing "x": invalid syntax'),
        ({"compress": "maybe"}, 'strconv.ParseBool: parsing "maybe": invalid syntax'),
        ({"compress": "true", "max-file": "1", "max-size": "1m"},
         "compress cannot be true when max-file is less than 2 or max-size is not set"),
        ({"compress": "true", "max-file": "3"},
         "compress cannot be true when max-file is less than 2 or max-size is not set"),
        ({"color": "red"}, "unknown log opt 'color' for json-file log driver"),
        ({"mode": "lossy"}, "logger: logging mode not supported: lossy"),
    ],
)
def test_validation_messages(opts: dict[str, str], message: str) -> None:
    """Docker's exact words for each bad option."""
    with pytest.raises(InvalidArgument) as info:
        validate_log_opts("json-file", opts)
    assert info.value.message == message


def test_parsed_options() -> None:
    assert parse_json_file_options({"max-size": "1k", "max-file": "3", "compress": "1"}) == JsonFileOptions(
        1000, 3, True, DEFAULT_MAX_BUFFER
    )
    assert parse_json_file_options({}) == JsonFileOptions(-1, 1, False, DEFAULT_MAX_BUFFER)
    assert parse_json_file_options({"max-size": "-1"}).max_size == -1


def test_defaults_rotate() -> None:
    """Rotation is on unless the container or the daemon says otherwise; the container wins."""
    assert effective_options({}, {}) == {"max-size": "20m", "max-file": "5"}
    assert effective_options({"max-file": "2"}, {"max-size": "1m", "max-file": "9"}) == {
        "max-size": "1m", "max-file": "2"
    }
    assert effective_options({}, {}, "none") == {}


def test_driver_none_and_unknown() -> None:
    with pytest.raises(InvalidArgument, match="unknown log opt 'max-size' for none log driver"):
        effective_options({"max-size": "1m"}, {}, "none")
    with pytest.raises(InvalidArgument, match="no log driver named 'syslog'"):
        validate_log_opts("syslog", {})


def test_daemon_log_opts() -> None:
    assert parse_daemon_log_opts(["max-size=5m", "compress=true"]) == {"max-size": "5m", "compress": "true"}
    with pytest.raises(InvalidArgument, match="key=value"):
        parse_daemon_log_opts(["max-size"])
    with pytest.raises(InvalidArgument, match="unknown log opt"):
        parse_daemon_log_opts(["bogus=1"])


def test_extra_attributes() -> None:
    """labels, env (and their regex forms) and tag become attrs."""
    attrs = extra_attributes(
        {"labels": "app,missing", "env": "A", "env-regex": "^B", "tag": "{{.Name}}/{{.ID}}"},
        container_id="0123456789abcdef" * 4,
        name="/web",
        image="busybox",
        image_id="sha256:" + "f" * 64,
        labels={"app": "shop", "other": "x"},
        env=["A=1", "BX=2", "C=3"],
    )
    assert attrs == {"app": "shop", "A": "1", "BX": "2", "tag": "web/0123456789ab"}
    with pytest.raises(InvalidArgument, match="labels-regex"):
        extra_attributes({"labels-regex": "("}, container_id="x", name="x", image="", image_id="", labels={}, env=[])
