"""Upgrade with confirm or rollback, as Rancher 1.6 did it.

An upgrade applies a plan like a deploy, except that nothing it replaces or
removes is deleted: the old container is stopped and renamed `NAME.prev`
(labels cannot change on an existing container, names can), and the old
generation's stack record is kept. Replacements go service by service
(dependencies first), `batch_size` at a time with `interval` between
batches; with `start_first` the new container starts (and must turn
healthy) before the old one stops, unless both would publish the same
host port.

`confirm()` deletes the `.prev` containers and the old record; `rollback()`
deletes the containers the upgrade created (they carry its generation) and
restores the `.prev` ones under their names, started, with the old record.

Each verb is one mutation for the gate (`backends/guard.py`):
`stack.upgrade`, `stack.confirm`, `stack.rollback`.

Blocking: run from a worker thread or the command line.
"""

from __future__ import annotations

import dataclasses
import time

from corral.backends import guard
from corral.backends import labels as L
from corral.backends.deploy import lease
from corral.backends.deploy.apply import (
    ApplyResult,
    check_current,
    converge,
    drain_balancers,
    follow_balancers,
)
from corral.backends.deploy.gather import FleetState, gather
from corral.backends.deploy.host import (
    HostWork,
    bring_images,
    check_health,
    create_container,
    preflight,
)
from corral.backends.deploy.objects import (
    ensure_network,
    ensure_volume,
    remove_container,
    remove_volume,
    write_record,
)
from corral.backends.deploy.overlay import move_to_overlay
from corral.backends.deploy.prepare import Prepared, Progress, ProgressCallback
from corral.backends.deploy.record import Definition
from corral.backends.errors import BackendError, DeployError
from corral.backends.plan.board import published_ports, service_order
from corral.backends.plan.model import CREATE, REMOVE, REPLACE, START, Step
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession


def upgrade(fleet: Fleet, prepared: Prepared, on_progress: ProgressCallback | None = None,
            *, health_timeout_ms: int | None = None) -> ApplyResult:
    """Apply `prepared` (from `prepare(..., upgrade=True)`) keeping the old containers.

    Raises:
        ActionRefused: Corral or the fleet is read-only; nothing changed.
        PreflightError: A host lacks images, volumes or networks; nothing changed.
        DeployError: Passwords cannot be recovered; nothing changed.
        StackBusy: Another process holds the stack's lease; nothing changed.
    """
    with guard.mutating("stack.upgrade", hosts=tuple(prepared.hosts_changed),
                        stack=prepared.stack.name, args=prepared.audit_args(),
                        readonly=fleet.readonly) as change, \
            lease.hold(fleet, prepared.stack.name, "upgrade") as held:
        if not held.nested:
            check_current(fleet, prepared)
        result = _upgrade(fleet, prepared, on_progress, health_timeout_ms)
        change.problems.update(result.errors)
        return result


def _upgrade(fleet: Fleet, prepared: Prepared, on_progress: ProgressCallback | None,
             health_timeout_ms: int | None) -> ApplyResult:
    if not prepared.definition.awaiting_decision:
        # Nothing to keep for a rollback (no container changes): a plain apply
        # writes the new record and removes the old one.
        return converge(fleet, prepared, on_progress, health_timeout_ms=health_timeout_ms)
    report = on_progress or (lambda _: None)
    outcome = ApplyResult(prepared)
    work = HostWork.build(fleet, prepared)
    preflight(fleet, prepared, work)
    if prepared.plan.overlay:
        move_to_overlay(fleet, prepared, {n for item in work.values() for n in item.networks},
                        report, upgrade=True)
    bring_images(fleet, prepared, report)

    def setup(session: HostSession) -> None:
        if session.name in prepared.missing_records:
            write_record(session, prepared.definition)
            report(Progress(session.name, f"record generation {prepared.definition.generation}",
                            "record", "done"))
        item = work.get(session.name)
        # On an overlay, `move_to_overlay` made the stack's networks through a manager.
        for network in sorted(item.networks if item and not prepared.plan.overlay else ()):
            ensure_network(session, prepared.stack, network)
        for volume, replica in sorted(item.volumes if item else ()):
            ensure_volume(session, prepared.stack, volume, replica)

    _collect(outcome, fleet.query(setup, hosts=sorted({*work, *prepared.missing_records})))
    if outcome.errors:
        return outcome
    for name in service_order(prepared.stack):
        steps = [s for s in prepared.plan.changes if s.service == name]
        if not steps:
            continue
        service = prepared.stack.service(name)
        strategy = service.upgrade_strategy
        batch = max(1, strategy.batch_size if strategy else 1)
        replaces = [s for s in steps if s.action == REPLACE]
        others = [s for s in steps if s.action != REPLACE]
        batches = [others] if others else []
        batches += [replaces[i:i + batch] for i in range(0, len(replaces), batch)]
        for number, chunk in enumerate(batches):
            if number and batches[number - 1][0].action == REPLACE and strategy:
                time.sleep(strategy.interval / 1000)
            # A rolling upgrade behind a load balancer: each batch's old containers
            # leave it before they stop, and its new ones join it once healthy.
            leaving = frozenset(s.name for s in chunk if s.action in (REMOVE, REPLACE))
            drain_balancers(fleet, prepared.stack, prepared.state.online, leaving, report)
            _run_batch(fleet, prepared, work, chunk, report, health_timeout_ms, outcome)
            if outcome.errors:
                return outcome
            if leaving:
                follow_balancers(fleet, prepared.stack, prepared.state.online, report)
    follow_balancers(fleet, prepared.stack, prepared.state.online, report)
    return outcome


