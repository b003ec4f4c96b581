"""The compose corpus (`tests/corpus/compose/`): each file loads and renders to
the spec its `expect.yml` describes, and random compose documents never raise
anything but a CorralError.

`expect.yml` keys: `services` (service -> dotted path into `Service.to_dict()`
-> value), `absent` (services left out), `warnings` / `unsupported` (text each
problem of that severity must contain; `warnings` match `str(problem)`),
`error` (the render fails with this text), `profiles`, `set` (answers).
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.catalog.answers import resolve_answers
from corral.catalog.errors import CorralError, RenderError
from corral.catalog.loader import Version
from corral.catalog.render import render
from corral.catalog.spec import Stack

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "compose"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def standalone(folder: Path) -> Version:
    """A compose file as `corral plan FILE` reads it."""
    return Version(entry_id=folder.name, folder=folder, revision=folder.name,
                   compose_file=folder / "docker-compose.yml", standalone=True)


def render_case(folder: Path, expect: dict) -> Stack:
    answers = resolve_answers((), sets={str(k): str(v) for k, v in
                                        (expect.get("set") or {}).items()})
    return render(standalone(folder), answers, stack_name="corpus",
                  profiles=expect.get("profiles") or ())


def lookup(data: object, path: str) -> object:
    for part in path.split("."):
        if isinstance(data, list):
            data = data[int(part)]
        else:
            assert isinstance(data, dict) and part in data, f"no {part} in {data}"
            data = data[part]
    return data


def test_the_corpus_has_thirty_files() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES)
def test_corpus_file_renders_as_expected(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = CORPUS / case
    expect = yaml.safe_load((folder / "expect.yml").read_text()) or {}
    for name in ("TAG", "GREETING", "DEBUG", "EMPTY", "CORPUS_TOKEN", "UNSET_CORPUS_VAR",
                 "COMPOSE_PROFILES"):
        monkeypatch.delenv(name, raising=False)
    if "error" in expect:
        with pytest.raises(RenderError) as info:
            render_case(folder, expect)
        assert any(expect["error"] in line for line in info.value.diagnostics()), \
            info.value.diagnostics()
        return
    stack = render_case(folder, expect)
    services = {s.name: s.to_dict() for s in stack.services}
    for name, fields in (expect.get("services") or {}).items():
        assert name in services, f"{name} not in {sorted(services)}"
        for path, value in fields.items():
            assert lookup(services[name], path) == value, (name, path)
    for name in expect.get("absent") or ():
        assert name not in services
    shown = [str(p) for p in stack.warnings if p.severity == "warning"]
    for text in expect.get("warnings") or ():
        assert any(text in line for line in shown), (text, shown)
    unsupported = [p.message for p in stack.warnings if p.severity == "unsupported"]
    for text in expect.get("unsupported") or ():
        assert any(text in line for line in unsupported), (text, unsupported)
    if not expect.get("unsupported"):
        assert not unsupported
    # Every problem names its file and line: no silent drop, no unplaced warning.
    for problem in stack.warnings:
        assert problem.file and problem.line, problem


def test_a_file_without_version_is_not_read_as_version_1(tmp_path: Path) -> None:
    """Before: `services:` became a service called "services" with no image."""
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    image: x\n")
    stack = render(standalone(tmp_path), resolve_answers(()), stack_name="s")
    assert [s.name for s in stack.services] == ["web"]


def test_sysctls_as_a_list_reach_the_create_body(tmp_path: Path) -> None:
    """Before: a sysctls list crashed `corral plan` in the create body (dict of a list)."""
    from corral.backends.deploy.body import template

    (tmp_path / "docker-compose.yml").write_text(
        "version: '2'\nservices:\n  w:\n    image: x\n    sysctls: [a.b=1, c.d=2]\n")
    stack = render(standalone(tmp_path), resolve_answers(()), stack_name="s")
    assert template(stack, stack.service("w"))["HostConfig"]["Sysctls"] == {"a.b": "1",
                                                                           "c.d": "2"}


def test_spec_keys_reach_the_create_body() -> None:
    from corral.backends.deploy.body import instantiate, template

    expect = {}
    stack = render_case(CORPUS / "30-misc-keys", expect)
    service = stack.service("app")
    body = template(stack, service)
    host = body["HostConfig"]
    assert host["Init"] is True and body["StopTimeout"] == 90
    assert host["Tmpfs"] == {"/run": "", "/tmp": "size=64k"}
    assert host["CapAdd"] == ["NET_ADMIN"] and host["ExtraHosts"] == ["somehost:10.0.0.9"]
    assert {"Name": "nofile", "Soft": 1024, "Hard": 2048} in host["Ulimits"]
    _, created, _ = instantiate(stack, service, 1, {}, "h")
    aliases = created["NetworkingConfig"]["EndpointsConfig"]["corpus_default"]["Aliases"]
    assert aliases == ["app", "the-app"]
    resources = render_case(CORPUS / "26-deploy-resources", {})
    host = template(resources, resources.service("app"))["HostConfig"]
    assert host["NanoCpus"] == 250_000_000 and host["PidsLimit"] == 100
    assert host["Memory"] == 32 * 1024 ** 2


_KEYS = st.sampled_from([
    "image", "ports", "volumes", "depends_on", "sysctls", "deploy", "profiles", "extends",
    "env_file", "environment", "healthcheck", "secrets", "configs", "container_name",
    "ulimits", "tmpfs", "init", "stop_grace_period", "extra_hosts", "cap_add", "devices",
    "labels", "command", "scale", "build", "networks", "x-a", "target", "published",
    "source", "type", "condition", "replicas", "resources", "limits", "placement",
    "constraints", "service", "file", "mode", "required", "path", "cpus", "memory",
])
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 70000), st.floats(allow_nan=False, width=16),
    st.sampled_from(["", "x", "80", "80:80", "a=b", "/data", "./rel", "${X:-d}", "${X:?e}",
                     "$$", "${", "1m30s", "tmpfs", "bind", "volume", "service_healthy",
                     "node.labels.a==b", "web", "db", "missing.env", "0.5", "64m",
                     "udp", "8000-8001", "global"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)
# Valid values per key, so that many random services render and reach the planner.
_VALID = {
    "ports": [["80", "8080:80/udp", {"target": 81, "published": "9000"}]],
    "volumes": [["d:/d", {"type": "tmpfs", "target": "/t"}, {"type": "bind",
                                                             "source": "/s", "target": "/s"}]],
    "depends_on": [{"db": {"condition": "service_healthy"}}, ["db"]],
    "sysctls": [["a.b=1"], {"a.b": 1}],
    "deploy": [{"replicas": 2, "mode": "global",
                "resources": {"limits": {"cpus": "0.5", "memory": "64m"}},
                "placement": {"constraints": ["node.labels.a==b", "node.labels.c!=d"]}}],
    "profiles": [["a"]],
    "extends": ["db", {"service": "web"}],
    "healthcheck": [{"test": ["CMD", "true"], "interval": "1s", "retries": 2}],
    "ulimits": [{"nofile": {"soft": 1, "hard": 2}}],
    "tmpfs": [["/run"]], "init": [True], "stop_grace_period": ["10s"],
    "extra_hosts": [{"a": "1.2.3.4"}], "container_name": ["c"], "scale": [3],
    "env_file": [["missing.env"]], "secrets": [["s"]], "networks": [["n"]],
}
_SERVICE = st.builds(
    lambda wild, valid: {"image": "busybox", **wild, **valid},
    st.dictionaries(_KEYS, _VALUES, max_size=3),
    st.dictionaries(st.sampled_from(sorted(_VALID)),
                    st.integers(0, 1), max_size=5).map(
        lambda picks: {k: _VALID[k][i % len(_VALID[k])] for k, i in picks.items()}),
)
_DOCUMENT = st.fixed_dictionaries(
    {"services": st.dictionaries(st.sampled_from(["web", "db", "x"]), _SERVICE, max_size=3)},
    optional={"version": st.sampled_from(["2", "3.8", "1", 3]),
              "volumes": st.dictionaries(st.sampled_from(["d", "e"]), _VALUES, max_size=2),
              "networks": st.dictionaries(st.sampled_from(["n"]), _VALUES, max_size=1),
              "secrets": _VALUES, "configs": _VALUES, "name": _SCALARS},
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(document=_DOCUMENT | _VALUES, profiles=st.lists(st.sampled_from(["a", "*", ""]),
                                                       max_size=2))
def test_random_compose_documents_never_crash(document: object, profiles: list[str]) -> None:
    """Only CorralError: through render, the planner, and the create body of each service."""
    from corral.backends.deploy.body import config_hash, instantiate, template
    from corral.backends.plan.model import HostInfo
    from corral.backends.plan.planner import plan

    hosts = [HostInfo("h1", labels={"a": "b"}, cpus=2, memory=1 << 30),
             HostInfo("h2", cpus=2, memory=1 << 30)]

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        (path / "docker-compose.yml").write_text(yaml.safe_dump(document))
        (path / "missing.env").write_text("A=1\n")
        with contextlib.suppress(CorralError):
            stack = render(standalone(path), resolve_answers(()), stack_name="p",
                           profiles=profiles)
            for service in stack.services:
                instantiate(stack, service, 1, {}, "h")
                template(stack, service)
            plan(stack, hosts, {s.name: config_hash(stack, s) for s in stack.services})
