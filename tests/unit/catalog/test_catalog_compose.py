"""docker-compose v1 / v2 and rancher-compose.yml into the stack spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corral.catalog.answers import resolve_answers
from corral.catalog.compose import values as cv
from corral.catalog.errors import RenderError
from corral.catalog.loader import load_catalog
from corral.catalog.render import render
from corral.catalog.spec import Affinity, Link, Mount, Port, Stack

CONFIG = "name: t\nversion: '1'\n"


def render_files(make_catalog, compose: str, rancher: str = ".catalog:\n  version: '1'\n",
                 *, tpl: bool = False, sets: dict | None = None, name: str = "st") -> Stack:
    root = make_catalog({
        "templates/t/config.yml": CONFIG,
        f"templates/t/0/docker-compose.yml{'.tpl' if tpl else ''}": compose,
        "templates/t/0/rancher-compose.yml": rancher,
    })
    version = load_catalog(root).entries[0].versions[0]
    answers = resolve_answers(version.info.questions, sets=sets or {})
    return render(version, answers, stack_name=name)


def render_error(make_catalog, compose: str, rancher: str = ".catalog:\n  version: '1'\n",
                 **kwargs) -> RenderError:
    with pytest.raises(RenderError) as info:
        render_files(make_catalog, compose, rancher, **kwargs)
    return info.value


V1 = """\
web:
  image: corral-lab/web:1
  command: sh -c 'echo "hi there"'
  environment:
    - A=1
    - B
  ports:
    - "8080:80"
    - 127.0.0.1::53/udp
  expose: ["9000-9001"]
  volumes:
    - data:/data:ro
    - /srv:/srv
    - /scratch
  volumes_from: [store]
  links: [store:db]
  external_links: [other/svc:ext]
  net: bridge
  restart: always
  tty: true
  stdin_open: true
  user: "1000"
  working_dir: /w
  hostname: h
  cap_add: [NET_ADMIN]
  privileged: true
  log_driver: json-file
  log_opt:
    max-size: 10m
  ulimits:
    nofile: {soft: 10, hard: 20}
    nproc: 5
  mem_limit: 64m
  labels:
    io.rancher.sidekicks: store
    io.rancher.scheduler.affinity:host_label: role=media,zone=a
    io.rancher.scheduler.affinity:container_label_soft_ne: app=$${stack_name}-$${service_name}
    io.rancher.scheduler.affinity:container_ne: db1
    io.rancher.container.pull_image: always
store:
  image: corral-lab/busybox:1
  command: [sh, -c, "sleep 1"]
"""

RANCHER_V1 = """\
.catalog:
  version: "1"
web:
  scale: 3
  retain_ip: true
  start_on_create: false
  metadata:
    a: {b: 1}
  health_check:
    port: 80
    request_line: GET "/health" "HTTP/1.0"
    interval: 1000
    strategy: recreateOnQuorum
    recreate_on_quorum_strategy_config:
      quorum: 2
  upgrade_strategy:
    start_first: true
    batch_size: 2
    interval_millis: 500
"""


def test_v1_every_key(make_catalog) -> None:
    stack = render_files(make_catalog, V1, RANCHER_V1)
    web = stack.service("web")
    assert web.command == ("sh", "-c", 'echo "hi there"')
    assert web.environment == {"A": "1", "B": None}
    assert web.ports == (Port(80, "tcp", 8080, None, True), Port(53, "udp", None, "127.0.0.1",
                                                                 True))
    assert [p.container_port for p in web.expose] == [9000, 9001]
    assert web.volumes == (Mount("named", "data", "/data", "ro"), Mount("bind", "/srv", "/srv"),
                           Mount("anonymous", None, "/scratch"))
    assert web.links == (Link("store", "db"),) and web.external_links == (Link("other/svc", "ext"),)
    assert (web.network_mode, web.restart, web.tty, web.stdin_open, web.user) == \
        ("bridge", "always", True, True, "1000")
    assert (web.working_dir, web.hostname, web.cap_add, web.privileged) == \
        ("/w", "h", ("NET_ADMIN",), True)
    assert web.logging.driver == "json-file" and web.logging.options == {"max-size": "10m"}
    assert [(u.name, u.soft, u.hard) for u in web.ulimits] == [("nofile", 10, 20),
                                                                ("nproc", 5, 5)]
    assert web.extra == {"mem_limit": "64m"}
    assert (web.scale, web.retain_ip, web.start_on_create, web.metadata) == \
        (3, True, False, {"a": {"b": 1}})
    check = web.health_check
    assert (check.port, check.path, check.interval, check.strategy, check.quorum) == \
        (80, "/health", 1000, "recreateOnQuorum", 2)
    assert (check.response_timeout, check.healthy_threshold) == (2000, 2)
    assert web.upgrade_strategy.start_first and web.upgrade_strategy.batch_size == 2
    assert web.pull_image == "always"
    assert web.scheduling.rules == (  # in label-key order, items in written order
        Affinity("container_label", "app", "st-web", negated=True, soft=True),
        Affinity("container", None, "db1", negated=True),
        Affinity("host_label", "role", "media"), Affinity("host_label", "zone", "a"),
    )
    store = stack.service("store")
    assert web.sidekicks == ("store",) and store.sidekick_of == "web"
    assert store.scale == 3 and store.scheduling == web.scheduling
    assert [v.name for v in stack.volumes] == ["data"] and not stack.volumes[0].declared
    json.dumps(stack.to_dict())


V2 = """\
version: '2'
services:
  app:
    image: corral-lab/worker:1
    network_mode: host
    depends_on: [db]
    logging:
      driver: syslog
    healthcheck:
      test: ["CMD", "true"]
      interval: 1m30s
      retries: 3
    labels:
      - io.rancher.scheduler.global=true
    volumes: [shared:/s]
  db:
    image: corral-lab/busybox:1
    networks:
      back:
        aliases: [database]
