"""One confirmation rule for every destructive `corral` verb.

Each verb that may stop, remove or recreate containers (or change the
inventory) takes `--yes`, asks on a terminal, and without `--yes` on a
non-terminal is refused in one line before anything is read or contacted.
"""

from __future__ import annotations

import argparse
import io

import pytest

from corral.tui.cli.main import build_parser
from corral.tui.cli.support import DESTRUCTIVE_VERBS, ask, run_guarded

#: A valid command line for each destructive verb (the inventory does not exist:
#: only the refusal can answer before reading it).
ARGV = {
    "deploy": ["deploy", "webrtc-demo", "--stack", "s", "--set", "KV_PASSWORD=longenough"],
    "upgrade": ["upgrade", "webrtc-demo", "--stack", "s", "--set", "KV_PASSWORD=longenough"],
    "scale": ["scale", "s/web=1"],
    "confirm": ["confirm", "s"],
    "rollback": ["rollback", "s"],
    "reconcile": ["reconcile"],
    "rm": ["rm", "s"],
    "hosts rm": ["hosts", "rm", "lab1"],
    "lease break": ["lease", "break", "s"],
    "images prune": ["images", "prune", "--host", "lab1"],
    "swarm init": ["swarm", "init", "--hosts", "lab1,lab2"],
    "swarm join": ["swarm", "join", "lab3"],
    "swarm leave": ["swarm", "leave", "lab3"],
    "swarm node drain": ["swarm", "node", "drain", "lab2"],
    "swarm node active": ["swarm", "node", "active", "lab2"],
}


def verbs(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    """Every (sub)command parser by its words, `hosts rm` included."""
    found = {}
    for action in parser._subparsers._group_actions if parser._subparsers else ():  # noqa: SLF001
        for name, sub in action.choices.items():
            found[f"{prefix}{name}"] = sub
            found.update(verbs(sub, f"{prefix}{name} "))
    return found


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_destructive_verbs_are_exactly_those_marked() -> None:
    marked = {}
    for words, sub in verbs(build_parser()).items():
        func = sub.get_default("func")
        if getattr(func, "destructive", None):
            marked[words] = func.destructive
    assert marked == {verb: verb for verb in DESTRUCTIVE_VERBS}
    assert set(ARGV) == set(DESTRUCTIVE_VERBS)


@pytest.mark.parametrize("verb", sorted(DESTRUCTIVE_VERBS))
def test_without_yes_a_non_terminal_is_refused_before_anything(verb, monkeypatch,
                                                               capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    argv = [*ARGV[verb], "--inventory", "/nonexistent/inventory.yaml"]
    args = build_parser().parse_args(argv)
    assert run_guarded(args.func, args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"corral: refusing to {DESTRUCTIVE_VERBS[verb]} without confirmation:"
                   " pass --yes (stdin is not a terminal)\n")


@pytest.mark.parametrize("verb", sorted(DESTRUCTIVE_VERBS))
def test_with_yes_the_verb_goes_on(verb, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    argv = [*ARGV[verb], "--yes", "--inventory", "/nonexistent/inventory.yaml"]
    args = build_parser().parse_args(argv)
    run_guarded(args.func, args)
    assert "refusing" not in capsys.readouterr().err  # it went on, to the missing inventory


def test_a_terminal_is_asked_and_only_yes_goes_ahead(monkeypatch, capsys) -> None:
    for answer, go in (("y\n", True), ("yes\n", True), ("\n", False), ("n\n", False)):
        monkeypatch.setattr("sys.stdin", Terminal(answer))
        assert ask(argparse.Namespace(yes=False), "Remove stack s?") is go
        assert capsys.readouterr().err == "Remove stack s? [y/N] "
    monkeypatch.setattr("sys.stdin", Terminal(""))
    assert ask(argparse.Namespace(yes=True), "Remove stack s?")
    assert capsys.readouterr().err == ""
