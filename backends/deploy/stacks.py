"""Deployed stacks as the hosts describe them: list, scale, remove.

Everything here is derived from what the hosts hold (containers' labels and
the stack record volumes), so any Corral process with the inventory sees
the same stacks. Scaling and removing pass the gate (`backends/guard.py`)
as `stack.scale` and `stack.rm`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field

from corral.backends import guard
from corral.backends import labels as L
from corral.backends.deploy import lease, tombstone
from corral.backends.deploy.files_hosts import remove_files
from corral.backends.deploy.gather import FleetState, gather
from corral.backends.deploy.objects import (
    remove_container,
    remove_network,
    remove_overlay,
    remove_volume,
    stack_networks,
    stack_volumes,
)
from corral.backends.deploy.prepare import Prepared, Progress, ProgressCallback, prepare
from corral.backends.deploy.record import Definition
from corral.backends.errors import BackendError, NotFound, UnknownStack
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession
from corral.catalog.spec import MASK, Stack

#: The state of a stack whose upgrade awaits confirm or rollback.
UPGRADED = "upgraded"


@dataclass
class ServiceSummary:
    """One service of a deployed stack: wanted and actual containers."""

    name: str
    wanted: str
    running: int = 0
    total: int = 0
    hosts: list[str] = field(default_factory=list)


@dataclass
class StackSummary:
    """A deployed stack, from its record and its containers.

    Attributes:
        name: The stack name.
        definition: The latest recorded definition, or None (a stack whose
            record is missing or unreadable still shows its containers).
        services: Per service, wanted scale and what runs where.
        hosts: Hosts running any of its containers.
        previous: Old containers kept stopped by an upgrade awaiting confirm or rollback.
    """

    name: str
    definition: Definition | None
    services: list[ServiceSummary] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    previous: int = 0

    @property
    def state(self) -> str:
        """`unknown` (no record), `upgraded` (an upgrade awaits confirm or rollback),
        `degraded` (fewer running than wanted) or `active`.

        The one state of a stack: `corral stacks`, the console and the verbs that
        confirm or roll back all read it from the record, never from the `.prev`
        containers alone (an upgrade that only adds containers keeps none).
        """
        if self.definition is None:
            return "unknown"
        if self.definition.awaiting_decision:
            return UPGRADED
        short = any(s.wanted.isdigit() and s.running < int(s.wanted) for s in self.services)
        return "degraded" if short else "active"

    def to_dict(self) -> dict:
        """Plain data for `--json`; password answers never appear."""
        definition = self.definition
        answers = dict(definition.answers) if definition else {}
        for name in definition.secret_names if definition else ():
            answers[name] = MASK
        return {
            "name": self.name, "state": self.state,
            "entry": definition.stack.entry if definition else None,
            "version": definition.stack.version if definition else None,
            "generation": definition.generation if definition else None,
            "deployed_at": definition.deployed_at if definition else None,
            "answers": dict(sorted(answers.items())),
            "services": [dataclasses.asdict(s) for s in self.services],
            "hosts": self.hosts, "previous": self.previous,
        }


def summarize(state: FleetState) -> list[StackSummary]:
    """Every stack the hosts know, by name."""
    result = []
    for name in state.stacks():
        definition = state.definition(name)
        summary = StackSummary(name, definition)
        services: dict[str, ServiceSummary] = {}
        if definition is not None:
            for service in definition.stack.services:
                wanted = "global" if service.scheduling.is_global else str(service.scale)
                services[service.name] = ServiceSummary(service.name, wanted)
        hosts = set()
        for host, container in state.containers(name):
            hosts.add(host)
            if container.previous:
                summary.previous += 1
                continue
            service_name = container.labels.get(L.SERVICE, "?")
            item = services.setdefault(service_name, ServiceSummary(service_name, "?"))
            item.total += 1
            item.running += container.running
            if host not in item.hosts:
                item.hosts.append(host)
        summary.services = [services[n] for n in sorted(services)]
        summary.hosts = sorted(hosts)
        result.append(summary)
    return result


def find(state: FleetState, name: str) -> StackSummary:
    """The summary of stack `name`.

    Raises:
        UnknownStack: No online host knows it.
    """
    for summary in summarize(state):
        if summary.name == name:
            return summary
    raise UnknownStack(f"no online host knows a stack named {name!r}")


def scaled(definition: Definition, service: str, count: int) -> Stack:
    """The recorded stack with `service` (and its sidekicks) at `count` replicas.

    Raises:
        UnknownStack: No such service, or it is a sidekick or global (bad input).
    """
    stack = definition.stack
    names = {s.name for s in stack.services}
    if service not in names:
        raise UnknownStack(f"stack {stack.name} has no service {service!r}"
                           f" (services: {', '.join(sorted(names))})")
    target = stack.service(service)
    if target.sidekick_of:
        raise UnknownStack(f"{service} is a sidekick of {target.sidekick_of}: scale that instead")
    if target.scheduling.is_global:
        raise UnknownStack(f"{service} is global: it runs once on every eligible host")
    if count < 0:
        raise UnknownStack(f"scale must be 0 or more, not {count}")
    services = tuple(dataclasses.replace(s, scale=count)
                     if s.name == service or s.sidekick_of == service else s
                     for s in stack.services)
    return dataclasses.replace(stack, services=services)


def prepare_scale(fleet: Fleet, state: FleetState, stack: str, service: str,
                  count: int) -> Prepared:
    """Plan the recorded `stack` with `service` at `count` replicas (no change is made).

    Raises:
        UnknownStack: No record of the stack, or a service that cannot be scaled.
        PlanError: No placement satisfies the rules at that scale.
    """
    definition = state.definition(stack)
    if definition is None:
        raise UnknownStack(f"no online host holds a record of stack {stack!r}")
    prepared = prepare(fleet, scaled(definition, service, count), record=definition, state=state)
    prepared.verb = "stack.scale"  # applying it is a scale, for the gate and the audit
    prepared.verb_args = {"service": service, "count": count}
    return prepared


def volumes_of(state: FleetState, fleet: Fleet, name: str) -> dict[str, list[str]]:
    """The named volumes Corral created for stack `name`, per online host."""
    results = fleet.query(lambda session: stack_volumes(session, name), hosts=state.online)
    return {r.host: r.value for r in results if r.ok and r.value}  # type: ignore[misc]


def remove(fleet: Fleet, state: FleetState, name: str, *, volumes: bool,
           on_progress: ProgressCallback | None = None) -> dict[str, str]:
    """Remove a stack from every online host: containers, networks, records (volumes if asked).

    Holds the stack's lease, and first leaves a tombstone on every online host
    so no other process recreates the stack (see `tombstone`).

    Returns:
        Host -> error, for hosts that failed (run it again once they are back).

    Raises:
        ActionRefused: Corral or the fleet is read-only; nothing changed.
        StackBusy: Another process holds the stack's lease; nothing changed.
    """
    # Every online host: networks are left wherever containers once ran.
    with guard.mutating("stack.rm", hosts=tuple(state.online), stack=name,
                        args={"volumes": volumes}, readonly=fleet.readonly) as change, \
            lease.hold(fleet, name, "rm") as held:
        tombstone.bury(fleet, name)
        if not held.nested:  # read again: another process may have acted since `state`
            state = gather(fleet)
        change.problems.update(errors := _remove(fleet, state, name, volumes=volumes,
                                                 on_progress=on_progress))
        return errors


def _network_gone(host: str, stack: str, network: str, joined: list[str]) -> Progress:
    """The progress line of a stack network removed, or kept for the containers joined."""
    if not joined:
        return Progress(host, network, "network", "done", "removed")
    return Progress(host, network, "network", "done",
                    f"kept: {', '.join(joined)} still join it (another stack's external_links);"
                    f" deploying {stack} again reuses it, or `docker network rm {network}`"
                    f" on {host} once they left")


def _remove(fleet: Fleet, state: FleetState, name: str, *, volumes: bool,
            on_progress: ProgressCallback | None) -> dict[str, str]:
    report = on_progress or (lambda _: None)
    records = {r.host: [] for r in state.records if r.stack == name}
    for record in state.records:
        if record.stack == name:
            records[record.host].append(record.volume)
    containers: dict[str, list[tuple[str, str]]] = {}
    for host, container in state.containers(name):
        containers.setdefault(host, []).append((container.name, container.id))

    def work(session: HostSession) -> None:
        host = session.name
        for container_name, ref in sorted(containers.get(host, [])):
            report(Progress(host, container_name, "remove", "running"))
            remove_container(session, ref)
            report(Progress(host, container_name, "remove", "done"))
        # An overlay goes last, through a manager, once every host's containers left it.
        for network in stack_networks(session, name, scope="local"):
            report(_network_gone(host, name, network, remove_network(session, network)))
        if volumes:
            for volume in stack_volumes(session, name):
                remove_volume(session, volume)
                report(Progress(host, volume, "volume", "done", "removed"))
        if host in containers or host in records:
            # Before the records: a failure leaves the record, so `rm` again retries.
            remove_files(fleet, session, name)
            report(Progress(host, name, "files", "done", "shipped files removed"))
        for volume in records.get(host, []):
            remove_volume(session, volume)

    gone = {container_name for found in containers.values() for container_name, _ in found}

    def overlays(session: HostSession) -> None:
        for network in stack_networks(session, name, scope="swarm"):
            joined: list[str] = []
            with contextlib.suppress(NotFound):  # another manager removed it first
                joined = remove_overlay(session, network, gone)
            report(_network_gone(session.name, name, network, joined))

    errors = {}
    results = fleet.query(work, hosts=state.online)
    managers = [h.name for h in state.hosts if h.online and h.swarm_manager]
    if managers and all(result.ok for result in results):
        results += fleet.query(overlays, hosts=managers[:1])
    for result in results:
        if not result.ok:
            error = result.error
            errors[result.host] = error.message if isinstance(error, BackendError) else "failed"
    return errors