volumes:
  shared:
    driver: local
    driver_opts: {type: tmpfs}
  old:
    external: {name: legacy}
networks:
  back:
    driver: bridge
"""


def test_v2_services_volumes_networks(make_catalog) -> None:
    stack = render_files(make_catalog, V2)
    app = stack.service("app")
    assert (app.network_mode, app.depends_on, app.logging.driver) == ("host", ("db",), "syslog")
    assert app.healthcheck.test == ("CMD", "true") and app.healthcheck.interval == 90.0
    assert app.scheduling.is_global
    assert stack.service("db").networks[0].aliases == ("database",)
    volumes = {v.name: v for v in stack.volumes}
    assert volumes["shared"].driver_opts == {"type": "tmpfs"}
    assert volumes["old"].external and volumes["old"].external_name == "legacy"
    assert [n.name for n in stack.networks] == ["back"]
    assert [s.name for s in stack.services] == ["app", "db"]


def test_unknown_keys_warn_with_file_and_line(make_catalog) -> None:
    stack = render_files(make_catalog, "web:\n  image: x\n  colour: red\n",
                         ".catalog:\n  version: '1'\nweb:\n  shape: round\n")
    found = {(Path(p.file).name, p.line, p.severity) for p in stack.warnings}
    assert ("docker-compose.yml", 3, "warning") in found
    assert ("rancher-compose.yml", 4, "warning") in found
    assert stack.deployable


@pytest.mark.parametrize(("compose", "rancher", "needle", "file"), [
    ("w:\n  image: x\n  volume_driver: rancher-nfs\n  volumes: [d:/d]\n", "", "rancher-nfs",
     "docker-compose.yml"),
    ("version: '2'\nservices:\n  w:\n    image: x\nvolumes:\n  d:\n    driver: rancher-nfs\n",
     "", "rancher-nfs", "docker-compose.yml"),
    ("w:\n  image: x\n  labels:\n    io.rancher.container.create_agent: 'true'\n", "",
     "create_agent", "docker-compose.yml"),
    ("w:\n  image: x\n  build: .\n", "", "build", "docker-compose.yml"),
])
def test_rancher_only_features_are_unsupported(make_catalog, compose, rancher, needle,
                                               file) -> None:
    stack = render_files(make_catalog, compose, ".catalog:\n  version: '1'\n" + rancher)
    unsupported = [p for p in stack.warnings if p.severity == "unsupported"]
    assert unsupported and needle in unsupported[0].message
    assert Path(unsupported[0].file).name == file and unsupported[0].line
    assert not stack.deployable


@pytest.mark.parametrize(("compose", "needle"), [
    ("w:\n  image: x\n  ports: ['99999:80']\n", "invalid port"),
    ("w:\n  image: x\n  links: [nobody]\n", "nobody is not a service"),
    ("w:\n  image: x\n  labels:\n    io.rancher.sidekicks: ghost\n", "sidekick ghost"),
    ("w:\n  command: x\n", "has no image"),
    ("version: '4'\nservices: {}\n", "version '4' is not supported"),
    ("w:\n  image: x\n  restart: sometimes\n", "unknown restart policy"),
    ("w:\n  image: x\n  volumes: ['a:b:c:d']\n", "invalid volume"),
    ("w:\n  image: x\n  command: \"sh -c 'unbalanced\"\n", "cannot split"),
    ("w: [1]\n", "must be a mapping"),
])
def test_compose_errors(make_catalog, compose: str, needle: str) -> None:
    error = render_error(make_catalog, compose)
    assert any(needle in p.message for p in error.problems), error.problems


def test_health_check_errors(make_catalog) -> None:
    error = render_error(make_catalog, "w:\n  image: x\n",
                         ".catalog:\n  version: '1'\nw:\n  health_check:\n    strategy: bad\n")
    assert "port is required" in error.problems[0].message
    assert error.problems[0].line == 4


def test_tpl_yaml_errors_point_into_the_template(make_catalog) -> None:
    compose = "w:\n{{- if true }}\n  image: x\n{{- end }}\n  bad: [unclosed\n"
    error = render_error(make_catalog, compose, tpl=True)
    assert error.problems[0].line == 5
    assert error.problems[0].file.endswith("docker-compose.yml.tpl")


def test_interpolated_values_are_converted(make_catalog) -> None:
    rancher = (".catalog:\n  version: '1'\n  questions:\n    - variable: S\n      type: int\n"
               "      default: 4\n    - variable: P\n      type: boolean\n      default: 'true'\n"
               "w:\n  scale: ${S}\n")
    stack = render_files(make_catalog, "w:\n  image: x\n  privileged: ${P}\n", rancher)
    assert stack.service("w").scale == 4 and stack.service("w").privileged


def test_value_parsers_directly() -> None:
    assert cv.port("[::1]:80:8080") == [Port(8080, "tcp", 80, "::1", True)]
    assert len(cv.port("9000-9002:8000-8002")) == 3
    with pytest.raises(ValueError):
        cv.port("1-2:1-3")
    with pytest.raises(ValueError):
        cv.port("80/sctp")
    assert cv.mount("./rel:/x:ro,z") == Mount("bind", "./rel", "/x", "ro", ("z",))
    assert cv.duration("1h2m3.5s") == 3723.5 and cv.duration("10") == 10.0
    assert cv.links({"a": "b", "c": None}) == (Link("a", "b"), Link("c", "c"))
    assert cv.key_values({"b": 1, "a": True}, none_value="") == {"a": "true", "b": "1"}


def test_sidekick_rules(make_catalog) -> None:
    compose = ("a:\n  image: x\n  labels:\n    io.rancher.sidekicks: b\n"
               "b:\n  image: x\n  labels:\n    io.rancher.sidekicks: c\nc:\n  image: x\n")
    error = render_error(make_catalog, compose)
    assert any("cannot have sidekicks of its own" in p.message for p in error.problems)


def test_global_service_scale_is_ignored_with_a_warning(make_catalog) -> None:
    stack = render_files(make_catalog, "g:\n  image: x\n  labels:\n"
                         "    io.rancher.scheduler.global: 'true'\n",
                         ".catalog:\n  version: '1'\ng:\n  scale: 3\n")
    assert any("global" in p.message for p in stack.warnings)


def test_rancher_compose_template_and_stack_name(make_catalog) -> None:
    root = make_catalog({
        "templates/t/config.yml": CONFIG,
        "templates/t/0/docker-compose.yml": "w:\n  image: x\n",
        "templates/t/0/rancher-compose.yml.tpl": (
            ".catalog:\n  version: '1'\n  questions:\n    - variable: N\n      type: int\n"
            "      default: 2\nw:\n  scale: {{ .Values.N }}\n"
            "  metadata:\n    stack: {{ .Stack.Name }}\n"),
    })
    version = load_catalog(root).entries[0].versions[0]
    assert [q.variable for q in version.info.questions] == ["N"]
    stack = render(version, resolve_answers(version.info.questions), stack_name="named")
    assert stack.service("w").scale == 2 and stack.service("w").metadata == {"stack": "named"}


def test_v1_only_keys_in_v2_warn(make_catalog) -> None:
    stack = render_files(make_catalog, "version: '2'\nservices:\n  w:\n    image: x\n"
                         "    net: host\n")
    assert any("not a version 2 key" in p.message and p.line == 5 for p in stack.warnings)


def test_control_characters_are_yaml_errors(make_catalog) -> None:
    error = render_error(make_catalog, "w:\n  image: \x1f\n")
    assert error.problems[0].line == 2 and "unacceptable character" in error.problems[0].message


@pytest.mark.parametrize("item", ["80", ":80", {"target": 80}])
def test_a_container_port_alone_is_published_on_a_port_the_engine_picks(item) -> None:
    # As `docker compose` and Rancher read it; `expose` is the unpublished form.
    assert cv.ports([item]) == (Port(80, "tcp", None, None, True),)
