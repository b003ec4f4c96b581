"""Upgrades planned on made-up hosts: what stays pending, and the one state of a stack."""

from __future__ import annotations

import dataclasses

from corral.backends.deploy.prepare import prepare
from corral.backends.deploy.stacks import find
from tests.support.catalog_pilot import PASSWORD
from tests.support.deployed import HoldingFleet as Holding
from tests.support.deployed import applied, deployed
from tests.support.plan_pilot import HOSTS, demo


def test_an_upgrade_that_changes_no_container_ends_at_once() -> None:
    stack, answers = demo()
    state = deployed(stack, answers, HOSTS)
    newer = dataclasses.replace(stack, version="1.0.1")  # entry/version labels are unhashed
    prepared = prepare(Holding(PASSWORD), newer, answers, state=state, upgrade=True)  # type: ignore[arg-type]
    assert prepared.plan.no_op and not prepared.no_op  # only the record changes
    assert prepared.definition.generation == 2
    assert not prepared.definition.awaiting_decision
    assert {volume for _, volume in prepared.stale_records} == {"corral-stack.demo.1"}
    after = applied(prepared)
    assert find(after, "demo").state == "active"
    # ... so the next upgrade is not refused.
    again = prepare(Holding(PASSWORD), demo(ROOM_NAME="hall")[0], answers, state=after,  # type: ignore[arg-type]
                    upgrade=True)
    assert again.definition.awaiting_decision and again.definition.upgrade_from == 2


def test_an_upgrade_that_only_adds_containers_awaits_a_decision_everywhere() -> None:
    stack, answers = demo()
    state = deployed(stack, answers, HOSTS)
    bigger, more = demo(SIGNAL_SCALE="3")
    prepared = prepare(Holding(PASSWORD), bigger, more, state=state, upgrade=True)  # type: ignore[arg-type]
    assert {s.action for s in prepared.plan.changes} == {"create"}
    after = applied(prepared)
    summary = find(after, "demo")
    assert summary.previous == 0  # no `.prev` copy, and still pending:
    assert summary.state == "upgraded" and summary.to_dict()["state"] == "upgraded"
