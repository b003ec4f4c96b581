"""The planner's last touches on a complete list of steps (pure)."""

from __future__ import annotations

from collections import defaultdict

from corral.backends.plan.board import shared_with
from corral.backends.plan.model import CREATE, KEEP, REMOVE, REPLACE, START, Step
from corral.catalog.spec import Stack


def follow_shared(stack: Stack, steps: list[Step]) -> list[Step]:
    """Recreate kept containers that share volumes or network with a recreated one.

    Docker resolves `volumes_from` and `network_mode: container:` when a
    container is created, so a kept container would still point at the
    container being replaced.

    Returns:
        The steps, with such keeps turned into replaces.
    """
    steps = list(steps)
    shares = {s.name: shared_with(s) for s in stack.services}
    changed = True
    while changed:
        changed = False
        fresh = {(s.service, s.host) for s in steps if s.action in (CREATE, REPLACE)}
        for i, step in enumerate(steps):
            if step.action not in (KEEP, START):
                continue
            target = next((t for t in sorted(shares[step.service]) if (t, step.host) in fresh),
                          None)
            if target is not None:
                steps[i] = Step(REPLACE, step.service, step.index, step.host, step.name,
                                f"shares volumes or network with {target}, which is recreated",
                                container=step.container, config_hash=step.config_hash)
                changed = True
    return steps


def link_warnings(stack: Stack, steps: list[Step], across: bool = False) -> list[str]:
    """A warning per link whose target does not run on every host of the linking service
    (external links: `extlinks.external_joins`).

    Args:
        stack: The stack.
        steps: The plan's steps.
        across: The stack's network spans its hosts (an overlay): links
            resolve everywhere: no warning.
    """
    where: dict[str, set[str]] = defaultdict(set)
    for step in steps:
        if step.action != REMOVE:
            where[step.service].add(step.host)
    warnings = []
    used = sorted(set().union(*where.values())) if where else []
    for service in stack.services:
        for link in service.links:
            missing = sorted(where[service.name] - where.get(link.target, set()))
            if missing and not across:
                warnings.append(
                    f"{service.name} links to {link.target}, which does not run on "
                    f"{', '.join(missing)}: plain Docker has no network across hosts, "
                    f"so the link resolves only where both run; `corral swarm init --hosts "
                    f"{','.join(used)}` makes them one swarm, and the stack's network an "
                    f"overlay across them")
    return warnings


def subnet_warnings(stack: Stack, steps: list[Step], across: bool = False) -> list[str]:
    """A warning per network with a fixed subnet (`ipam`) whose services run on several hosts.

    Without a swarm each host gets its own bridge with that subnet: the
    containers on different hosts do not reach each other through it, and a
    fixed address is only unique on its own host.
    """
    if across:
        return []
    where: dict[str, set[str]] = defaultdict(set)
    for step in steps:
        if step.action != REMOVE:
            where[step.service].add(step.host)
    warnings = []
    for network in stack.networks:
        if network.external or network.ipam is None or not network.ipam.pools:
            continue
        hosts = sorted({host for service in stack.services
                        if any(n.name == network.name for n in service.networks)
                        for host in where.get(service.name, ())})
        if len(hosts) > 1:
            subnets = ", ".join(pool.subnet for pool in network.ipam.pools)
            warnings.append(
                f"network {network.name} has a fixed subnet ({subnets}) and its services run"
                f" on {', '.join(hosts)}: plain Docker has no network across hosts, so each"
                f" host gets its own bridge with that subnet and containers on different"
                f" hosts do not reach each other through it; keep its services on one host"
                f" (a host rule), or `corral swarm init --hosts {','.join(hosts)}` for an"
                f" overlay across them")
    return warnings
