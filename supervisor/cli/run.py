"""``berth create``, ``berth run`` and ``berth start -a``: create, attach, wait, start.

The attached sequence is docker's (docker-api.md §2 "run"): create with
AttachStdout/AttachStderr; open the hijacked attach stream; send
``wait?condition=next-exit`` (``removed`` with --rm) and read its headers
BEFORE start, so the exit cannot be missed; start; copy output until the
daemon half-closes; exit with the wait body's StatusCode. Signals received
meanwhile are forwarded with ``POST kill?signal=NAME`` (the signal proxy).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import click

from supervisor.cli.client import ApiError, Client
from supervisor.cli.hijack import StreamError, open_hijack, pump_input, pump_output
from supervisor.cli.runspec import CreateRequest, build_create
from supervisor.cli.state import CliState, CommandFailed, binary_stream, get_state
from supervisor.errors import InvalidArgument

_PROXIED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def _multi(*decls: str, **kw: Any) -> Callable[[Any], Any]:
    return click.option(*decls, multiple=True, **kw)


CREATE_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--name", help="Assign a name to the container"),
    _multi("-e", "--env", help="Set environment variables"),
    _multi("--env-file", help="Read in a file of environment variables"),
    click.option("-w", "--workdir", help="Working directory inside the container"),
    click.option("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])"),
    click.option("-h", "--hostname", help="Container host name"),
    _multi("-l", "--label", help="Set meta data on a container"),
    _multi("--label-file", help="Read in a line delimited file of labels"),
    click.option("-m", "--memory", help="Memory limit"),
    click.option("--memory-swap", help="Swap limit equal to memory plus swap: -1 for unlimited"),
    click.option("--memory-reservation", help="Memory soft limit"),
    click.option("--cpus", help="Number of CPUs"),
    click.option("-c", "--cpu-shares", type=int, help="CPU shares (relative weight)"),
    click.option("--cpu-period", type=int, help="Limit CPU CFS period"),
    click.option("--cpu-quota", type=int, help="Limit CPU CFS quota"),
    click.option("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)"),
    click.option("--cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)"),
    click.option("--pids-limit", type=int, help="Tune container pids limit (-1 for unlimited)"),
    click.option("--init", is_flag=True, help="Run an init inside the container"),
    click.option("--stop-signal", help="Signal to stop the container"),
    click.option("--stop-timeout", type=int, help="Timeout (in seconds) to stop a container"),
    click.option("--restart", help="Restart policy to apply when a container exits"),
    click.option("--rm", is_flag=True, help="Automatically remove the container when it exits"),
    click.option("--entrypoint", help="Overwrite the default ENTRYPOINT of the image"),
    click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY"),
    click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached"),
    _multi("--ulimit", help="Ulimit options"),
    _multi("--cap-add", help="Add Linux capabilities"),
    _multi("--cap-drop", help="Drop Linux capabilities"),
    click.option("--privileged", is_flag=True, help="Give extended privileges to this container"),
    click.option(
        "--read-only", is_flag=True, help="Mount the container's root filesystem as read only"
    ),
    _multi("--tmpfs", help="Mount a tmpfs directory"),
    _multi("--dns", help="Set custom DNS servers"),
    _multi("--add-host", help="Add a custom host-to-IP mapping (host:ip)"),
    click.option("--shm-size", help="Size of /dev/shm"),
    click.option("--network", "--net", "network", help="Connect a container to a network"),
    _multi("--network-alias", help="Add network-scoped alias for the container"),
    _multi("-p", "--publish", help="Publish a container's port(s) to the host"),
    _multi("--expose", help="Expose a port or a range of ports"),
    _multi("-v", "--volume", help="Bind mount a volume"),
    _multi("--mount", help="Attach a filesystem mount to the container"),
    _multi("--volumes-from", help="Mount volumes from the specified container(s)"),
    click.option("--log-driver", help="Logging driver for the container"),
    _multi("--log-opt", help="Log driver options"),
    _multi("--group-add", help="Add additional groups to join"),
    _multi("--security-opt", help="Security Options"),
    _multi("--sysctl", help="Sysctl options"),
    click.option("--pid", help="PID namespace to use"),
    click.option("--ipc", help="IPC mode to use"),
    click.option("--health-cmd", help="Command to run to check health"),
    click.option("--health-interval", help="Time between running the check (ms|s|m|h)"),
    click.option("--health-timeout", help="Maximum time to allow one check to run (ms|s|m|h)"),
    click.option("--health-start-period", help="Start period for the container to initialize"),
    click.option("--health-start-interval", help="Time between checks during the start period"),
    click.option(
        "--health-retries", type=int, help="Consecutive failures needed to report unhealthy"
    ),
    click.option(
        "--no-healthcheck", is_flag=True, help="Disable any container-specified HEALTHCHECK"
    ),
    click.argument("image"),
    click.argument("command", nargs=-1, type=click.UNPROCESSED),
]


def create_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(CREATE_OPTIONS):
        func = option(func)
    return func


def familiar_ref(image: str) -> str:
    """``busybox`` → ``busybox:latest`` (what docker prints in "Unable to find image")."""
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last or "@" in image else f"{image}:latest"


def _report(command: str, message: str) -> str:
    return f"berth: {message.rstrip('.')}.\nRun 'berth {command} --help' for more information"


def _request(
    opts: dict[str, Any], image: str, command: tuple[str, ...], state: CliState
) -> CreateRequest:
    files = {}
    for path in (*(opts.get("env_file") or ()), *(opts.get("label_file") or ())):
        try:
            with open(path, encoding="utf-8") as handle:
                files[path] = handle.read()
        except OSError as exc:
            msg = f"open {path}: {exc.strerror.lower() if exc.strerror else exc}"
            raise InvalidArgument(msg) from exc
    if opts.get("tty") and sys.stdout.isatty():
        size = shutil.get_terminal_size()
        opts = {**opts, "console_size": (size.lines, size.columns)}
    try:
        return build_create(opts, image, command, state.environ, files)
    except InvalidArgument as exc:
        raise click.UsageError(str(exc)) from exc


def create_container(state: CliState, request: CreateRequest, command: str) -> str:
    """POST /containers/create; print warnings; docker's 125 on daemon errors."""
    params = {"name": request.name} if request.name else None
    try:
        answer = state.client().json("POST", "/containers/create", params, json=request.body)
    except ApiError as exc:
        image = request.body["Image"]
        if exc.status_code == 404 and "no such image" in exc.message.lower():
            click.echo(f"Unable to find image '{familiar_ref(image)}' locally", err=True)
            message = f"{exc}\nberth does not pull from registries yet: load the image with 'berth import'"
            raise CommandFailed(_report(command, message), 125) from exc
        raise CommandFailed(_report(command, str(exc)), 125) from exc
    for warning in answer.get("Warnings") or []:
        click.echo(f"WARNING: {warning}", err=True)
    return str(answer["Id"])


