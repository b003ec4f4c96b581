"""Reconcile: bring every deployed stack back to its record.

Corral has no server, so this only happens while someone runs it: `corral
reconcile` once, `corral reconcile --watch` in a loop, or the console on
request. Each pass:

1. probes the containers of services with a Rancher `health_check` through
   their host's SSH connection, and removes the unhealthy ones whose
   strategy allows it (`recreate`; `recreateOnQuorum` while enough
   containers of the service are healthy);
2. re-plans each stack from its record and applies the plan: replicas of
   offline hosts are placed on eligible online hosts, removed unhealthy
   ones are created again, and copies on a host that came back are removed
   so no service runs more than its scale.

Stacks with an upgrade awaiting confirm or rollback are left alone, and so
are the containers of `paused` hosts (the console's per-host "pause acting"
switch): an unhealthy one there is reported, not removed, and a stack whose
plan would change a paused host is left as it is, whole. With
`replace_lost=False` (the console's own passes) nothing is changed while a
host is offline: which replicas it held cannot be told from here, and a
short outage must not move containers; the operator reconciles on request.
Each change passes the gate (`backends/guard.py`): a stack re-applied as
`stack.reconcile`, an unhealthy container removed as `health.recreate`. A
read-only process or fleet probes and reports, and changes nothing (each
refusal lands in the report's errors).
Blocking: run from a worker thread or the command line.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from corral.backends import guard
from corral.backends import labels as L
from corral.backends.deploy import lease, tombstone
from corral.backends.deploy.apply import apply
from corral.backends.deploy.gather import FleetState, gather
from corral.backends.deploy.health import (
    HEALTHY,
    UNHEALTHY,
    Target,
    container_address,
    gateway_address,
    probe,
)
from corral.backends.deploy.health_track import HealthTracker, may_recreate
from corral.backends.deploy.objects import remove_container
from corral.backends.deploy.prepare import Prepared, ProgressCallback, prepare
from corral.backends.errors import BackendError, StackBusy
from corral.backends.ssh.fleet import Fleet


@dataclass
class ReconcileReport:
    """What one pass did, per stack, in words."""

    actions: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: Health of each running container with a Rancher check, by `host/name`,
    #: after this pass's probes (taken even while a host is offline).
    health: dict[str, str] = field(default_factory=dict)
    #: Each stack's state as `corral stacks` says it (`StackSummary.state`), when
    #: the caller read it (the console's health pass does).
    states: dict[str, str] = field(default_factory=dict)
    #: Stacks left alone because another process holds their lease: why, in one line.
    busy: dict[str, str] = field(default_factory=dict)

    def add(self, stack: str, line: str) -> None:
        """Note one thing done to `stack`."""
        self.actions.setdefault(stack, []).append(line)


def reconcile(fleet: Fleet, tracker: HealthTracker | None = None, *,
              stacks: list[str] | None = None, rounds: int | None = None,
              on_progress: ProgressCallback | None = None,
              health_timeout_ms: int | None = None,
              replace_lost: bool = True, state: FleetState | None = None,
              paused: frozenset[str] = frozenset()) -> ReconcileReport:
    """One reconcile pass over `stacks` (default every stack with a record).

    Args:
        fleet: The connected fleet (its `.backend` runs the probes).
        tracker: Health kept between passes (`--watch`); a fresh one otherwise.
        stacks: Only these stacks.
        rounds: Probe rounds in this pass; default enough to reach each
            check's `unhealthy_threshold` (one-shot), 1 is right for `--watch`.
        on_progress: Progress of the applies.
        health_timeout_ms: Wait at most this long for new containers' health.
        replace_lost: Re-place replicas while a host is offline; if False,
            a pass with a host offline changes nothing and says so.
        state: Hosts already read (saves reading them again).
        paused: Hosts nothing may be changed on.

    Raises:
        SameEngine: Two inventory hosts are one engine: nothing was changed.
    """
    tracker = tracker or HealthTracker()
    report = ReconcileReport()
    state = state or gather(fleet)
    names = [n for n in state.stacks() if stacks is None or n in stacks]
    offline = [host.name for host in state.hosts if not host.online]
    if offline and not replace_lost:
        # Probing changes nothing: health stays current while the pass waits.
        _health_pass(fleet, state, tracker, names, report, rounds, act=False, paused=paused)
        for name in names:
            report.add(name, f"{', '.join(offline)} offline: nothing re-placed or recreated"
                             " until you reconcile")
        return report
    if _health_pass(fleet, state, tracker, names, report, rounds, paused=paused):
        state = gather(fleet)
    for name in names:
        prepared = _planned(fleet, state, name, report, paused)
        if prepared is None:
            continue
        try:
            with lease.hold(fleet, name, "reconcile") as held:
                if not held.nested:  # another process may have acted since `state`
                    state = gather(fleet)
                    prepared = _planned(fleet, state, name, report, paused)
                    if prepared is None:
                        continue
                result = apply(fleet, prepared, on_progress,
                               health_timeout_ms=health_timeout_ms)
        except StackBusy as exc:
            report.busy[name] = exc.message
            continue
        except BackendError as exc:
            report.errors[name] = str(exc)
            continue
        for step in prepared.plan.changes:  # once applied: a refused plan did nothing
            report.add(name, f"{step.action} {step.name} on {step.host}: {step.reason}")
        for host, error in result.errors.items():
            report.errors[name] = f"{host}: {error}"
        state = gather(fleet)  # the next stack plans against what this one changed
    return report


def _planned(fleet: Fleet, state: FleetState, name: str, report: ReconcileReport,
             paused: frozenset[str]) -> Prepared | None:
    """The plan that brings `name` back to its record, or None (nothing to do, or why
    not, noted in `report`). Looked at once before taking the lease (a stack with
    nothing to do costs no lease) and again under it."""
    definition = state.definition(name)
    if definition is None:
        if name in state.stacks():  # not removed meanwhile
            gone = tombstone.find(fleet, name)
            report.errors[name] = (f"{gone.describe()}; its leftovers stay until you remove"
                                   " it again" if gone else
                                   "no readable stack record on the online hosts")
        return None
    if definition.awaiting_decision:
        report.add(name, "upgrade awaiting confirm or rollback: left alone")
        return None
    try:
        prepared = prepare(fleet, definition.stack, record=definition, state=state)
    except BackendError as exc:
        report.errors[name] = str(exc)
        return None
    if prepared.no_op:
        return None
    held = sorted(set(prepared.hosts_changed) & paused)
    if held:
        report.add(name, f"acting on {', '.join(held)} is paused: "
                         f"{len(prepared.plan.changes)} change(s) not made")
        return None
    gone = tombstone.find(fleet, name, after=definition.deployed_at)
    if gone is not None:
        report.add(name, f"{gone.describe()}: not recreated")
        return None
    prepared.verb = "stack.reconcile"
    return prepared


@dataclass(frozen=True)
class _Watched:
    """A running container with a Rancher health check."""

    stack: str
    service: str
    target: Target
    created: float


def _health_pass(fleet: Fleet, state: FleetState, tracker: HealthTracker, names: list[str],
                 report: ReconcileReport, rounds: int | None, act: bool = True,
                 paused: frozenset[str] = frozenset()) -> bool:
    """Probe, update `tracker`, remove what may be recreated (unless not `act`).

    Returns:
        Whether something was removed.
    """
    watched = _watched(fleet, state, names)
    tracker.forget({item.target.key for item in watched})
    if not watched or fleet.backend is None:
        return False
    count = rounds or max(item.target.check.unhealthy_threshold for item in watched)
    pause = min(min(item.target.check.interval for item in watched) / 1000, 1.0)
    for number in range(count):
        pending = [item for item in watched if number == 0
                   or tracker.state(item.target.key) not in (HEALTHY, UNHEALTHY)]
        if not pending:
            break
        if number:
            time.sleep(pause)
        errors = fleet.backend.run(_probe_all(
            [(fleet.sessions[item.target.host], item.target) for item in pending]))
        now = time.time()
        for item, error in zip(pending, errors, strict=True):
            tracker.update(item.target.key, item.target.check, error,
                           (now - item.created) * 1000)
    by_service: dict[tuple[str, str], list[_Watched]] = {}
    for item in watched:
        by_service.setdefault((item.stack, item.service), []).append(item)
    removed = False
    for (stack, _), items in sorted(by_service.items()) if act else ():
        healthy = sum(tracker.state(item.target.key) == HEALTHY for item in items)
        for item in items:
            if item.target.host in paused:
                if tracker.state(item.target.key) == UNHEALTHY:
                    report.add(stack, f"{item.target.container} on {item.target.host} is "
                                      "unhealthy; acting on the host is paused")
                continue
            removed |= _recreate(fleet, tracker, report, stack, item.target, healthy)
    # After removals: a removed container's replacement starts `initializing`.
    report.health = {item.target.key: tracker.state(item.target.key) for item in watched}
    return removed


def _recreate(fleet: Fleet, tracker: HealthTracker, report: ReconcileReport, stack: str,
              target: Target, healthy: int) -> bool:
    """Remove an unhealthy container if its strategy allows; True when removed."""
    health = tracker.containers.get(target.key)
    if health is None or health.state != UNHEALTHY:
        return False
    if not may_recreate(target.check, healthy):
        report.add(stack, f"{target.container} on {target.host} is unhealthy"
                          f" ({health.last_error}); strategy {target.check.strategy} keeps it")
        return False
    try:
        with lease.hold(fleet, stack, "reconcile"), \
                guard.mutating("health.recreate", hosts=target.host, stack=stack,
                               target=target.container, args={"reason": health.last_error},
                               readonly=fleet.readonly):
            remove_container(fleet.sessions[target.host], target.container)
    except StackBusy as exc:
        report.busy[stack] = exc.message
        return False
    except BackendError as exc:
        report.errors[stack] = str(exc)
        return False
    report.add(stack, f"removed unhealthy {target.container} on {target.host}"
                      f" ({health.last_error}) to recreate it")
    tracker.containers.pop(target.key, None)
    return True


def _watched(fleet: Fleet, state: FleetState, names: list[str]) -> list[_Watched]:
    """Every running container of `names` whose service has a health_check."""
    watched = []
    for name in names:
        definition = state.definition(name)
        if definition is None or definition.awaiting_decision:
            continue
        checks = {s.name: s.health_check for s in definition.stack.services if s.health_check}
        for host, container in state.containers(name):
            service = container.labels.get(L.SERVICE, "")
            if service not in checks or container.previous or not container.running:
                continue
            try:
                inspect = fleet.sessions[host].call(
                    lambda client, ref=container.id: client.api.inspect_container(ref))
            except BackendError:
                continue
            # On a swarm host the container may be on an overlay the host cannot route to.
            address = (gateway_address(fleet.sessions[host], inspect.get("Id", ""))
                       if state.host(host).swarm else None) or container_address(inspect)
            if address:
                target = Target(host, container.name, address, checks[service])
                watched.append(_Watched(name, service, target, container.created))
    return watched


async def _probe_all(items) -> list[str | None]:
    return await asyncio.gather(*(probe(session, target) for session, target in items))