def _collect(outcome: ApplyResult, results) -> None:
    for result in results:
        if result.ok:
            outcome.unhealthy.update(result.value or {})
        else:
            outcome.errors[result.host] = result.error.message


def _run_batch(fleet: Fleet, prepared: Prepared, work: dict[str, HostWork], steps: list[Step],
               report: ProgressCallback, timeout_ms: int | None, outcome: ApplyResult) -> None:
    """One batch, its hosts in parallel: each host runs its steps, then waits for health."""
    by_host: dict[str, list[Step]] = {}
    for step in steps:
        by_host.setdefault(step.host, []).append(step)

    def run(session: HostSession) -> dict[str, str]:
        started, stop_after = [], []
        for step in by_host[session.name]:
            report(Progress(session.name, step.name, step.action, "running"))
            try:
                old = _one_step(session, prepared, work[session.name], step)
            except BackendError as exc:
                report(Progress(session.name, step.name, step.action, "failed", exc.message))
                raise
            report(Progress(session.name, step.name, step.action, "done"))
            if step.action != REMOVE:
                started.append(step)
            if old:
                stop_after.append(old)
        unhealthy = check_health(session, fleet, prepared, started, report, timeout_ms)
        # start_first: the old container served until the new one was up.
        for old in stop_after:
            session.call(lambda client, ref=old: client.api.stop(ref, timeout=10))
        return unhealthy

    _collect(outcome, fleet.query(run, hosts=sorted(by_host)))


def _one_step(session: HostSession, prepared: Prepared, work: HostWork,
              step: Step) -> str | None:
    """Do one step; returns an old container still to stop (start_first), else None."""
    if step.action == START:
        session.call(lambda client: client.api.start(step.name))
        return None
    if step.action == REMOVE:
        _keep_previous(session, step, stop=True)
        return None
    service = prepared.stack.service(step.service)
    body, extra = work.bodies[step.name]
    start_first = False
    if step.action == REPLACE:
        strategy = service.upgrade_strategy
        # Two containers cannot publish one host port: those replace stop-first.
        start_first = bool(strategy and strategy.start_first and not published_ports(service))
        _keep_previous(session, step, stop=not start_first)
    create_container(session, dataclasses.replace(step, action=CREATE), body, extra,
                     service.start_on_create)
    return f"{step.name}{L.PREVIOUS_SUFFIX}" if start_first else None


def _keep_previous(session: HostSession, step: Step, stop: bool) -> None:
    """Rename (and stop) the container a step replaces or removes, for a rollback."""
    previous = f"{step.name}{L.PREVIOUS_SUFFIX}"
    if stop:
        session.call(lambda client: client.api.stop(step.container, timeout=10))
    try:
        session.call(lambda client: client.api.rename(step.container, previous))
    except BackendError as exc:
        raise DeployError(f"cannot keep {step.name} as {previous}: {exc.message}",
                          host=session.name) from exc


def pending(state: FleetState, stack: str) -> Definition:
    """The definition of an upgrade awaiting confirm or rollback.

    Raises:
        DeployError: The stack has no such upgrade.
    """
    definition = state.definition(stack)
    if definition is None:
        raise DeployError(f"no online host holds a record of stack {stack!r}")
    if not definition.awaiting_decision:
        raise DeployError(f"stack {stack} has nothing pending: no upgrade awaits confirm or"
                          " rollback")
    return definition


def confirm(fleet: Fleet, state: FleetState, stack: str,
            on_progress: ProgressCallback | None = None) -> dict[str, str]:
    """Keep an upgrade: delete the `.prev` containers and the old generation's record.

    Returns:
        Host -> error for hosts that failed (confirm again to finish).

    Raises:
        DeployError: Nothing awaits confirm.
        ActionRefused: Corral or the fleet is read-only; nothing changed.
        StackBusy: Another process holds the stack's lease; nothing changed.
    """
    return _leased(fleet, state, stack, "confirm", _confirm, on_progress)


