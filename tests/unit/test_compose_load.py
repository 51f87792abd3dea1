"""Loading compose files: YAML with lines, validation messages, merging, names."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from supervisor.compose.errors import ComposeError
from supervisor.compose.loader import parse_text, to_plain
from supervisor.compose.model import Condition, MountType, Port, RestartPolicy
from supervisor.compose.project import find_default_files, load_project, normalize_project_name


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None, **kw: object):
    write(tmp_path, "compose.yml", text)
    return load_project(environ=env or {}, cwd=tmp_path, **kw)  # type: ignore[arg-type]


def errors_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ComposeError) as info:
        load(tmp_path, text, env)
    return list(info.value.errors)


class TestYaml:
    def test_syntax_error_gives_the_line(self) -> None:
        """A YAML syntax error names the file and the line."""
        with pytest.raises(ComposeError, match=r"^c\.yml:4: invalid YAML: .*parsing a flow sequence started on line 3"):
            parse_text("services:\n  web:\n    image: [busybox\n", "c.yml")
        with pytest.raises(ComposeError, match=r"^c\.yml:3: invalid YAML: mapping values are not allowed here"):
            parse_text("services:\n  web:\n    image: a: b\n", "c.yml")

    def test_duplicate_key(self) -> None:
        """Duplicate keys are refused with both lines."""
        with pytest.raises(ComposeError, match=r"c\.yml:3: duplicate key 'image' \(first defined on line 2\)"):
            parse_text("web:\n  image: a\n  image: b\n", "c.yml")

    def test_merge_keys_and_anchors(self) -> None:
        """<< merges an anchored mapping; explicit keys win."""
        tree = parse_text("x-base: &b {image: a, user: u}\nweb:\n  <<: *b\n  image: c\n", "c.yml")
        assert to_plain(tree)["web"] == {"image": "c", "user": "u"}

    def test_lines_are_kept(self) -> None:
        """Every node remembers its line."""
        tree = parse_text("services:\n  web:\n    image: a\n", "c.yml")
        assert tree.get("services").get("web").get("image").mark.line == 3  # type: ignore[union-attr]

    @pytest.mark.parametrize("text", ["", "# nothing\n", "- a\n- b\n", "just text\n"])
    def test_not_a_mapping(self, text: str) -> None:
        """An empty file or a non-mapping top level is an error."""
        with pytest.raises(ComposeError, match=r"^c\.yml"):
            parse_text(text, "c.yml")


class TestValidation:
    def test_issue_example(self, tmp_path: Path) -> None:
        """The message of the issue, exactly, with file and line."""
        errors = errors_of(tmp_path, """
            services:
              web:
                image: busybox
              worker:
                image: busybox
                command: sleep 1
                restart: sometimes
            """)
        assert errors == [
            "compose.yml:7: services.worker.restart: 'sometimes' is not one of no, always, on-failure[:N], unless-stopped"
        ]

    def test_every_error_is_reported_in_line_order(self, tmp_path: Path) -> None:
        """All problems are listed, sorted by line, each naming service and key."""
        errors = errors_of(tmp_path, """
            services:
              web:
                image: busybox
                mem_limit: lots
                bogus: 1
                ports: ["99999:80"]
              db:
                build: .
                depends_on: [nothere]
            """)
        assert errors[0] == "compose.yml:4: services.web.mem_limit: 'lots' is not a size (e.g. 512m, 1g)"
        assert errors[1] == "compose.yml:5: services.web.bogus: unknown key (additional properties are not allowed)"
        assert errors[2].startswith("compose.yml:6: services.web.ports[0]: invalid host port '99999'")
        assert "compose.yml:8: services.db.build: is valid compose but not supported by berth" in errors
        assert any(e.startswith("compose.yml:8: services.db.image: is required") for e in errors)
        assert "compose.yml:9: services.db.depends_on: depends on undefined service 'nothere'" in errors

    def test_unknown_top_level_key(self, tmp_path: Path) -> None:
        """Unknown top-level keys are refused; x- and version are ignored."""
        errors = errors_of(tmp_path, """
            version: "3.8"
            x-anything: {whatever: 1}
            services:
              web: {image: busybox, x-note: hi}
            secrets: {}
            volumez: {}
            """)
        assert errors == [
            "compose.yml:5: secrets: is valid compose but not supported by berth",
            "compose.yml:6: volumez: unknown top-level key (additional properties are not allowed)",
        ]

    def test_cycle(self, tmp_path: Path) -> None:
        """A depends_on cycle is an error that shows the cycle."""
        errors = errors_of(tmp_path, """
            services:
              a: {image: busybox, depends_on: [b]}
              b: {image: busybox, depends_on: [a]}
            """)
        assert any("dependency cycle: a -> b -> a" in e for e in errors)

    def test_undeclared_volume_and_network(self, tmp_path: Path) -> None:
        """Named volumes and networks must be declared at the top level."""
        errors = errors_of(tmp_path, """
            services:
              web:
                image: busybox
                volumes: ["data:/data"]
                networks: [front]
            """)
        assert errors == [
            "compose.yml:4: services.web.volumes[0]: named volume 'data' is not declared in the top-level volumes section",
            "compose.yml:5: services.web.networks.front: network 'front' is not declared in the top-level networks section",
        ]

    def test_bad_condition_and_bool_env(self, tmp_path: Path) -> None:
        """depends_on conditions and environment values are checked."""
        errors = errors_of(tmp_path, """
            services:
              a: {image: busybox}
              b:
                image: busybox
                environment: {DEBUG: true}
                depends_on:
                  a: {condition: service_ready}
            """)
        assert errors == [
            "compose.yml:5: services.b.environment.DEBUG: must be a string or a number, got a boolean True (quote it)",
            "compose.yml:7: services.b.depends_on.a.condition: 'service_ready' is not one of service_started, service_healthy, service_completed_successfully",
        ]

    def test_interpolation_error_names_the_key(self, tmp_path: Path) -> None:
        """A missing required variable names file, line and key."""
        errors = errors_of(tmp_path, """
            services:
              web:
                image: "busybox:${TAG:?set TAG}"
            """)
        assert errors == ["compose.yml:3: services.web.image: required variable TAG is missing a value: set TAG"]


class TestModel:
    def test_full_service(self, tmp_path: Path) -> None:
        """Every supported key lands in the model, resolved."""
        write(tmp_path, "web.env", "FROM_FILE=1\nOVERRIDDEN=file\n")
        write(tmp_path, ".env", "TAG=1.36\nPORT=9090\n")
        project = load(tmp_path, """
            name: my_app
            services:
              db:
                image: busybox
                healthcheck:
                  test: ["CMD", "true"]
                  interval: 1m30s
                  timeout: 500ms
                  retries: 3
              web:
                image: busybox:${TAG}
                command: httpd -f -p "80"
                entrypoint: ["/bin/sh", "-c"]
                environment:
                  - OVERRIDDEN=env
                  - FROM_SHELL
                  - NOT_IN_SHELL
                env_file: web.env
                restart: on-failure:5
                stop_signal: sigint
                stop_grace_period: 1m
                depends_on:
                  db: {condition: service_healthy}
                ports: ["${PORT}:80", "127.0.0.1::53/udp", {target: 443, published: "8443"}]
                expose: ["9000"]
                volumes: ["data:/data:ro", "./html:/www", "/anon"]
                mem_limit: 512m
                cpus: "0.5"
                pids_limit: 100
                logging: {driver: json-file, options: {max-size: 10m, max-file: 3}}
                labels: {a: b}
                init: true
                user: "1000"
                working_dir: /www
                hostname: web
            volumes:
              data:
            """, env={"FROM_SHELL": "shell"})
        assert project.name == "my_app"
        web = project.service("web")
        assert web.image == "busybox:1.36"
        assert web.command == ("httpd", "-f", "-p", "80")
        assert dict(web.environment) == {"FROM_FILE": "1", "OVERRIDDEN": "env", "FROM_SHELL": "shell"}
        assert web.restart == RestartPolicy("on-failure", 5)
        assert web.stop_signal == "SIGINT"
        assert web.stop_grace_period == 60
        assert web.depends_on[0].condition is Condition.HEALTHY
        assert web.ports == (
            Port(80, "9090"), Port(53, "", "127.0.0.1", "udp"), Port(443, "8443"), Port(9000, publish=False),
        )
        assert [(m.type, m.source, m.target, m.read_only) for m in web.volumes] == [
            (MountType.VOLUME, "data", "/data", True),
            (MountType.BIND, str(tmp_path / "html"), "/www", False),
            (MountType.VOLUME, "", "/anon", False),
        ]
        assert web.resources.memory == 512 * 1024**2 and web.resources.cpus == 0.5 and web.resources.pids == 100
        assert dict(web.logging.options) == {"max-size": "10m", "max-file": "3"}
        assert web.init is True and web.user == "1000"
        db = project.service("db").healthcheck
        assert db is not None and db.interval == 90 and db.timeout == 0.5 and db.retries == 3
        assert [n.name for n in project.networks] == ["my_app_default"]
        assert [v.name for v in project.volumes] == ["my_app_data"]

    def test_deploy_limits(self, tmp_path: Path) -> None:
        """deploy.resources.limits and restart_policy map onto the service."""
        project = load(tmp_path, """
            services:
              w:
                image: busybox
                deploy:
                  replicas: 2
                  resources: {limits: {cpus: "1.5", memory: 1g, pids: 50}}
                  restart_policy: {condition: on-failure, max_attempts: 4}
            """)
        w = project.service("w")
        assert (w.replicas, w.resources.cpus, w.resources.memory, w.resources.pids) == (2, 1.5, 1024**3, 50)
        assert w.restart == RestartPolicy("on-failure", 4)

    def test_restart_no_unquoted(self, tmp_path: Path) -> None:
        """YAML 1.1 reads `restart: no` as false: it still means no."""
        project = load(tmp_path, "services:\n  w: {image: busybox, restart: no}\n")
        assert project.service("w").restart == RestartPolicy("no")


class TestMerge:
    def test_override_file(self, tmp_path: Path) -> None:
        """Later -f files override scalars, merge maps, append ports, merge volumes by target."""
        write(tmp_path, "a.yml", """
            services:
              web:
                image: busybox
                command: ["a"]
                environment: [A=1, B=2]
                ports: ["80:80"]
                volumes: ["/x:/data", "/y:/keep"]
                labels: {l1: a}
            """)
        write(tmp_path, "b.yml", """
            services:
              web:
                command: b
                environment: {B: "3", C: "4"}
                ports: ["443:443"]
                volumes: ["/z:/data"]
                labels: [l2=b]
              extra: {image: busybox}
            """)
        project = load_project(["a.yml", "b.yml"], environ={}, cwd=tmp_path)
        web = project.service("web")
        assert web.command == ("b",)
        assert dict(web.environment) == {"A": "1", "B": "3", "C": "4"}
        assert [p.target for p in web.ports] == [80, 443]
        assert sorted((m.source, m.target) for m in web.volumes) == [("/y", "/keep"), ("/z", "/data")]
        assert dict(web.labels) == {"l1": "a", "l2": "b"}
        assert project.service_names() == ("web", "extra")
        assert project.config_files == (str(tmp_path / "a.yml"), str(tmp_path / "b.yml"))

    def test_error_in_override_names_that_file(self, tmp_path: Path) -> None:
        """After merging, an error still names the file and line it came from."""
        write(tmp_path, "a.yml", "services:\n  web: {image: busybox}\n")
        write(tmp_path, "b.yml", "services:\n  web:\n    restart: sometimes\n")
        with pytest.raises(ComposeError, match=r"^b\.yml:3: services\.web\.restart"):
            load_project(["a.yml", "b.yml"], environ={}, cwd=tmp_path)


class TestNames:
    @pytest.mark.parametrize(("raw", "name"), [("My App", "myapp"), ("_x.y-Z", "xy-z"), ("demo", "demo")])
    def test_normalise(self, raw: str, name: str) -> None:
        """Directory names are normalised like compose does."""
        assert normalize_project_name(raw) == name

    def test_precedence(self, tmp_path: Path) -> None:
        """-p beats COMPOSE_PROJECT_NAME beats name: beats the directory."""
        write(tmp_path, "compose.yaml", "name: fromfile\nservices:\n  w: {image: busybox}\n")
        assert load_project(environ={}, cwd=tmp_path).name == "fromfile"
        assert load_project(environ={"COMPOSE_PROJECT_NAME": "env"}, cwd=tmp_path).name == "env"
        assert load_project(environ={"COMPOSE_PROJECT_NAME": "env"}, cwd=tmp_path, project_name="flag").name == "flag"
        with pytest.raises(ComposeError, match="invalid project name 'Bad Name'"):
            load_project(environ={}, cwd=tmp_path, project_name="Bad Name")

    def test_default_files(self, tmp_path: Path) -> None:
        """compose.yaml is preferred, found from a subdirectory, with its override."""
        write(tmp_path, "docker-compose.yml", "services: {}\n")
        write(tmp_path, "compose.yaml", "services: {}\n")
        write(tmp_path, "compose.override.yaml", "services: {}\n")
        sub = tmp_path / "sub"
        sub.mkdir()
        assert find_default_files(sub) == [tmp_path / "compose.yaml", tmp_path / "compose.override.yaml"]
        with pytest.raises(ComposeError, match="no configuration file provided"):
            find_default_files(Path("/proc/self"))
