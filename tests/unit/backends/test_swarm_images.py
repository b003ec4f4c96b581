"""The Swarm engine's images (issue 14): each host that may run a service's tasks needs
its image; the transfers run before Swarm is asked anything, and an image no source has
stops the deploy before any service changes."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from corral.backends.deploy import ImageRow, swarm_images
from corral.backends.errors import PreflightError
from corral.backends.swarm import SwarmPlan, translate
from corral.backends.swarm.services import Step
from tests.support.plan import stack, svc


def planned(**task_hosts: tuple[str, ...]) -> SwarmPlan:
    st = stack(replace(svc("db"), image="team/db:1"), replace(svc("web"), image="team/web:2"))
    return SwarmPlan(st, "m", translate(st), task_hosts=dict(task_hosts), network=True)


def test_needs_are_each_hosts_images_of_the_services_it_may_run() -> None:
    plan = planned(db=("lab1",), web=("lab1", "lab2"))
    assert swarm_images.swarm_needs(plan) == {"lab1": ["team/db:1", "team/web:2"],
                                              "lab2": ["team/web:2"]}


def test_plan_swarm_decides_on_the_online_hosts_with_the_bundle(monkeypatch) -> None:
    plan = planned(web=("lab2",))
    seen = {}

    def decide(fleet, needs, online, pull, bundle):
        seen.update(needs=needs, online=online, pull=pull, bundle=bundle)
        return [ImageRow("lab2", "team/web:2", "push", "bundle b.tar")]

    monkeypatch.setattr(swarm_images, "plan_stack", lambda fleet, stack, answers: plan)
    monkeypatch.setattr(swarm_images, "decide_on_hosts", decide)
    fleet = SimpleNamespace(sessions={"lab1": SimpleNamespace(online=True),
                                      "gone": SimpleNamespace(online=False),
                                      "lab2": SimpleNamespace(online=True)})
    bundle = SimpleNamespace(name="bundle b.tar")
    got = swarm_images.plan_swarm(fleet, plan.stack, None, "never", bundle)  # type: ignore[arg-type]
    assert seen == {"needs": {"lab2": ["team/web:2"]}, "online": ["lab1", "lab2"],
                    "pull": "never", "bundle": bundle}
    assert got.image_sources == {"bundle b.tar": bundle} and not got.no_op
    assert got.to_dict()["images"][0]["action"] == "push"


def test_images_move_before_swarm_is_asked(monkeypatch) -> None:
    plan = planned(web=("lab2",))
    plan.steps = [Step("create", "web", "st_web")]
    plan.images = [ImageRow("lab2", "team/web:2", "push", "lab1")]
    calls = []
    monkeypatch.setattr(swarm_images, "transfer",
                        lambda fleet, rows, report, sources: calls.append(("transfer", rows))
                        or {})
    monkeypatch.setattr(swarm_images, "apply_plan",
                        lambda fleet, plan, progress, verb, timeout: calls.append(
                            ("apply", verb)) or {})
    assert swarm_images.apply_swarm(None, plan, print, verb="stack.upgrade") == {}  # type: ignore[arg-type]
    assert calls == [("transfer", plan.images), ("apply", "stack.upgrade")]


@pytest.mark.parametrize("failure", ["unavailable", "transfer"])
def test_an_image_that_cannot_reach_a_node_changes_no_service(monkeypatch, failure) -> None:
    plan = planned(web=("lab2",))
    plan.images = [ImageRow("lab2", "team/web:2", "unavailable", why="no online host has it")
                   if failure == "unavailable" else ImageRow("lab2", "team/web:2", "push",
                                                             "lab1")]
    monkeypatch.setattr(swarm_images, "transfer", lambda *args: {"lab2": "team/web:2: cut"})
    monkeypatch.setattr(swarm_images, "apply_plan", lambda *args, **kwargs: pytest.fail(
        "Swarm asked"))
    with pytest.raises(PreflightError) as raised:
        swarm_images.apply_swarm(None, plan, print)  # type: ignore[arg-type]
    assert "no service was changed" in str(raised.value) or "nothing was changed" in str(
        raised.value)
    assert "lab2: " in str(raised.value)


def test_a_plan_whose_nodes_all_hold_the_images_is_a_no_op() -> None:
    plan = planned(web=("lab2",))
    plan.images = [ImageRow("lab2", "team/web:2", "present")]
    assert plan.no_op
    plan.images.append(ImageRow("lab3", "team/web:2", "push", "lab2"))
    assert not plan.no_op


def test_the_swarm_record_becomes_a_definition_at_the_running_replicas(monkeypatch) -> None:
    from corral.backends.deploy import swarm_seed
    from corral.backends.swarm import SwarmStack
    from corral.backends.swarm.services import read_record, record_labels
    from corral.catalog.answers import Answers

    st = stack(replace(svc("web"), scale=1), svc("agent", is_global=True), name="demo")
    answers = Answers({"GREETING": "hi", "PW": "s3cret"}, secret_names=frozenset({"PW"}))
    record = read_record(record_labels(st, answers, 3))
    rows = ({"name": "web", "desired": 4}, {"name": "agent", "desired": None})
    monkeypatch.setattr(swarm_seed, "list_stacks",
                        lambda fleet: [SwarmStack("demo", "m", rows, record)])
    definition = swarm_seed.swarm_deployed(None, "demo")  # type: ignore[arg-type]
    assert definition.generation == 3 and definition.answers == {"GREETING": "hi"}
    assert definition.secret_names == ("PW",) and not definition.holds_secrets
    assert {s.name: s.scale for s in definition.stack.services} == {"web": 4, "agent": 1}
    assert definition.stack.entry == "test" and not definition.awaiting_decision
    with pytest.raises(Exception, match="the swarm runs no stack other"):
        swarm_seed.swarm_deployed(None, "other")  # type: ignore[arg-type]