def _confirm(fleet: Fleet, state: FleetState, stack: str,
             on_progress: ProgressCallback | None) -> dict[str, str]:
    report = on_progress or (lambda _: None)
    definition = pending(state, stack)
    generations = [r.generation for r in state.records if r.stack == stack]
    done = dataclasses.replace(definition, generation=max(generations) + 1, upgrade_from=None,
                               deployed_at=time.time())
    holders = sorted({r.host for r in state.records
                      if r.stack == stack and r.generation == definition.generation})

    def run(session: HostSession) -> None:
        if session.name in holders:
            write_record(session, done)
        for host, container in state.containers(stack):
            if host == session.name and container.previous:
                remove_container(session, container.id)
                report(Progress(host, container.name, REMOVE, "done"))
        for record in state.records:
            if record.stack == stack and record.host == session.name:
                remove_volume(session, record.volume)

    # Once the replaced containers are gone, the load balancers stop listing them.
    return _on_every_host(fleet, state, "stack.confirm", stack, run,
                          {"generation": definition.generation},
                          after=lambda: follow_balancers(fleet, definition.stack,
                                                         state.online, report))


def rollback(fleet: Fleet, state: FleetState, stack: str,
             on_progress: ProgressCallback | None = None) -> dict[str, str]:
    """Undo an upgrade: the old containers come back exactly, the new ones go.

    Returns:
        Host -> error for hosts that failed (roll back again to finish).

    Raises:
        DeployError: Nothing awaits rollback.
        ActionRefused: Corral or the fleet is read-only; nothing changed.
        StackBusy: Another process holds the stack's lease; nothing changed.
    """
    return _leased(fleet, state, stack, "rollback", _rollback, on_progress)


def _rollback(fleet: Fleet, state: FleetState, stack: str,
              on_progress: ProgressCallback | None) -> dict[str, str]:
    report = on_progress or (lambda _: None)
    definition = pending(state, stack)
    generation = str(definition.generation)

    def upgraded(container) -> bool:
        return not container.previous and container.labels.get(L.GENERATION) == generation

    def run(session: HostSession) -> None:
        mine = [c for host, c in state.containers(stack) if host == session.name]
        for container in mine:
            if upgraded(container):
                remove_container(session, container.id)
                report(Progress(session.name, container.name, REMOVE, "done"))
        for container in mine:
            if container.previous:
                name = container.name.removesuffix(L.PREVIOUS_SUFFIX)
                session.call(lambda client, c=container, n=name: client.api.rename(c.id, n))
                session.call(lambda client, c=container: client.api.start(c.id))
                report(Progress(session.name, name, "restore", "done"))
        for record in state.records:
            if record.host == session.name and record.stack == stack \
                    and record.generation == definition.generation:
                remove_volume(session, record.volume)

    # The upgrade's containers leave the load balancers before they go.
    leaving = frozenset(c.name for _, c in state.containers(stack) if upgraded(c))
    # The restored containers come back on new addresses, under the old definition.
    restored = next((r.definition for r in state.records if r.stack == stack
                     and r.generation == definition.upgrade_from and r.definition), definition)
    return _on_every_host(fleet, state, "stack.rollback", stack, run,
                          {"generation": definition.generation, "to": definition.upgrade_from},
                          before=lambda: drain_balancers(fleet, definition.stack, state.online,
                                                         leaving, report),
                          after=lambda: follow_balancers(fleet, restored.stack, state.online,
                                                          report))


def _leased(fleet: Fleet, state: FleetState, stack: str, operation: str, body,
            on_progress: ProgressCallback | None) -> dict[str, str]:
    """`body(fleet, state, stack, on_progress)` holding the stack's lease."""
    with lease.hold(fleet, stack, operation) as held:
        if not held.nested:  # read again: another process may have acted since `state`
            state = gather(fleet)
        return body(fleet, state, stack, on_progress)


def _on_every_host(fleet: Fleet, state: FleetState, verb: str, stack: str, run,
                   args: dict[str, object], after=None, before=None) -> dict[str, str]:
    """`run` on every online host through the gate; host -> error for those that failed.

    `before()` and `after()`, if given, run first and next inside the same gate
    (`after` returns host -> error too).
    """
    with guard.mutating(verb, hosts=tuple(state.online), stack=stack, args=args,
                        readonly=fleet.readonly) as change:
        if before is not None:
            before()
        errors = _errors(fleet.query(run, hosts=state.online))
        if after is not None:
            errors = {**after(), **errors}
        change.problems.update(errors)
        return errors


def _errors(results) -> dict[str, str]:
    return {r.host: r.error.message for r in results if not r.ok}
