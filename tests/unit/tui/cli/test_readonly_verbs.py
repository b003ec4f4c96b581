"""Read-only holds for every `corral` verb, whichever source asked for it.

The verbs are found by walking the real parser, so a verb added later is
covered at once: it must be listed below as mutating (with arguments that
parse) or as reading only, and a mutating one must be refused under
`--readonly`, `CORRAL_READONLY=1` and `readonly: true` in the configuration
file, in one line, before any host is contacted or file written.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest

from corral.backends import guard
from corral.tui.cli.main import build_parser, parse_command_line
from tests.support.deploy import corral_here
from tests.support.no_host import unreachable_inventory

#: Each mutating verb with arguments it would otherwise run with.
MUTATING = {
    ("deploy",): ["deploy", "web", "--stack", "s", "--yes"],
    ("upgrade",): ["upgrade", "web", "--stack", "s", "--yes"],
    ("scale",): ["scale", "s/web=3", "--yes"],
    ("confirm",): ["confirm", "s", "--yes"],
    ("rollback",): ["rollback", "s", "--yes"],
    ("reconcile",): ["reconcile", "--yes"],
    ("rm",): ["rm", "s", "--volumes", "--yes"],
    ("hosts", "rm"): ["hosts", "rm", "lab1", "--yes"],
    ("hosts", "add"): ["hosts", "add", "lab2", "root@10.0.0.2"],
    ("hosts", "provision"): ["hosts", "provision", "lab1", "--yes"],
    ("exec",): ["exec", "lab1/web-1", "--", "touch", "/tmp/x"],
    ("shell",): ["shell", "lab1/web-1"],
    ("lease", "break"): ["lease", "break", "s", "--yes"],
    ("volumes", "export"): ["volumes", "export", "lab1/data", "-o", "data.tar"],
    ("volumes", "import"): ["volumes", "import", "data.tar", "lab1/data", "--yes"],
    ("volumes", "copy"): ["volumes", "copy", "lab1/data", "lab2", "--yes"],
    ("images", "push"): ["images", "push", "team/app:1", "--to", "lab1"],
    ("images", "pull"): ["images", "pull", "team/app:1", "--all"],
    ("images", "prune"): ["images", "prune", "--host", "lab1", "--yes"],
    ("swarm", "init"): ["swarm", "init", "--hosts", "lab1,lab2", "--yes"],
    ("swarm", "join"): ["swarm", "join", "lab2", "--manager", "--yes"],
    ("swarm", "leave"): ["swarm", "leave", "lab1", "--force", "--yes"],
    ("swarm", "node", "drain"): ["swarm", "node", "drain", "lab2", "--yes"],
    ("swarm", "node", "active"): ["swarm", "node", "active", "lab2", "--yes"],
}
#: Verbs that only read: read-only leaves them alone.
READING = {("hosts",), ("ps",), ("logs",), ("plan",), ("stacks",), ("catalog", "list"),
           ("catalog", "show"), ("catalog", "render"), ("catalog", "lint"), ("audit",),
           ("lease",), ("diag",), ("images", "ls"), ("bundle", "create"), ("bundle", "verify"),
           ("swarm", "status"), ("hosts", "doctor"), ("hosts", "disconnect")}

INVENTORY = "hosts:\n  - name: lab1\n    ssh: root@127.0.0.1:9\n"


def verbs(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
          ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every runnable (sub)command of `parser`, by its words."""
    if path and parser.get_default("func") is not None:
        yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) not in seen:  # an alias names the same parser
                    seen.add(id(sub))
                    yield from verbs(sub, (*path, name))


def test_every_verb_is_classified_and_marked() -> None:
    found = dict(verbs(build_parser()))
    unclassified = set(found) - set(MUTATING) - READING
    assert not unclassified, (f"classify {sorted(unclassified)}: mutating (mark it with"
                              " support.destructive or support.mutates) or reading only")
    assert set(MUTATING) | READING == set(found)  # no stale entry either
    for path, parser in found.items():
        marked = getattr(parser.get_default("func"), "mutates", None)
        assert bool(marked) == (path in MUTATING), f"{' '.join(path)}: mutates={marked}"


