"""`external_links` to another Corral stack's service: which network each container joins (pure).

Rancher catalogs answer a `service` question `shop/mysql` and write
`external_links: - ${DB}:db`. Here such a link makes each container of the
linking service join the other stack's network (`shop_default`), where that
stack's containers answer to their service name. The alias is a link on
that endpoint (`Links: ["shop-mysql-1:db"]`): on a user-defined network
Docker resolves it, from this container only, to the linked container.
A target that is no `STACK/SERVICE` (a plain container name) is not made.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from corral.backends import labels as L
from corral.backends.plan.model import REMOVE, HostInfo, Step
from corral.catalog.spec import Stack


@dataclass(frozen=True)
class Join:
    """One container host's endpoint on another stack's network.

    Attributes:
        service: The linking service.
        host: The host its containers run on.
        network: The other stack's network (`OTHER_default`).
        target: `OTHER/SERVICE` as written.
        alias: The name the linking containers see.
        container: The target's container on this host (the alias links to
            it), or "" (only the target service's own name resolves then).
        exists: The network is there on the host (a container of the other
            stack runs on it, or both are in one swarm): joined; else warned of.
    """

    service: str
    host: str
    network: str
    target: str
    alias: str
    container: str = ""
    exists: bool = True


@dataclass
class Joins:
    """What the plan makes of a stack's external links."""

    joins: list[Join] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def endpoints(self, service: str, host: str) -> list[tuple[str, list[str]]]:
        """The networks a container of `service` on `host` joins, each with its links."""
        found: dict[str, list[str]] = {}
        for join in self.joins:
            if join.service == service and join.host == host and join.exists:
                links = found.setdefault(join.network, [])
                if join.container:
                    links.append(f"{join.container}:{join.alias}")
        return sorted(found.items())


def stack_target(target: str) -> tuple[str, str] | None:
    """`(STACK, SERVICE)` of an external link's target, or None for a container name."""
    other, sep, service = target.partition("/")
    if not sep or not other or not service or "/" in service:
        return None
    return other, service


def external_joins(stack: Stack, hosts: Sequence[HostInfo], steps: Sequence[Step]) -> Joins:
    """Resolve the stack's external links against the hosts' containers.

    Args:
        stack: The stack.
        hosts: Every inventory host, with its containers.
        steps: The plan's steps (where each service's containers are left).

    Returns:
        The joins, a note per joined network and host, a warning per link not
        made (plain container names; hosts without the other stack's
        network) and an error per link naming a stack or service not deployed.
    """
    where: dict[str, set[str]] = defaultdict(set)
    for step in steps:
        if step.action != REMOVE:
            where[step.service].add(step.host)
    online = [h for h in hosts if h.online]
    offline = sorted(h.name for h in hosts if not h.online)
    out = Joins()
    for service in stack.services:
        for link in service.external_links:
            ref = stack_target(link.target)
            if ref is None or ref[0] == stack.name:
                out.warnings.append(
                    f"{service.name}'s external link to {link.target} (as {link.alias}) is not"
                    f" made: it names no service of another Corral stack (STACK/SERVICE);"
                    f" reach it by a published port or an external network both stacks declare")
                continue
            _resolve(out, service.name, link.target, link.alias, ref, online, offline,
                     sorted(where.get(service.name, ())))
    return out


def _resolve(out: Joins, service: str, target: str, alias: str, ref: tuple[str, str],
             online: list[HostInfo], offline: list[str], used: list[str]) -> None:
    other, name = ref
    ours = {h.name: [c for c in h.containers if c.of_stack(other)] for h in online}
    found = {host: sorted((not c.running, c.name) for c in cs
                          if c.labels.get(L.SERVICE) == name) for host, cs in ours.items()}
    if not any(found.values()):
        why = (f"stack {other} has no service {name}" if any(ours.values())
               else f"no stack {other} is deployed")
        if offline:
            why += f" on the online hosts ({', '.join(offline)} offline)"
        out.errors.append(f"service {service}: external_links {target}:{alias}: {why}")
        return
    network = f"{other}_default"
    swarms = {h.swarm for h in online if ours[h.name] and h.swarm}
    info = {h.name: h for h in online}
    for host in used:
        spot = info.get(host)
        exists = bool(ours.get(host)) or (spot is not None and spot.swarm in swarms)
        container = found[host][0][1] if found.get(host) else ""
        out.joins.append(Join(service, host, network, target, alias, container, exists))
        if not exists:
            there = sorted(h for h, cs in ours.items() if cs)
            out.warnings.append(
                f"{service}'s external link to {target} (as {alias}) is not made on {host}:"
                f" network {network} is not there (stack {other} runs on"
                f" {', '.join(there)}); `corral swarm init --hosts"
                f" {','.join(sorted({*there, host}))}` makes them one swarm, and the"
                f" stack's network an overlay across them (deploy {other} again)")
            continue
        out.notes.append(f"{service} on {host} joins {network} ({target} as {alias})")
        if not container and alias != name:
            out.warnings.append(
                f"{service}'s external link to {target}: on {host} only the name {name}"
                f" resolves, not {alias} (no container of {target} runs there to link to)")
