"""Properties of the planner over generated stacks and hosts (hypothesis)."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from corral.backends.errors import PlanError
from corral.backends.plan.model import REMOVE, HostInfo
from corral.backends.plan.planner import plan
from corral.backends.plan.rules import Rule, Seen, check
from tests.support.plan import apply_on_paper, host, other, stack, svc

RULES = ["host_label role=a", "host_label_ne role=a", "host_label_soft zone=1",
         "host_label_soft_ne zone=1", "container_label app=x", "container_label_soft app=x",
         "container_label_ne app=x", "container_label_soft_ne io.rancher.stack_service.name=st/s0"]


@st.composite
def scenarios(draw):
    count = draw(st.integers(1, 3))
    services = []
    for i in range(count):
        services.append(svc(
            f"s{i}", scale=draw(st.integers(0, 3)),
            rules=tuple(draw(st.lists(st.sampled_from(RULES), max_size=2, unique=True))),
            is_global=draw(st.booleans()) if i else False,
            ports=tuple(draw(st.lists(st.sampled_from([80, 81]), max_size=1))),
            sidekicks=("side",) if i == 0 and draw(st.booleans()) else (),
        ))
    if services[0].sidekicks:
        services.append(svc("side", ports=tuple(draw(st.lists(st.sampled_from([82]),
                                                                 max_size=1)))))
    hosts = []
    for n in range(draw(st.integers(1, 4))):
        labels = {"role": draw(st.sampled_from("ab")), "zone": draw(st.sampled_from("12"))}
        others = tuple(other(f"o{n}{k}", {"app": draw(st.sampled_from("xy"))},
                             ports=tuple(draw(st.lists(st.sampled_from([80, 81, 82]),
                                                       max_size=1))))
                       for k in range(draw(st.integers(0, 2))))
        hosts.append(host(f"h{n}", labels, others, online=draw(st.booleans()) or n == 0,
                          cpus=draw(st.integers(1, 4))))
    return stack(*services), hosts


def outcome(stk, hosts, hashes):
    try:
        return plan(stk, hosts, hashes).to_dict()
    except PlanError as exc:
        return ("error", str(exc), exc.reasons)


def shuffled(hosts: list[HostInfo], seed: int) -> list[HostInfo]:
    rng = random.Random(seed)
    result = [HostInfo(h.name, h.labels, h.engine_labels,
                       tuple(rng.sample(h.containers, len(h.containers))), h.cpus, h.memory,
                       h.online, h.error) for h in hosts]
    rng.shuffle(result)
    return result


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.integers(0, 1000))
def test_same_input_same_plan_whatever_the_order(scenario, seed: int) -> None:
    stk, hosts = scenario
    hashes = {s.name: "h1" for s in stk.services}
    assert outcome(stk, hosts, hashes) == outcome(stk, shuffled(hosts, seed), hashes)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_plans_respect_hard_rules_ports_scale_and_sidekicks(scenario) -> None:
    stk, hosts = scenario
    hashes = {s.name: "h1" for s in stk.services}
    try:
        result = plan(stk, hosts, hashes)
    except PlanError as exc:
        assert exc.reasons and all(exc.reasons.values())
        return
    after = {h.name: h for h in apply_on_paper(stk, result, hosts, hashes)}
    final = [s for s in result.steps if s.action != REMOVE]
    for step in final:
        info = after[step.host]
        assert info.online
        service = stk.service(step.service)
        seen = [Seen(c.name, c.labels) for c in info.containers if c.name != step.name]
        for affinity in service.scheduling.rules:
            if not affinity.soft:
                assert check(Rule(affinity), info.all_labels, seen) is None, (step, affinity)
    for name, info in after.items():
        ours = Counter((p.host_port, p.protocol) for c in info.containers
                       if c.running and c.of_stack(stk.name) for p in c.ports)
        theirs = {(p.host_port, p.protocol) for c in info.containers
                  if c.running and not c.of_stack(stk.name) for p in c.ports}
        assert all(n == 1 for n in ours.values()) and not set(ours) & theirs, (name, ours)
    by_service = Counter(s.service for s in final)
    for service in stk.services:
        if service.scheduling.is_global:
            hosts_of = [s.host for s in final if s.service == service.name]
            assert len(hosts_of) == len(set(hosts_of))
        else:
            assert by_service[service.name] == service.scale
        if service.sidekick_of:
            mine = {(s.index, s.host) for s in final if s.service == service.name}
            theirs = {(s.index, s.host) for s in final if s.service == service.sidekick_of}
            assert mine == theirs


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_applying_a_plan_then_planning_again_is_a_no_op(scenario) -> None:
    stk, hosts = scenario
    hashes = {s.name: "h1" for s in stk.services}
    try:
        first = plan(stk, hosts, hashes)
    except PlanError:
        return
    second = plan(stk, apply_on_paper(stk, first, hosts, hashes), hashes)
    assert second.no_op, second.changes