@pytest.fixture
def no_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An inventory file nothing may touch: no SSH, no engine, no write."""
    return unreachable_inventory(monkeypatch, tmp_path, INVENTORY,
                                 "a refused verb started contacting hosts")


def read_only_by(source: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], str]:
    """Global options and the reason a refusal names, for each source."""
    if source == "flag":
        return ["--readonly"], "--readonly"
    if source == "env":
        monkeypatch.setenv("CORRAL_READONLY", "1")
        return [], "CORRAL_READONLY=1"
    config = Path(platformdirs.user_config_dir("corral")) / "config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("readonly: true\n")
    return [], f"readonly: true in {config}"


@pytest.mark.parametrize("source", ["flag", "env", "config"])
@pytest.mark.parametrize("path", sorted(MUTATING), ids=" ".join)
def test_each_mutating_verb_is_refused_in_one_line(
        path, source, no_host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    options, reason = read_only_by(source, monkeypatch)
    seen = []
    guard.add_observer(lambda m, outcome, detail: seen.append((m.verb, outcome)))
    argv = [*options, *MUTATING[path]]
    parse_command_line(argv)  # the arguments are valid: only read-only refuses them
    result = corral_here(*argv, "--inventory", str(no_host))
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    verb = gate_verb(path)
    assert lines[0].startswith(f"corral: read-only ({reason}): refusing to {verb}")
    assert seen == [(verb, "refused")]
    assert no_host.read_text() == INVENTORY


def gate_verb(path: tuple[str, ...]) -> str:
    parser = dict(verbs(build_parser()))[path]
    return parser.get_default("func").mutates


def test_the_flag_also_works_after_the_verb(no_host: Path) -> None:
    result = corral_here("rm", "s", "--readonly", "--yes", "--inventory", str(no_host))
    assert result.returncode != 0
    assert result.stderr.startswith("corral: read-only (--readonly): refusing to stack.rm s")


@pytest.mark.parametrize("value", ["maybe", "2", "on"])
def test_a_bad_environment_value_is_one_line_and_exit_2(value, monkeypatch) -> None:
    monkeypatch.setenv("CORRAL_READONLY", value)
    result = corral_here("catalog", "list")
    assert result.returncode == 2
    assert result.stderr == (f"corral: CORRAL_READONLY={value!r}: expected 1, true or yes"
                             " (read-only) or 0, false or no\n")


@pytest.mark.parametrize("value", ["0", "false", "no", ""])
def test_a_false_environment_value_leaves_corral_writable(value, monkeypatch) -> None:
    monkeypatch.setenv("CORRAL_READONLY", value)
    assert corral_here("catalog", "list").returncode == 0
    assert guard.readonly_reason() is None


@pytest.mark.parametrize("source", ["flag", "env", "config"])
def test_reading_verbs_still_run(source, monkeypatch) -> None:
    options, reason = read_only_by(source, monkeypatch)
    result = corral_here(*options, "catalog", "list")
    assert result.returncode == 0, result.stderr
    assert guard.readonly_reason() == reason


@pytest.mark.parametrize("source", ["flag", "env", "config"])
def test_the_console_opens_read_only(source, monkeypatch, tmp_path: Path) -> None:
    from corral.tui.app import CorralApp

    options, reason = read_only_by(source, monkeypatch)
    opened = []
    monkeypatch.setattr(CorralApp, "run", lambda app: opened.append(app))
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("hosts: []\n")
    assert corral_here(*options, "--inventory", str(inventory)).returncode == 0
    app = opened[0]
    assert app.config.readonly and app.fleet.readonly
    assert guard.readonly_reason() == reason