def start_error_code(message: str) -> int:
    """docker's ``runStartContainerErr``: 127 not found, 126 not executable, else 125."""
    if any(
        s in message
        for s in (
            "executable file not found",
            "no such file or directory",
            "system cannot find the file specified",
        )
    ):
        return 127
    if "permission denied" in message or "is a directory" in message:
        return 126
    return 125


@contextlib.contextmanager
def signal_proxy(client: Client, container_id: str, enabled: bool) -> Iterator[None]:
    """Forward the CLI's signals to the container as ``POST kill?signal=NAME``."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    interrupts = [0]

    def forward(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name.removeprefix("SIG")
        if signum == signal.SIGINT:
            interrupts[0] += 1
            if interrupts[0] >= 3:  # the container ignores it: let the user out
                raise KeyboardInterrupt

        def send() -> None:
            with contextlib.suppress(Exception):
                client.request("POST", f"/containers/{container_id}/kill", {"signal": name})

        threading.Thread(target=send, daemon=True).start()

    previous = {}
    for name in _PROXIED:
        signum = getattr(signal, name)
        previous[signum] = signal.signal(signum, forward)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _raw_terminal(enabled: bool) -> Iterator[None]:
    if not enabled or not sys.stdin.isatty():
        yield
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _wait_status(body: bytes) -> int:
    for line in body.splitlines():
        if not line.strip():
            continue
        result = json.loads(line)
        error = (result.get("Error") or {}).get("Message")
        if error:
            click.echo(error, err=True)
        return int(result.get("StatusCode", 0))
    msg = "the daemon closed the wait request without an exit status"
    raise CommandFailed(msg, 125)


def attach_and_start(
    state: CliState,
    container_id: str,
    *,
    tty: bool,
    stdin: bool,
    auto_remove: bool,
    start: Callable[[], None],
) -> int:
    """Attach, arm the wait, start, stream, and return the container's exit code."""
    client = state.client()
    params = {"stream": "1", "stdout": "1", "stderr": "1"}
    if stdin:
        params["stdin"] = "1"
    conn = open_hijack(client, f"/containers/{container_id}/attach", params)
    condition = "removed" if auto_remove else "next-exit"
    try:
        with client.stream(
            "POST", f"/containers/{container_id}/wait", {"condition": condition}
        ) as waiting:
            start()
            if tty and sys.stdout.isatty():
                size = shutil.get_terminal_size()
                with contextlib.suppress(ApiError):
                    client.request(
                        "POST",
                        f"/containers/{container_id}/resize",
                        {"h": size.lines, "w": size.columns},
                    )
            if stdin:
                source = binary_stream("stdin")
                threading.Thread(target=pump_input, args=(conn, source), daemon=True).start()
            else:
                conn.close_write()
            out, err = binary_stream("stdout"), binary_stream("stderr")
            with signal_proxy(client, container_id, not tty), _raw_terminal(tty and stdin):
                try:
                    pump_output(conn, tty, out, err)
                except StreamError as exc:
                    raise CommandFailed(str(exc), 1) from exc
            return _wait_status(waiting.read())
    finally:
        conn.close()


