"""The planner's working state: what each host will run, and placement groups.

A `Board` holds, per online host, one `Slot` per container that will exist
once the decisions made so far are applied: other stacks' running
containers, this stack's kept replicas and the ones already placed. Rules,
port checks and spreading all read it, so every later decision sees the
earlier ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from corral.backends.labels import REPLICA
from corral.backends.plan.model import HostInfo, PortUse
from corral.backends.plan.rules import Rule, Seen, replica_labels, service_rules
from corral.catalog.spec import Service, Stack

_MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*([bkmg]?)b?", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@dataclass(frozen=True)
class Slot:
    """A container on the board.

    Attributes:
        name: Its container name.
        labels: Its labels (rules match them).
        ports: Host ports it holds.
        memory: Bytes it reserves.
        service: This stack's service it belongs to, or None for other containers.
    """

    name: str
    labels: dict[str, str]
    ports: tuple[PortUse, ...] = ()
    memory: int = 0
    service: str | None = None


@dataclass
class Group:
    """A primary service and its sidekicks: they are placed together.

    Attributes:
        members: The primary first, then its sidekicks in dependency order
            (containers start in `service_order`, not in this order).
        rules: Every rule of every member, hard and soft, without repeats.
        ports: Host ports the members publish.
        memory: Bytes the members reserve together.
    """

    members: list[Service]
    rules: list[Rule] = field(default_factory=list)
    ports: list[PortUse] = field(default_factory=list)
    memory: int = 0

    @property
    def primary(self) -> Service:
        """The service the sidekicks follow."""
        return self.members[0]

    @property
    def hard(self) -> list[Rule]:
        """Rules that must hold."""
        return [rule for rule in self.rules if not rule.soft]

    @property
    def soft(self) -> list[Rule]:
        """Preferences, in priority order (earlier first)."""
        return [rule for rule in self.rules if rule.soft]


class Board:
    """Per online host, the containers that will run there.

    Args:
        hosts: The online hosts.
        stack: The stack being planned; its own containers are left out of the
            initial board (the planner adds the ones it keeps).
    """

    def __init__(self, hosts: Iterable[HostInfo], stack: str):
        self.hosts = {host.name: host for host in hosts}
        self._slots: dict[str, dict[str, Slot]] = {name: {} for name in self.hosts}
        for host in self.hosts.values():
            for container in host.containers:
                if container.running and not container.of_stack(stack):
                    self.add(host.name, f"other:{container.id or container.name}", Slot(
                        container.name, dict(container.labels), container.ports,
                        container.memory))

    def add(self, host: str, key: str, slot: Slot) -> None:
        """Put a container on a host."""
        self._slots[host][key] = slot

    def drop(self, host: str, key: str) -> None:
        """Take a container off a host (no error when absent)."""
        self._slots[host].pop(key, None)

    def slots(self, host: str, exclude: Iterable[str] = ()) -> list[tuple[str, Slot]]:
        """The (key, slot) pairs of a host, in key order, minus `exclude`."""
        skip = set(exclude)
        return sorted((k, s) for k, s in self._slots[host].items() if k not in skip)

    def seen(self, host: str, exclude: Iterable[str] = ()) -> list[Seen]:
        """The containers rules see on `host`."""
        return [Seen(slot.name, slot.labels) for _, slot in self.slots(host, exclude)]

    def count(self, host: str, service: str) -> int:
        """How many containers of this stack's `service` the host will run."""
        return sum(slot.service == service for slot in self._slots[host].values())

    def load(self, host: str) -> Fraction:
        """Containers per CPU: the spread tie-breaker (exact, so ties are exact too)."""
        return Fraction(len(self._slots[host]), max(1, self.hosts[host].cpus))

    def port_holder(self, host: str, port: PortUse, exclude: Iterable[str] = ()) -> str | None:
        """The container already holding `port` on `host`, or None."""
        for _, slot in self.slots(host, exclude):
            if any(port.collides(used) for used in slot.ports):
                return slot.name
        return None

    def memory_free(self, host: str, exclude: Iterable[str] = ()) -> int | None:
        """Bytes not reserved on `host`, or None when its memory is unknown."""
        total = self.hosts[host].memory
        if not total:
            return None
        return total - sum(slot.memory for _, slot in self.slots(host, exclude))


