"""Deploy, second half: converge the hosts to a prepared plan.

`apply()` runs the preflight on every host involved (images present or
obtainable, volumes and networks available, passwords recoverable) and stops
before any change if something is missing. Then it brings the images the
hosts lack (pulled or pushed, `image_plan.py`) and ships the files beside
the compose file they lack (`files.py`). Then each host converges on its own
thread (see `deploy/host.py`): stack record first (intent: a second
operator sees what is being deployed), networks and volumes, removals,
containers in dependency order, started, health. Every step is idempotent,
so an apply interrupted anywhere converges when run again, and stale
records go last.

Applying is one mutation for the gate (`backends/guard.py`): refused
before any host is touched when Corral is read-only, reported to the audit
observers otherwise, under the verb the plan was made for (`stack.deploy`,
`stack.scale`, `stack.reconcile`).

Blocking: run from a worker thread or the command line, never on the
backend loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corral.backends import guard
from corral.backends.deploy import lease, loadbalancer
from corral.backends.deploy.files_hosts import prune
from corral.backends.deploy.gather import FleetState, gather
from corral.backends.deploy.host import (
    HostWork,
    bring_files,
    bring_images,
    converge_host,
    preflight,
)
from corral.backends.deploy.objects import remove_volume
from corral.backends.deploy.overlay import move_to_overlay
from corral.backends.deploy.prepare import Prepared, Progress, ProgressCallback
from corral.backends.errors import DeployError
from corral.backends.plan.model import REMOVE, REPLACE
from corral.backends.ssh.fleet import Fleet
from corral.catalog.spec import Stack


@dataclass
class ApplyResult:
    """What an apply did.

    Attributes:
        prepared: The plan applied.
        unhealthy: Container name -> why, for those not healthy in time.
        errors: Host -> error, for hosts where converging stopped.
    """

    prepared: Prepared
    unhealthy: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every host converged and every container is healthy."""
        return not self.unhealthy and not self.errors


def apply(fleet: Fleet, prepared: Prepared, on_progress: ProgressCallback | None = None,
          *, health_timeout_ms: int | None = None) -> ApplyResult:
    """Converge the hosts to `prepared.plan`.

    Args:
        fleet: The connected fleet (with `.backend` set for health checks).
        prepared: From `prepare()`.
        on_progress: Called from worker threads for each step.
        health_timeout_ms: Override every health check's initializing timeout.

    Returns:
        What happened; `errors` name hosts where converging stopped (run
        the deploy again to converge).

    Raises:
        ActionRefused: Corral or the fleet is read-only; nothing changed.
        PreflightError: A host lacks images (none obtainable, or a transfer
            failed), volumes or networks; no container changed.
        DeployError: Password answers cannot be recovered; nothing changed.
        StackBusy: Another process holds the stack's lease; nothing changed.
    """
    with guard.mutating(prepared.verb, hosts=tuple(prepared.hosts_changed),
                        stack=prepared.stack.name, args=prepared.audit_args(),
                        readonly=fleet.readonly) as change:
        result = converge(fleet, prepared, on_progress, health_timeout_ms=health_timeout_ms)
        change.problems.update(result.errors)
        return result


def converge(fleet: Fleet, prepared: Prepared, on_progress: ProgressCallback | None = None,
             *, health_timeout_ms: int | None = None) -> ApplyResult:
    """`apply()` without the gate: for a verb that already holds it (`upgrade`)."""
    with lease.hold(fleet, prepared.stack.name, "deploy") as held:
        if not held.nested:
            check_current(fleet, prepared)
        return _apply(fleet, prepared, on_progress, health_timeout_ms)


def check_current(fleet: Fleet, prepared: Prepared) -> None:
    """Refuse a plan whose stack changed on the hosts since it was read.

    Called once the lease is taken when the plan was made without it (the
    console plans, the operator reads, then applies): another process may
    have acted in between, and its containers would look like strangers.

    Raises:
        DeployError: The stack's containers or records differ; nothing changed.
    """
    name = prepared.stack.name
    hosts = prepared.state.online

    def seen(state: FleetState) -> set[tuple[str, str]]:
        return ({(host, c.id) for host, c in state.containers(name) if host in hosts}
                | {(r.host, r.volume) for r in state.records
                   if r.stack == name and r.host in hosts})

    if seen(gather(fleet, hosts)) != seen(prepared.state):
        raise DeployError(f"stack {name} changed on the hosts since it was planned (another"
                          " Corral process acted on it); nothing changed: plan again")


def _apply(fleet: Fleet, prepared: Prepared, on_progress: ProgressCallback | None,
           health_timeout_ms: int | None) -> ApplyResult:
    report = on_progress or (lambda _: None)
    work = HostWork.build(fleet, prepared)
    preflight(fleet, prepared, work)
    bring_images(fleet, prepared, report)
    bring_files(fleet, prepared, report)
    if prepared.plan.overlay:
        move_to_overlay(fleet, prepared, {n for item in work.values() for n in item.networks},
                        report)
    hosts = sorted({*work, *prepared.missing_records})
    drain_balancers(fleet, prepared.stack, prepared.state.online, frozenset(
        s.name for s in prepared.plan.changes if s.action in (REMOVE, REPLACE)), report)
    results = fleet.query(
        lambda session: converge_host(session, fleet, prepared, work.get(session.name), report,
                                      health_timeout_ms),
        hosts=hosts)
    outcome = ApplyResult(prepared)
    for result in results:
        if result.ok:
            outcome.unhealthy.update(result.value or {})
        else:
            outcome.errors[result.host] = result.error.message  # type: ignore[union-attr]
    # Load balancers follow their targets: every apply of the stack (deploy,
    # scale, reconcile) regenerates their configuration where it changed.
    for host, problem in follow_balancers(fleet, prepared.stack, prepared.state.online,
                                          report).items():
        outcome.errors.setdefault(host, problem)
    if not outcome.errors:
        # A failure here leaves an old generation behind; the next apply removes it.
        for host, volume in prepared.stale_records:
            fleet.query(lambda session, name=volume: remove_volume(session, name), hosts=[host])
        prune(fleet, prepared, sorted(set(hosts) | {h for h, _ in prepared.stale_records}
                                      | {s.host for s in prepared.plan.final()}))
    return outcome


def drain_balancers(fleet: Fleet, stack: Stack, hosts: list[str], leaving: frozenset[str],
                    report: ProgressCallback) -> None:
    """Before the `leaving` containers go, the stack's load balancers stop choosing them.

    Each LB reloads without them and its old workers finish the requests they
    hold (`loadbalancer.refresh`); one still busy after `DRAIN_SECONDS` is
    reported and the apply goes on.
    """
    if not leaving:
        return
    drained = loadbalancer.refresh(fleet, stack, hosts, leaving)
    for host, name in drained.undrained:
        report(Progress(host, name, "config", "done",
                        f"old connections still open after {loadbalancer.DRAIN_SECONDS:g} s"
                        " of draining; going on"))


def follow_balancers(fleet: Fleet, stack: Stack, hosts: list[str],
                     report: ProgressCallback) -> dict[str, str]:
    """Regenerate the stack's load balancer configurations; host -> error."""
    balancers = loadbalancer.refresh(fleet, stack, hosts)
    for host, name in balancers.reloaded:
        report(Progress(host, name, "config", "done", "load balancer configuration reloaded"))
    for host, why in balancers.unreachable.items():
        report(Progress(host, "load balancer", "config", "failed", why))
    return balancers.errors