def _start_or_fail(state: CliState, container_id: str) -> Callable[[], None]:
    def start() -> None:
        try:
            state.client().request("POST", f"/containers/{container_id}/start")
        except ApiError as exc:
            raise CommandFailed(_report("run", str(exc)), start_error_code(exc.message)) from exc

    return start


@click.command("create", context_settings={"allow_interspersed_args": False})
@create_options
@click.pass_context
def create_cmd(ctx: click.Context, /, image: str, command: tuple[str, ...], **opts: Any) -> None:
    """Create a new container."""
    state = get_state(ctx)
    opts["detach"] = True
    request = _request(opts, image, command, state)
    click.echo(create_container(state, request, "create"))


@click.command("run", context_settings={"allow_interspersed_args": False})
@click.option(
    "-d", "--detach", is_flag=True, help="Run container in background and print container ID"
)
@click.option(
    "--sig-proxy/--no-sig-proxy", default=True, help="Proxy received signals to the process"
)
@create_options
@click.pass_context
def run_cmd(ctx: click.Context, /, image: str, command: tuple[str, ...], **opts: Any) -> None:
    """Create and run a new container from an image."""
    state = get_state(ctx)
    request = _request(opts, image, command, state)
    container_id = create_container(state, request, "run")
    start = _start_or_fail(state, container_id)
    if opts["detach"]:
        start()
        click.echo(container_id)
        return
    code = attach_and_start(
        state,
        container_id,
        tty=bool(opts["tty"]),
        stdin=bool(opts["interactive"]),
        auto_remove=bool(opts["rm"]),
        start=start,
    )
    if code:
        msg = ""
        raise CommandFailed(msg, code)


def start_attached(state: CliState, name: str, interactive: bool) -> int:
    """``start -a``: inspect for Tty/OpenStdin/AutoRemove, then attach and start."""
    client = state.client()
    info = client.json("GET", f"/containers/{name}/json")
    config, host = info.get("Config") or {}, info.get("HostConfig") or {}
    container_id = str(info.get("Id") or name)

    def start() -> None:
        client.request("POST", f"/containers/{container_id}/start")

    return attach_and_start(
        state,
        container_id,
        tty=bool(config.get("Tty")),
        stdin=interactive and bool(config.get("OpenStdin")),
        auto_remove=bool(host.get("AutoRemove")),
        start=start,
    )