def published_ports(service: Service) -> tuple[PortUse, ...]:
    """The fixed host ports a service publishes (engine-chosen ones cannot collide)."""
    return tuple(PortUse(p.host_port, p.protocol, p.host_ip)
                 for p in service.ports if p.published and p.host_port)


def memory_request(service: Service) -> int:
    """Bytes a service reserves: compose `mem_reservation`, else `mem_limit`, else 0."""
    for key in ("mem_reservation", "mem_limit"):
        value = service.extra.get(key)
        if value is None:
            continue
        if isinstance(value, int | float):
            return int(value)
        match = _MEMORY.fullmatch(str(value).strip())
        if match:
            return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    return 0


def shared_with(service: Service) -> set[str]:
    """Services whose container `service` takes volumes (`volumes_from`) or network from."""
    shared = {item.source for item in service.volumes_from if item.kind == "service"}
    mode = service.network_mode or ""
    if mode.startswith("service:"):
        shared.add(mode.split(":", 1)[1])
    return shared - {service.name}


def dependencies(service: Service) -> set[str]:
    """Services that must start before `service`."""
    deps = {link.target for link in service.links} | set(service.depends_on)
    return (deps | shared_with(service)) - {service.name}


def _topological(names: list[str], deps: dict[str, set[str]]) -> list[str]:
    """Kahn's order, smallest name first among the ready; a cycle keeps name order."""
    order: list[str] = []
    left = sorted(names)
    while left:
        ready = [n for n in left if not (deps.get(n, set()) & set(left))] or left[:1]
        order.append(ready[0])
        left.remove(ready[0])
    return order


def service_order(stack: Stack) -> list[str]:
    """Every service name, dependencies first (the order containers start)."""
    names = [service.name for service in stack.services]
    return _topological(names, {s.name: dependencies(s) for s in stack.services})


def _targets(rule: Rule, stack: Stack, service: Service) -> bool:
    """Whether `rule` is about containers of `service` (which must then be placed first)."""
    affinity = rule.affinity
    if affinity.kind == "container":
        return affinity.value.startswith(f"{stack.name}-{service.name}-")
    if affinity.kind == "container_label":
        return replica_labels(stack, service, 0).get(affinity.key or "") == affinity.value \
            and affinity.key != REPLICA
    return False


def groups(stack: Stack) -> list[Group]:
    """The placement groups of a stack, dependencies first.

    Each primary service forms a group with its sidekicks; a group depends on
    another when one of its members depends on one of the other's members, or
    when one of its rules names the other's containers (so that the rule sees
    them placed).
    """
    order = service_order(stack)
    rank = {name: i for i, name in enumerate(order)}
    owner = {s.name: (s.sidekick_of or s.name) for s in stack.services}
    members: dict[str, list[Service]] = {}
    for name in order:
        members.setdefault(owner[name], []).append(stack.service(name))
    rules = {primary: service_rules(stack, items) for primary, items in members.items()}
    group_deps = {
        primary: ({owner[d] for s in items for d in dependencies(s) if d in owner}
                  | {owner[s.name] for s in stack.services
                     if any(_targets(rule, stack, s) for rule in rules[primary])}) - {primary}
        for primary, items in members.items()
    }
    result = []
    for primary in _topological(list(members), group_deps):
        items = sorted(members[primary], key=lambda s: (s.name != primary, rank[s.name]))
        group = Group(items)
        group.rules = rules[primary]
        group.ports = [port for s in items for port in published_ports(s)]
        group.memory = sum(memory_request(s) for s in items)
        result.append(group)
    return result
