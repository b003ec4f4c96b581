"""The mutation gate: read-only refuses before anything runs; observers see every outcome."""

from __future__ import annotations

import pytest

from corral.backends import guard
from corral.backends.errors import ActionRefused


def test_a_writable_process_runs_the_body_and_reports_ok() -> None:
    seen = []
    guard.add_observer(lambda m, outcome, detail: seen.append((m.verb, m.hosts, outcome)))
    ran = []
    with guard.mutating("stack.rm", hosts="lab1", stack="web"):
        ran.append(True)
    assert ran == [True]
    assert seen == [("stack.rm", ("lab1",), "ok")]


def test_read_only_refuses_before_the_body_and_cannot_be_undone() -> None:
    seen = []
    guard.add_observer(lambda m, outcome, detail: seen.append(outcome))
    guard.enter_readonly("--readonly")
    guard.enter_readonly("something else")
    ran = []
    refused = r"read-only \(--readonly\): refusing to stack.rm web"
    with pytest.raises(ActionRefused, match=refused), \
            guard.mutating("stack.rm", stack="web"):
        ran.append(True)
    assert ran == [] and seen == ["refused"]
    assert guard.readonly_reason() == "--readonly"


def test_a_read_only_session_refuses_and_a_failure_is_reported() -> None:
    seen = []
    guard.add_observer(lambda m, outcome, detail: seen.append((outcome, detail)))
    with pytest.raises(ActionRefused), \
            guard.mutating("container.stop", hosts="lab1", target="web-1", readonly=True):
        pass
    with pytest.raises(RuntimeError), \
            guard.mutating("container.stop", hosts="lab1", target="web-1"):
        raise RuntimeError("engine said no")
    assert seen[1] == ("failed", "engine said no")


def test_a_broken_observer_does_not_break_the_change() -> None:
    def broken(*_):
        raise OSError("disk full")

    guard.add_observer(broken)
    with guard.mutating("exec", hosts="lab1", target="web-1"):
        pass


def test_a_body_that_returns_with_hosts_failed_is_reported_partial() -> None:
    seen = []
    guard.add_observer(lambda m, outcome, detail: seen.append((outcome, detail)))
    with guard.mutating("stack.rm", hosts=("lab1", "lab2"), stack="web") as change:
        change.problems["lab2"] = "connection lost"
    assert seen == [("partial", "lab2: connection lost")]
