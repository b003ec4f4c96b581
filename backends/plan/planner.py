"""The deploy planner: where each container of a stack goes, and why.

Pure and deterministic: the same stack, hosts and hashes give the same plan,
whatever order the hosts and containers come in. It runs in three passes:

1. Sort out the stack's current containers: services that left the stack,
   replicas above the scale and duplicates (a lost host came back after its
   replicas were re-placed) are removed; the best copy of each replica
   (current configuration, running, newest) is a candidate to keep.
2. Check every candidate against its host with everything else on the
   board: a host that no longer satisfies a hard rule loses the replica.
   Kept replicas whose configuration hash changed are replaced in place.
3. Place the missing replicas, group by group, dependencies first: hard
   rules, free host ports and memory filter the hosts; soft rules then
   narrow them in priority order, a soft rule that would leave no host
   being dropped (and named); among the rest, the host with the fewest
   containers of the service wins, then the least loaded, then the first
   by name. A global service gets one replica on every host that passes
   its hard rules. Sidekicks go with their primary.

A replica that no host can take makes the whole plan fail with a PlanError
naming, for each host, the rule that excluded it.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from corral.backends import labels as L
from corral.backends.errors import PlanError
from corral.backends.plan.board import (
    Board,
    Group,
    Slot,
    groups,
    memory_request,
    published_ports,
    service_order,
)
from corral.backends.plan.extlinks import external_joins
from corral.backends.plan.finish import follow_shared, link_warnings, subnet_warnings
from corral.backends.plan.model import (
    CONFIG_CHANGED,
    CREATE,
    KEEP,
    REMOVE,
    REPLACE,
    START,
    HostContainer,
    HostInfo,
    Plan,
    Step,
)
from corral.backends.plan.refs import resolve_service_refs
from corral.backends.plan.rules import check, replica_labels, replica_name
from corral.catalog.rancher_features import refusal
from corral.catalog.spec import Service, Stack


def plan(stack: Stack, hosts: Sequence[HostInfo], hashes: Mapping[str, str] | None = None,
         *, overlay: bool = False) -> Plan:
    """Plan the containers of `stack` over `hosts`.

    Args:
        stack: The stack to deploy (its `scale`s already adjusted for `corral scale`).
        hosts: Every inventory host, online or not, with all their containers;
            the stack's current containers are recognised by their labels.
        hashes: The configuration hash each service's containers must carry;
            a service missing here keeps whatever its containers carry.
        overlay: The stack's networks are to be one overlay across the hosts
            (the hashes say so too): kept when every host the plan uses is in
            one swarm with a manager among the hosts (`overlay_span`), and
            links then resolve on every host.

    Returns:
        The plan.

    Raises:
        PlanError: The stack needs Rancher, no host is online, or a replica
            fits on no host (with each host's reason).
    """
    if not stack.deployable:
        raise PlanError(refusal(stack.name, stack.warnings, stack.rancher_only))
    ordered = sorted(hosts, key=lambda host: host.name)
    if not any(host.online for host in ordered):
        raise PlanError(f"stack {stack.name} renders and passes its checks; placement needs"
                        " hosts: no host is online",
                        {"every replica": {h.name: f"offline ({h.error or 'unreachable'})"
                                           for h in ordered}})
    notes = resolve_service_refs(stack, ordered)
    result = _Planner(stack, ordered, dict(hashes or {}), overlay).run()
    return dataclasses.replace(result, warnings=(*notes, *result.warnings)) if notes else result


def overlay_span(steps: Sequence[Step], hosts: Sequence[HostInfo]) -> tuple[str, ...]:
    """The hosts an overlay would span: every host the steps leave containers on, when
    they are all active members of one swarm that an online host manages; else ().
    """
    used = sorted({step.host for step in steps if step.action != REMOVE})
    info = {host.name: host for host in hosts}
    swarms = {info[name].swarm if name in info else None for name in used}
    if not used or len(swarms) != 1 or None in swarms:
        return ()
    key = swarms.pop()
    if not any(h.online and h.swarm == key and h.swarm_manager for h in hosts):
        return ()
    return tuple(used)


@dataclass
class _Replica:
    """A replica kept from the current containers (pass 1) before its check (pass 2)."""

    group: Group
    index: int
    host: str
    containers: dict[str, HostContainer] = field(default_factory=dict)


class _Planner:
    def __init__(self, stack: Stack, hosts: list[HostInfo], hashes: dict[str, str],
                 overlay: bool = False):
        self.stack = stack
        self.overlay = overlay
        self.hosts = hosts
        self.online = [host.name for host in hosts if host.online]
        self.hashes = hashes
        self.board = Board([h for h in hosts if h.online], stack.name)
        self.groups = groups(stack)
        self.steps: list[Step] = []
        self.errors: dict[str, dict[str, str]] = {}
        self.warnings: list[str] = []

    def run(self) -> Plan:
        current = self._current()
        candidates = [replica for group in self.groups
                      for replica in self._sort_out(group, current)]
        for replica in candidates:
            for service in replica.group.members:
                self._occupy(replica.host, service, replica.index)
        placed = {group.primary.name: set() for group in self.groups}
        for replica in candidates:
            if self._check_kept(replica):
                placed[replica.group.primary.name].add((replica.index, replica.host))
        for group in self.groups:
            self._place_missing(group, placed[group.primary.name])
        if self.errors:
            count = len(self.errors)
            raise PlanError(f"cannot place {count} replica{'s' if count > 1 else ''} of stack "
                            f"{self.stack.name}; nothing was changed", self.errors)
        self.steps = follow_shared(self.stack, self.steps)
        span = overlay_span(self.steps, self.hosts) if self.overlay else ()
        notes = [f"overlay {self.stack.name}_default spans {', '.join(span)}"] if span else []
        joins = external_joins(self.stack, self.hosts, self.steps)
        if joins.errors:
            raise PlanError(f"cannot plan stack {self.stack.name}: {'; '.join(joins.errors)}")
        notes += joins.notes
        self.warnings.extend(joins.warnings)
        self.warnings.extend(link_warnings(self.stack, self.steps, across=bool(span)))
        self.warnings.extend(subnet_warnings(self.stack, self.steps, across=bool(span)))
        rank = {name: i for i, name in enumerate(service_order(self.stack))}
        steps = sorted(self.steps, key=lambda s: (rank.get(s.service, -1), s.action != REMOVE,
                                                  s.index, s.host, s.name))
        return Plan(
            stack=self.stack.name,
            steps=tuple(steps),
            warnings=tuple(self.warnings),
            hosts=tuple(self.online),
            offline=tuple((h.name, h.error or "offline") for h in self.hosts if not h.online),
            overlay=span,
            notes=tuple(notes),
        )

    # Pass 1: the current containers.

    def _current(self) -> dict[str, list[tuple[str, HostContainer]]]:
        services = {service.name for service in self.stack.services}
        current: dict[str, list[tuple[str, HostContainer]]] = defaultdict(list)
        for host in self.hosts:
            if not host.online:
                continue
            for container in sorted(host.containers, key=lambda c: (c.name, c.id)):
                if not container.of_stack(self.stack.name):
                    continue
                service = container.labels.get(L.SERVICE, "")
                if service not in services:
                    self._remove(host.name, container, service or "?",
                                 f"service {service or '?'} is no longer in the stack")
                elif container.replica is None:
                    self._remove(host.name, container, service, "has no replica index label")
                else:
                    current[service].append((host.name, container))
        return current

    def _preference(self, service: str):
        wanted = self.hashes.get(service)

        def key(copy: tuple[str, HostContainer]) -> tuple:
            host, container = copy
            stale = wanted is not None and container.labels.get(L.CONFIG_HASH) != wanted
            return (stale, not container.running, -container.created, host, container.id)

        return key

    def _sort_out(self, group: Group, current: dict) -> list[_Replica]:
        """Remove surplus copies of a group's containers; return the replicas to check."""
        primary = group.primary
        glob = primary.scheduling.is_global
        copies = sorted(current.get(primary.name, []), key=self._preference(primary.name))
        kept: dict[tuple[int, str], _Replica] = {}
        taken: set = set()
        for host, container in copies:
            index = container.replica
            slot = host if glob else index
            if not glob and index > primary.scale:
                self._remove(host, container, primary.name, f"scale is {primary.scale}")
            elif slot in taken:
                where = "on this host" if glob else f"on {kept_host(kept, index)}"
                self._remove(host, container, primary.name,
                             f"duplicate: replica {index} is kept {where}")
            else:
                taken.add(slot)
                kept[(index, host)] = _Replica(group, index, host, {primary.name: container})
        for sidekick in group.members[1:]:
            for host, container in sorted(current.get(sidekick.name, []),
                                          key=self._preference(sidekick.name)):
                replica = kept.get((container.replica, host))
                if replica is not None and sidekick.name not in replica.containers:
                    replica.containers[sidekick.name] = container
                else:
                    self._remove(host, container, sidekick.name,
                                 f"sidekick of {primary.name}, whose replica "
                                 f"{container.replica} is not kept on {host}")
        return [kept[key] for key in sorted(kept)]

    # Pass 2: the kept replicas.

    def _check_kept(self, replica: _Replica) -> bool:
        group, host, index = replica.group, replica.host, replica.index
        own = [f"{service.name}#{index}" for service in group.members]
        why = self._unfit(group, host, own)
        if why:
            for service in group.members:
                self.board.drop(host, f"{service.name}#{index}")
                container = replica.containers.get(service.name)
                if container is not None:
                    self._remove(host, container, service.name, f"{host} no longer fits: {why}")
            return False
        for service in group.members:
            container = replica.containers.get(service.name)
            name = replica_name(self.stack.name, service.name, index)
            if container is None:
                self._step(CREATE, service, index, host, name,
                           f"joins {group.primary.name} replica {index}")
                continue
            wanted = self.hashes.get(service.name)
            current = container.labels.get(L.CONFIG_HASH)
            if wanted is not None and current != wanted:
                action, reason = REPLACE, CONFIG_CHANGED
            elif not container.running and not service.start_once and service.start_on_create:
                action, reason = START, "stopped"
            else:
                action, reason = KEEP, "up to date"
            self._step(action, service, index, host, container.name, reason,
                       container=container.id, config_hash=wanted or current)
        return True

    # Pass 3: the missing replicas.

    def _place_missing(self, group: Group, placed: set[tuple[int, str]]) -> None:
        primary = group.primary
        if primary.scheduling.is_global:
            self._place_global(group, placed)
            return
        indexes = {index for index, _ in placed}
        for index in range(1, primary.scale + 1):
            if index not in indexes:
                self._place(group, index)

    def _place_global(self, group: Group, placed: set[tuple[int, str]]) -> None:
        primary = group.primary
        used = {index for index, _ in placed}
        hosts = {host for _, host in placed}
        reasons: dict[str, str] = {}
        chosen = []
        for info in self.hosts:
            if info.name in hosts:
                continue
            # A host's fitness depends only on what that host runs, so every
            # host can be judged before any replica is added.
            why = self._judge(group, info)
            if why:
                reasons[info.name] = why
            else:
                chosen.append(info.name)
        for host in chosen:
            index = next(i for i in range(1, len(self.hosts) + len(used) + 2) if i not in used)
            used.add(index)
            self._create(primary, index, host, "global: one on every eligible host",
                         rejected=reasons)
            for service in group.members[1:]:
                self._create(service, index, host, f"sidekick of {primary.name} replica {index}",
                             rejected={})
        if not hosts and not chosen:
            self.errors[f"{primary.name} (global)"] = reasons
        if group.soft:
            self.warnings.append(f"{primary.name} is global: its soft rules "
                                 f"({', '.join(map(str, group.soft))}) choose no host")

    def _place(self, group: Group, index: int) -> None:
        primary = group.primary
        reasons: dict[str, str] = {}
        eligible = []
        for info in self.hosts:
            why = self._judge(group, info)
            if why:
                reasons[info.name] = why
            else:
                eligible.append(info.name)
        if not eligible:
            self.errors[f"{primary.name} #{index}"] = reasons
            return
        candidates, dropped = eligible, []
        for rule in group.soft:
            verdicts = {host: check(rule, self.board.hosts[host].all_labels,
                                    self.board.seen(host)) for host in candidates}
            fitting = [host for host in candidates if verdicts[host] is None]
            if not fitting:
                dropped.append(str(rule))
                continue
            for host in candidates:
                if verdicts[host] is not None:
                    reasons[host] = f"soft rule {verdicts[host]}"
            candidates = fitting

        def rank(host: str) -> tuple:
            return (self.board.count(host, primary.name), self.board.load(host), host)

        best = min(candidates, key=rank)
        for host in candidates:
            if host != best:
                reasons[host] = self._not_chosen(primary.name, host, best)
        count, load = self.board.count(best, primary.name), self.board.load(best)
        why = f"spread: {count} {primary.name} there, {float(load):g} containers per CPU"
        if dropped:
            why += f"; dropped soft rules: {', '.join(dropped)}"
        for service in group.members:
            if service is primary:
                self._create(service, index, best, why, rejected=reasons, dropped=tuple(dropped))
            else:
                self._create(service, index, best, f"sidekick of {primary.name} replica {index}",
                             rejected={})

    def _not_chosen(self, service: str, host: str, best: str) -> str:
        mine, theirs = self.board.count(host, service), self.board.count(best, service)
        if mine != theirs:
            return f"spread: runs {mine} {service}, {best} runs {theirs}"
        load, best_load = self.board.load(host), self.board.load(best)
        if load != best_load:
            return (f"more loaded: {float(load):g} containers per CPU, "
                    f"{best} has {float(best_load):g}")
        return f"as good as {best}, which comes first by name"

    def _judge(self, group: Group, info: HostInfo) -> str | None:
        """Why a host cannot take a new replica of `group` (offline included), or None."""
        if not info.online:
            return f"offline ({info.error or 'unreachable'})"
        return self._unfit(group, info.name, ())

    def _unfit(self, group: Group, host: str, exclude: list[str] | tuple) -> str | None:
        """Why `host` cannot take a replica of `group` (hard rules, ports, memory), or None."""
        labels = self.board.hosts[host].all_labels
        seen = self.board.seen(host, exclude)
        for rule in group.hard:
            why = check(rule, labels, seen)
            if why:
                return why
        for i, port in enumerate(group.ports):
            if any(port.collides(other) for other in group.ports[:i]):
                return f"port {port} is published twice by {group.primary.name} and its sidekicks"
            holder = self.board.port_holder(host, port, exclude)
            if holder:
                return f"port {port} is taken by {holder}"
        if group.memory:
            free = self.board.memory_free(host, exclude)
            if free is not None and free < group.memory:
                return (f"needs {group.memory // 2**20} MiB of memory, "
                        f"{max(free, 0) // 2**20} MiB unreserved")
        return None

    # Steps and the board.

    def _occupy(self, host: str, service: Service, index: int) -> None:
        self.board.add(host, f"{service.name}#{index}", Slot(
            replica_name(self.stack.name, service.name, index),
            replica_labels(self.stack, service, index),
            published_ports(service), memory_request(service), service.name))

    def _create(self, service: Service, index: int, host: str, reason: str, *,
                rejected: dict[str, str], dropped: tuple[str, ...] = ()) -> None:
        self._occupy(host, service, index)
        self._step(CREATE, service, index, host,
                   replica_name(self.stack.name, service.name, index), reason,
                   dropped=dropped, rejected=tuple(sorted(rejected.items())))

    def _step(self, action: str, service: Service, index: int, host: str, name: str,
              reason: str, **extra) -> None:
        extra.setdefault("config_hash", self.hashes.get(service.name))
        self.steps.append(Step(action, service.name, index, host, name, reason, **extra))

    def _remove(self, host: str, container: HostContainer, service: str, reason: str) -> None:
        self.steps.append(Step(REMOVE, service, container.replica or 0, host, container.name,
                               reason, container=container.id,
                               config_hash=container.labels.get(L.CONFIG_HASH)))


def kept_host(kept: dict[tuple[int, str], _Replica], index: int) -> str:
    """The host a replica index is kept on (for messages)."""
    return next(host for (i, host) in kept if i == index)
