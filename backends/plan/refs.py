"""Answers of `service` questions that name another stack's service (pure).

Rancher resolved `STACK/SERVICE` answers in its environment. Here the other
stack must be one Corral deployed on the inventory's hosts: the plan names the
containers the answer resolves to, or fails naming the question. Reaching
those containers from this stack across hosts is the networks' business.
"""

from __future__ import annotations

from collections.abc import Sequence

from corral.backends import labels as L
from corral.backends.errors import PlanError
from corral.backends.plan.model import HostInfo
from corral.catalog.spec import Stack


def resolve_service_refs(stack: Stack, hosts: Sequence[HostInfo]) -> list[str]:
    """Resolve each `Stack.service_refs` entry against the hosts' containers.

    Returns:
        One note per answer: the containers it resolves to.

    Raises:
        PlanError: An answer names a stack or service not deployed on an
            online host (offline hosts are named: it may be there).
    """
    notes: list[str] = []
    missing: list[str] = []
    offline = sorted(h.name for h in hosts if not h.online)
    for variable, other, service in stack.service_refs:
        found = sorted((host.name, container.name) for host in hosts if host.online
                       for container in host.containers
                       if container.of_stack(other) and container.labels.get(L.SERVICE) == service)
        if found:
            where = ", ".join(f"{name} on {host}" for host, name in found)
            notes.append(f"question {variable}: {other}/{service} is {where}")
            continue
        stacks = any(c.of_stack(other) for h in hosts if h.online for c in h.containers)
        why = (f"stack {other} has no service {service}" if stacks
               else f"no stack {other} is deployed")
        if offline:
            why += f" on the online hosts ({', '.join(offline)} offline)"
        missing.append(f"question {variable} names service {other}/{service}: {why}")
    if missing:
        raise PlanError(f"cannot plan stack {stack.name}: {'; '.join(missing)}")
    return notes
