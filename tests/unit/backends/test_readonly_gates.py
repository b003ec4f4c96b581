"""Every backend mutation passes the gate: read-only refuses it before a host is touched.

The fakes fail the test if anything reaches an engine, a host or the
inventory file; an observer proves each refusal is reported once, under the
verb the audit trail records.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from corral.backends import guard
from corral.backends.deploy import apply, confirm, remove, rollback, upgrade
from corral.backends.deploy.health import UNHEALTHY
from corral.backends.deploy.health_track import HealthTracker
from corral.backends.deploy.record import Definition
from corral.backends.engine import ACTIONS, act
from corral.backends.errors import ActionRefused
from corral.backends.exec import ExecRequest, ExecStream, start_debug_copy
from corral.backends.inventory import HostEntry, add_host, remove_host
from corral.catalog.spec import Stack

reconcile_module = importlib.import_module("corral.backends.deploy.reconcile")
INVENTORY = "hosts:\n  - name: lab1\n    ssh: root@10.0.0.1\n"


class Untouchable:
    """A session or fleet that fails the test when asked to do anything."""

    def __init__(self, name: str = "lab1", readonly: bool = False):
        self.name = name
        self.readonly = readonly

    def __getattr__(self, attribute: str):
        raise AssertionError(f"a refused mutation reached the host ({attribute})")


@pytest.fixture
def refusals() -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    guard.add_observer(lambda m, outcome, detail: seen.append((m.verb, outcome)))
    return seen


def prepared(verb: str = "stack.deploy", awaiting: bool = False) -> SimpleNamespace:
    definition = Definition(Stack("web", "e", "1"), answers={"PORT": "80"},
                            secret_names=("DB_PASSWORD",), upgrade_from=1 if awaiting else None)
    return SimpleNamespace(verb=verb, hosts_changed=["lab1"], stack=definition.stack,
                           definition=definition, verb_args={},
                           audit_args=lambda: {"answers": {"DB_PASSWORD": "********"}})


def fleet_state(awaiting: bool = True) -> SimpleNamespace:
    definition = Definition(Stack("web", "e", "1"), generation=2,
                            upgrade_from=1 if awaiting else None)
    record = SimpleNamespace(stack="web", host="lab1", generation=2, volume="corral-web-2")
    return SimpleNamespace(definition=lambda name: definition, records=[record], online=["lab1"],
                           containers=lambda name: [])


@pytest.mark.parametrize("verb", ["stack.deploy", "stack.scale", "stack.reconcile"])
def test_an_apply_is_refused_under_the_verb_it_was_planned_for(refusals, verb) -> None:
    guard.enter_readonly("--readonly")
    with pytest.raises(ActionRefused, match=rf"read-only \(--readonly\): refusing to {verb} web"):
        apply(Untouchable(), prepared(verb))  # type: ignore[arg-type]
    assert refusals == [(verb, "refused")]


@pytest.mark.parametrize("awaiting", [False, True])
def test_an_upgrade_is_refused(refusals, awaiting) -> None:
    guard.enter_readonly("CORRAL_READONLY=1")
    with pytest.raises(ActionRefused, match=r"\(CORRAL_READONLY=1\): refusing to stack.upgrade"):
        upgrade(Untouchable(), prepared(awaiting=awaiting))  # type: ignore[arg-type]
    assert refusals == [("stack.upgrade", "refused")]


@pytest.mark.parametrize(("settle", "verb"), [(confirm, "stack.confirm"),
                                              (rollback, "stack.rollback")])
def test_confirm_and_rollback_are_refused(refusals, settle, verb) -> None:
    guard.enter_readonly("readonly: true in config.yaml")
    with pytest.raises(ActionRefused, match=f"refusing to {verb} web on lab1"):
        settle(Untouchable(), fleet_state(), "web")  # type: ignore[arg-type]
    assert refusals == [(verb, "refused")]


def test_removing_a_stack_is_refused(refusals) -> None:
    guard.enter_readonly("--readonly")
    with pytest.raises(ActionRefused, match="refusing to stack.rm web on lab1"):
        remove(Untouchable(), fleet_state(), "web", volumes=True)  # type: ignore[arg-type]
    assert refusals == [("stack.rm", "refused")]


def test_a_read_only_fleet_refuses_without_the_process_latch(refusals) -> None:
    with pytest.raises(ActionRefused, match="^lab1: read-only: refusing to stack.rm"):
        remove(Untouchable(readonly=True), fleet_state(), "web",  # type: ignore[arg-type]
               volumes=False)
    assert guard.readonly_reason() is None


def test_a_health_pass_removes_no_unhealthy_container(refusals) -> None:
    """What a read-only console or `reconcile --watch` would recreate is left, and reported."""
    guard.enter_readonly("--readonly")
    tracker = HealthTracker()
    target = SimpleNamespace(host="lab1", container="web-1", key="lab1/web-1",
                             check=SimpleNamespace(strategy="recreate"))
    tracker.containers[target.key] = SimpleNamespace(state=UNHEALTHY, last_error="timeout")
    report = reconcile_module.ReconcileReport()
    fleet = SimpleNamespace(readonly=False, sessions={"lab1": Untouchable()})
    removed = reconcile_module._recreate(fleet, tracker, report, "web",  # type: ignore[arg-type]
                                         target, healthy=1)
    assert not removed
    assert "refusing to health.recreate web-1 on lab1" in report.errors["web"]
    assert refusals == [("health.recreate", "refused")]


@pytest.mark.parametrize("action_id", sorted(ACTIONS))
def test_every_engine_action_is_refused(refusals, action_id) -> None:
    guard.enter_readonly("--readonly")
    with pytest.raises(ActionRefused, match=f"refusing to {action_id} abc on lab1"):
        act(Untouchable(), action_id, "abc")  # type: ignore[arg-type]
    assert refusals == [(action_id, "refused")]


def test_a_read_only_session_refuses_engine_actions_too(refusals) -> None:
    with pytest.raises(ActionRefused, match="read-only: refusing to container.stop abc"):
        act(Untouchable(readonly=True), "container.stop", "abc")  # type: ignore[arg-type]


@pytest.mark.parametrize("verb", ["exec", "shell"])
def test_exec_and_shell_run_nothing_in_a_container(refusals, verb) -> None:
    guard.enter_readonly("--readonly")
    request = ExecRequest("web-1", ("sh", "-c", "echo s3cret > /x"), verb=verb)
    with pytest.raises(ActionRefused, match=f"refusing to {verb} web-1 on lab1"):
        ExecStream.open(Untouchable(), request)  # type: ignore[arg-type]
    assert refusals == [(verb, "refused")]


def test_exec_records_the_program_never_its_arguments() -> None:
    args = []
    guard.add_observer(lambda m, outcome, detail: args.append(m.args))
    with pytest.raises(ActionRefused):
        ExecStream.open(Untouchable(readonly=True),  # type: ignore[arg-type]
                        ExecRequest("web-1", ("mysql", "-ps3cret")))
    assert args == [{"program": "mysql", "user": "", "tty": True}]


def test_no_debug_copy_is_started(refusals) -> None:
    guard.enter_readonly("--readonly")
    with pytest.raises(ActionRefused, match="refusing to debug.copy web-1 on lab1"):
        start_debug_copy(Untouchable(), "web-1")  # type: ignore[arg-type]
    assert refusals == [("debug.copy", "refused")]


def test_inventory_edits_write_nothing(refusals, tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY)
    guard.enter_readonly("--readonly")
    with pytest.raises(ActionRefused, match="refusing to hosts.add lab2"):
        add_host(path, HostEntry(name="lab2", ssh="root@10.0.0.2"))
    with pytest.raises(ActionRefused, match="refusing to hosts.rm lab1"):
        remove_host(path, "lab1")
    with pytest.raises(ActionRefused):
        add_host(tmp_path / "new" / "inventory.yaml", HostEntry(name="lab2", ssh="root@x"))
    assert path.read_text() == INVENTORY
    assert not (tmp_path / "new").exists()
    assert refusals == [("hosts.add", "refused"), ("hosts.rm", "refused"),
                        ("hosts.add", "refused")]
