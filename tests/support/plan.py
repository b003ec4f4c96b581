"""Builders for planner tests: stacks, hosts, and applying a plan on paper."""

from __future__ import annotations

import dataclasses

from corral.backends import labels as L
from corral.backends.plan.model import CREATE, REMOVE, HostContainer, HostInfo, Plan, PortUse
from corral.backends.plan.rules import replica_labels
from corral.catalog.spec import Affinity, Port, Scheduling, Service, Stack


def rule(text: str) -> Affinity:
    """An Affinity from Rancher's label spelling: `host_label_soft_ne role=db`."""
    kind_text, _, target = text.partition(" ")
    negated = kind_text.endswith("_ne")
    kind_text = kind_text.removesuffix("_ne")
    soft = kind_text.endswith("_soft")
    kind = kind_text.removesuffix("_soft")
    key, sep, value = target.partition("=")
    if kind == "container":
        return Affinity(kind, None, target, negated, soft)
    assert sep, text
    return Affinity(kind, key, value, negated, soft)


def svc(name: str, *, scale: int = 1, rules: tuple[str, ...] = (), is_global: bool = False,
        ports: tuple[int, ...] = (), **fields) -> Service:
    """A service with scale, rules (Rancher spelling) and published host ports (== container)."""
    return Service(
        name=name, image="corral-lab/busybox:1", scale=scale,
        scheduling=Scheduling(is_global, tuple(rule(r) for r in rules)),
        ports=tuple(Port(p, "tcp", p, None, True) for p in ports), **fields,
    )


def stack(*services: Service, name: str = "st") -> Stack:
    """A stack of `services`, sidekicks wired to their primary as the catalog does."""
    by_name = {s.name: s for s in services}
    for primary in services:
        for sidekick in primary.sidekicks:
            by_name[sidekick] = dataclasses.replace(
                by_name[sidekick], sidekick_of=primary.name, scale=primary.scale,
                scheduling=primary.scheduling)
    return Stack(name=name, entry="test", version="1",
                 services=tuple(by_name[n] for n in sorted(by_name)))


def host(name: str, labels: dict | None = None, containers: tuple = (), **fields) -> HostInfo:
    """A host with inventory labels and containers."""
    return HostInfo(name=name, labels=labels or {}, containers=tuple(containers), **fields)


def other(name: str, labels: dict | None = None, ports: tuple[int, ...] = (),
          **fields) -> HostContainer:
    """A container of no stack (or another one)."""
    return HostContainer(name=name, labels=labels or {}, id=f"id-{name}",
                         ports=tuple(PortUse(p) for p in ports), **fields)


def deployed(st: Stack, service: str, index: int, *, config_hash: str = "h1",
             running: bool = True, created: float = 1.0, suffix: str = "") -> HostContainer:
    """A container of `st` as Corral deploys it."""
    spec = st.service(service)
    labels = {**replica_labels(st, spec, index), L.CONFIG_HASH: config_hash}
    ports = tuple(PortUse(p.host_port, p.protocol) for p in spec.ports if p.host_port)
    name = f"{st.name}-{service}-{index}"
    return HostContainer(name=name, labels=labels, ports=ports, id=f"id-{name}{suffix}",
                         running=running, created=created)


def apply_on_paper(st: Stack, plan: Plan, hosts: list[HostInfo],
                   hashes: dict[str, str]) -> list[HostInfo]:
    """The hosts as they would be once `plan` is applied (every step succeeds)."""
    result = []
    for info in hosts:
        removed = {s.container for s in plan.steps if s.host == info.name and s.action != "keep"
                   and s.action != CREATE and s.action != "start"}
        containers = [c for c in info.containers if c.id not in removed]
        started = {s.container for s in plan.steps if s.host == info.name and s.action == "start"}
        containers = [dataclasses.replace(c, running=True) if c.id in started else c
                      for c in containers]
        for step in plan.steps:
            if step.host == info.name and step.action in (CREATE, "replace"):
                containers.append(deployed(st, step.service, step.index,
                                           config_hash=hashes.get(step.service, "h1"),
                                           created=100.0))
        result.append(dataclasses.replace(info, containers=tuple(containers)))
    return result


def where(plan: Plan, service: str) -> list[str]:
    """Hosts of a service's containers once the plan is applied, by index."""
    steps = sorted((s for s in plan.steps if s.service == service and s.action != REMOVE),
                   key=lambda s: s.index)
    return [s.host for s in steps]
