"""The console's stack changes: plan, apply or upgrade, confirm or roll back, health passes.

The same backend calls as `corral plan | deploy | upgrade | confirm |
rollback | reconcile --watch`. Every method blocks (docker-py over SSH):
call them from worker threads only. One lock serializes what changes
hosts, so the console's periodic health pass never converges a stack
while the console applies, confirms or rolls it back.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from corral.backends.errors import DeployError, PreflightError, UnknownStack
from corral.backends.ssh import Fleet

if TYPE_CHECKING:
    from corral.backends.deploy import (
        ApplyResult,
        Definition,
        HealthTracker,
        Prepared,
        ProgressCallback,
        ReconcileReport,
    )
    from corral.backends.images import BundleSource
    from corral.catalog.answers import Answers
    from corral.catalog.spec import Stack

# The deploy package (the planner, the renderer, every step: ~0.1 s of imports) is
# imported by the methods that use it, on a worker thread, the first time the console
# plans or runs a health pass: not before the console's first frame.


@dataclass
class Planned:
    """A plan the console may apply.

    Attributes:
        prepared: The plan and what applying it needs.
        upgrade: The stack exists: applying keeps the replaced containers
            until the upgrade is confirmed or rolled back.
        preflight: What the hosts lack (images…); such a plan cannot be applied.
    """

    prepared: Prepared
    upgrade: bool = False
    preflight: PreflightError | None = None

    @property
    def hosts(self) -> list[str]:
        """The hosts applying would change."""
        prepared = self.prepared
        return sorted({s.host for s in prepared.plan.changes} | set(prepared.missing_records)
                      | {host for host, _ in prepared.stale_records})

    @property
    def ready(self) -> bool:
        """Whether there is something to apply and nothing stands in the way."""
        return self.preflight is None and not self.prepared.no_op


class DeployFlow:
    """What the console changes on stacks, one change at a time.

    Args:
        fleet: The connected fleet.
    """

    def __init__(self, fleet: Fleet):
        self.fleet = fleet
        #: Held while hosts change; the health pass skips its turn rather than wait.
        self.lock = threading.Lock()
        self._tracker: HealthTracker | None = None
        #: Hosts the health pass and reconcile must not change (`P` on the hosts
        #: view). Kept for this console session only, on purpose: a pause is an
        #: operator's "hands off while I work on it"; one remembered across
        #: restarts would leave a host silently unhealed long after the work
        #: ended, and `corral reconcile --watch` elsewhere never knew it anyway.
        self.paused: set[str] = set()
        #: The record volumes and stack states the last full health pass read.
        self._last_pass: tuple[frozenset[tuple[str, str]], dict[str, str]] | None = None

    @property
    def tracker(self) -> HealthTracker:
        """Health kept between passes, as `reconcile --watch` keeps it."""
        if self._tracker is None:
            from corral.backends.deploy import HealthTracker
            self._tracker = HealthTracker()
        return self._tracker

    def toggle_pause(self, host: str) -> bool:
        """Pause acting on `host`, or resume it; returns whether it is now paused."""
        if host in self.paused:
            self.paused.discard(host)
            return False
        self.paused.add(host)
        return True

    def plan(self, stack: Stack, answers: Answers, *,
             bundle: BundleSource | None = None) -> Planned:
        """Read every host and plan `stack`; an existing stack is planned as an upgrade.

        Args:
            stack: The rendered stack.
            answers: Its answers.
            bundle: The bundle its entry came from: the images it holds are pushed from it.

        Raises:
            PlanError: No placement satisfies the rules.
            DeployError: An upgrade of the stack awaits confirm or rollback.
            BackendError: Reading the hosts failed.
            DeployError: The inventory says `engine: swarm` (the console deploys
                standalone stacks only).
        """
        from corral.backends.deploy import HostWork, gather, preflight, prepare
        inventory = getattr(self.fleet, "inventory", None)
        if getattr(inventory, "engine", "") == "swarm":  # never a standalone stack by mistake
            raise DeployError(
                f"the inventory says engine: swarm, and the console deploys standalone stacks"
                f" only: deploy {stack.name} as Swarm services with `corral deploy ENTRY|FILE"
                f" --stack {stack.name}` (or `corral plan` to see what Swarm is asked);"
                " the stacks view then scales, rolls back and removes it")
        state = gather(self.fleet)
        exists = state.definition(stack.name) is not None
        prepared = prepare(self.fleet, stack, answers, state=state, upgrade=exists,
                           bundle=bundle)
        planned = Planned(prepared, upgrade=exists)
        if prepared.no_op:
            return planned
        try:  # the same check apply() starts with, shown before anyone confirms
            preflight(self.fleet, prepared, HostWork.build(self.fleet, prepared))
        except PreflightError as exc:
            planned.preflight = exc
        return planned

    def apply(self, planned: Planned, on_progress: ProgressCallback) -> ApplyResult:
        """Apply (or upgrade) as planned; waits for a health pass in progress.

        Raises:
            PreflightError: A host lacks images, volumes or networks; nothing changed.
            StackBusy: Another process holds the stack's lease; nothing changed.
            DeployError: The stack changed on the hosts since it was planned.
            BackendError: The apply could not start.
        """
        from corral.backends.deploy import apply, explicit_deploy, upgrade
        # An explicit deploy: lifts the tombstone a `rm` left (see `tombstone`).
        run = explicit_deploy(upgrade if planned.upgrade else apply)
        with self.lock:
            return run(self.fleet, planned.prepared, on_progress)

    def deployed(self, stack: str) -> Definition:
        """The stack's latest record (answers without passwords, spec, scales).

        Raises:
            UnknownStack: No online host holds a readable record of it.
        """
        from corral.backends.deploy import gather
        definition = gather(self.fleet).definition(stack)
        if definition is None:
            raise UnknownStack(f"no online host holds a readable record of stack {stack!r}")
        return definition

    def pending_upgrade(self, stack: str) -> tuple[str, list[str]]:
        """The stack's state as `corral stacks` says it, and its old containers.

        Returns:
            The state (`upgraded` when an upgrade awaits confirm or rollback)
            and `host/name` of the containers the upgrade keeps stopped.

        Raises:
            UnknownStack: No online host knows the stack.
        """
        from corral.backends.deploy import find, gather
        state = gather(self.fleet)
        summary = find(state, stack)
        old = sorted(f"{host}/{c.name}" for host, c in state.containers(stack) if c.previous)
        return summary.state, old

    def settle_upgrade(self, stack: str, keep: bool,
                       on_progress: ProgressCallback | None = None) -> dict[str, str]:
        """Confirm (`keep`) or roll back the upgrade of `stack` awaiting a decision.

        Returns:
            Host -> error for hosts that failed (do it again to finish).

        Raises:
            DeployError: The stack has no upgrade awaiting a decision.
        """
        from corral.backends.deploy import confirm, gather, rollback
        with self.lock:
            decide = confirm if keep else rollback
            return decide(self.fleet, gather(self.fleet), stack, on_progress)

    def scale(self, stack: str, service: str, count: int) -> ApplyResult:
        """Re-plan the recorded stack with `service` at `count` replicas and apply it.

        Raises:
            UnknownStack: No record, or a service that cannot be scaled.
            PlanError: No placement at that scale; nothing changed.
        """
        from corral.backends.deploy import apply, gather, prepare_scale
        with self.lock:
            return apply(self.fleet, prepare_scale(self.fleet, gather(self.fleet), stack,
                                                   service, count))

    def remove_stack(self, stack: str) -> dict[str, str]:
        """Remove the stack's containers, networks and records; its named volumes stay.

        Returns:
            Host -> error for hosts that failed or are offline (remove again to finish).
        """
        from corral.backends.deploy import gather, remove
        with self.lock:
            state = gather(self.fleet)
            errors = remove(self.fleet, state, stack, volumes=False)
        for host in state.hosts:
            if not host.online:
                errors.setdefault(host.name, "offline: remove the stack again once it is back")
        return errors

    def health_pass(self, changed: bool = True) -> ReconcileReport | None:
        """One health pass over the stacks with a record, as `reconcile --watch`
        but changing nothing while a host is offline (see `reconcile_now`).

        Args:
            changed: Whether containers or hosts changed since the last pass.
                If not, the pass first reads only the stack records' names
                (one small call a host) and, when they are those of the last
                pass, reports what that pass found without reading more.

        Returns:
            What the pass did, or None when it skipped its turn because the
            console is changing a stack.
        """
        from corral.backends.deploy import (
            ReconcileReport,
            gather,
            reconcile,
            record_volumes,
            summarize,
        )
        if not self.lock.acquire(blocking=False):
            return None
        try:
            seen = self._last_pass
            if not changed and seen is not None and record_volumes(self.fleet) == seen[0]:
                return ReconcileReport(states=dict(seen[1]))
            state = gather(self.fleet)
            # The state the stacks view shows: the one `corral stacks` prints.
            states = {summary.name: summary.state for summary in summarize(state)}
            self._last_pass = state.record_volumes(), states
            managed = [name for name in state.stacks() if state.definition(name) is not None]
            if not managed:
                self.tracker.forget(set())
                return ReconcileReport(states=states)
            report = reconcile(self.fleet, self.tracker, stacks=managed, rounds=1,
                               replace_lost=False, state=state,
                               paused=frozenset(self.paused))
            report.states = states
            return report
        finally:
            self.lock.release()

    def reconcile_now(self, stack: str | None = None) -> ReconcileReport:
        """A full `corral reconcile` pass, on request: replicas of offline hosts are re-placed.

        Args:
            stack: Only this stack (default: every stack with a record).
        """
        from corral.backends.deploy import reconcile
        with self.lock:
            return reconcile(self.fleet, self.tracker,
                             stacks=[stack] if stack is not None else None,
                             paused=frozenset(self.paused))
