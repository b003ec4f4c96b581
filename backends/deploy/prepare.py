"""Deploy, first half: read the hosts and plan; nothing changes on any host.

`prepare()` reads every host, computes each service's configuration hash,
plans, and works out the stack record: the same definition as the latest
record keeps its generation (so re-applying is a no-op), a different one
gets the next generation.

Blocking: run from a worker thread or the command line, never on the
backend loop.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from corral.backends import labels as L
from corral.backends.deploy import loadbalancer
from corral.backends.deploy.body import config_hash
from corral.backends.deploy.carry import kept_secrets
from corral.backends.deploy.diff import FieldChange, stack_changes
from corral.backends.deploy.files import localize, mark_builds, secret_variables
from corral.backends.deploy.files_hosts import FilePlan, plan_host_paths
from corral.backends.deploy.gather import FleetState, gather
from corral.backends.deploy.record import Definition, definition_of
from corral.backends.deploy.secret_files import settle
from corral.backends.deploy.secret_tokens import fresh, from_record, tokens_for
from corral.backends.errors import DeployError, UpgradePending
from corral.backends.images import BundleSource
from corral.backends.plan.model import REPLACE, Plan
from corral.backends.plan.planner import overlay_span
from corral.backends.plan.planner import plan as make_plan
from corral.backends.ssh.fleet import Fleet
from corral.catalog.answers import Answers
from corral.catalog.spec import MASK, Stack


@dataclass(frozen=True)
class Progress:
    """One thing happening during an apply, for a progress display.

    Attributes:
        host: The host.
        name: The container (or network, volume, record) concerned.
        action: `create`, `replace`, `start`, `remove`, `network`, `volume`,
            `record` or `health`.
        state: `running`, `done`, `failed`, `healthy` or `unhealthy`.
        detail: More words (an error, a health failure).
    """

    host: str
    name: str
    action: str
    state: str
    detail: str = ""


ProgressCallback = Callable[[Progress], None]


@dataclass
class Prepared:
    """A plan and everything needed to apply it.

    Attributes:
        stack: The stack to deploy (from a render, or from a record).
        definition: What the hosts will record.
        previous: The latest recorded definition, if the stack exists.
        state: The hosts as read.
        hashes: Configuration hash per service.
        plan: The plan.
        from_record: True when the spec came from a record: password answers
            are masked and are copied from running replicas.
        record_hosts: Hosts that will hold the current record.
        stale_records: (host, volume) of records to remove after the apply.
        changes: Per service whose containers are replaced, what changes in
            their configuration (empty for a new stack).
        verb: The gate's verb for applying it (`backends/guard.py`):
            `stack.deploy`, or `stack.scale` / `stack.reconcile` when the
            plan was made for those.
        verb_args: What the verb was asked beyond the stack (`service`, `count`).
        pull: When hosts pull images: `never`, `missing` (default) or `always`.
        images: How each image reaches each host (`image_plan.ImageRow`), once
            `image_plan.plan_images()` (or the preflight) has read the hosts.
        bundle: The bundle the stack came from (`deploy --bundle`), an image
            source the plan pushes its images from; None otherwise.
        files: Files beside the compose file the stack ships (`files.py`):
            each item, and per host whether it must be sent.
    """

    stack: Stack
    definition: Definition
    previous: Definition | None
    state: FleetState
    hashes: dict[str, str]
    plan: Plan
    from_record: bool = False
    record_hosts: list[str] = field(default_factory=list)
    stale_records: list[tuple[str, str]] = field(default_factory=list)
    changes: dict[str, list[FieldChange]] = field(default_factory=dict)
    verb: str = "stack.deploy"
    verb_args: dict[str, object] = field(default_factory=dict)
    pull: str = "missing"
    images: list = field(default_factory=list)
    bundle: BundleSource | None = None
    files: FilePlan = field(default_factory=FilePlan)

    @property
    def hosts_changed(self) -> list[str]:
        """Every host applying this would write to (containers or records)."""
        return sorted({step.host for step in self.plan.changes} | set(self.missing_records)
                      | {host for host, _ in self.stale_records})

    def audit_args(self) -> dict[str, object]:
        """The arguments of applying this, for the gate's observers (passwords never in).

        The record's answers leave passwords out already; their names show
        with the mask, so an audit says a password was set without holding it.
        """
        definition = self.definition
        answers: dict[str, object] = dict(definition.answers)
        answers.update({name: MASK for name in definition.secret_names})
        return {"entry": definition.stack.entry, "version": definition.stack.version,
                "generation": definition.generation, "answers": dict(sorted(answers.items())),
                **self.verb_args}

    @property
    def missing_records(self) -> list[str]:
        """Hosts that must get the current record."""
        have = {r.host for r in self.state.records
                if r.stack == self.stack.name and r.generation == self.definition.generation}
        return [host for host in self.record_hosts if host not in have]

    @property
    def no_op(self) -> bool:
        """True when applying changes nothing at all."""
        return self.plan.no_op and not self.missing_records and not self.stale_records


def prepare(fleet: Fleet, stack: Stack, answers: Answers | None = None, *,
            record: Definition | None = None, state: FleetState | None = None,
            upgrade: bool = False, pull: str = "missing",
            bundle: BundleSource | None = None) -> Prepared:
    """Read the hosts and plan `stack` (no change is made).

    Args:
        fleet: The connected fleet.
        stack: The rendered stack, or (with `record`) a stack built from a
            record's masked spec (e.g. with a changed scale).
        answers: The answers `stack` was rendered with. A password answer
            equal to the mask is kept as deployed (`carry.render_upgrade`):
            like a spec from a record, it is filled from the running containers.
        record: The recorded definition `stack` derives from, when there are
            no answers at hand (`corral scale`, `corral reconcile`).
        state: Hosts already read (saves reading them again).
        upgrade: Plan an upgrade that keeps the old containers (and the old
            record) until confirm or rollback.
        pull: When hosts pull images (`never`, `missing`, `always`); see
            `image_plan`.
        bundle: A bundle to push the images it holds from.

    Raises:
        PlanError: No placement satisfies the rules; a file to ship is refused
            (named); an absolute bind mount source is missing on a host.
        UpgradePending: An upgrade awaits confirm or rollback (unless this is
            the same upgrade again, which resumes it).
        BackendError: Reading the hosts failed.
    """
    # Files beside the compose file become binds of the hosts' copies, named
    # by content (a secret: by a random token, `secret_files.settle()` below):
    # from here on the stack is what the hosts will run.
    hidden = secret_variables(stack)
    stack, shipped = localize(stack)
    if record is None:  # a record's stack carries the digest its build was made from
        stack = mark_builds(stack)
    state = state or gather(fleet)
    # Rancher LB services run Corral's HAProxy image, as recorded from then on.
    stack = loadbalancer.resolve(stack, loadbalancer.image_of(fleet))
    previous = state.definition(stack.name)
    # A secret's folder is a random token: the recorded one while the hosts'
    # copy is the same (compared in memory), else the fresh one drawn above.
    stack, shipped, secret_files = settle(fleet, stack, shipped, previous,
                                          _holders(state, stack.name))
    # Service questions were resolved when the stack was deployed: a scale or a
    # reconcile must not stop because the other stack is away for a while.
    planned = stack if record is None else dataclasses.replace(stack, service_refs=())
    now = time.time()
    kept = kept_secrets(answers)
    legacy: set[str] = set()
    if record is not None:
        tokens, legacy = from_record(stack, record)
        definition = dataclasses.replace(record, stack=stack, deployed_at=now)
    else:
        if kept and previous is None:
            raise DeployError(f"stack {stack.name} has no record on the online hosts: the"
                              f" deployed {', '.join(sorted(kept))} cannot be kept; type it")
        tokens = tokens_for(fleet, state, stack, previous)
        definition = dataclasses.replace(definition_of(stack, answers, 0, now),
                                         secret_files=secret_files)
        if hidden & set(definition.answers):  # an environment: secret's `--set` value
            definition = dataclasses.replace(definition, answers={
                k: v for k, v in definition.answers.items() if k not in hidden})
    hashes, plan = _plan(planned, state, tokens)
    if legacy and not (definition.same_as(previous) and _recorded_everywhere(state, plan,
                                                                              previous)):
        # A format 1 record's digest stands in only while nothing is written:
        # the record about to be written gets tokens (those containers are
        # recreated once, their passwords copied from them).
        tokens, legacy = fresh(tokens, legacy), set()
        hashes, plan = _plan(planned, state, tokens)
    definition = dataclasses.replace(
        definition, legacy_digest="",
        secret_tokens={k: v for k, v in tokens.items() if k not in legacy})
    replaced = {s.service for s in plan.changes if s.action == REPLACE}
    generations = [r.generation for r in state.records if r.stack == stack.name]
    if definition.same_as(previous):
        definition = previous  # type: ignore[assignment]
    elif previous is not None and previous.awaiting_decision:
        raise UpgradePending(f"stack {stack.name} has an upgrade awaiting `corral confirm` or"
                             f" `corral rollback` (generation {previous.upgrade_from} ->"
                             f" {previous.generation})")
    else:
        definition = dataclasses.replace(
            definition, generation=max(generations, default=0) + 1,
            # An upgrade that changes no container has nothing to confirm or roll
            # back: it ends at once, as a deploy of the new record.
            upgrade_from=previous.generation if upgrade and previous and not plan.no_op
            else None)
    record_hosts = sorted({s.host for s in plan.final()}) or plan.hosts[:1]
    # The generation an upgrade came from keeps its records for a rollback.
    stale = [(r.host, r.volume) for r in state.records if r.stack == stack.name
             and r.generation != definition.upgrade_from
             and (r.generation != definition.generation or r.host not in record_hosts)]
    prepared = Prepared(stack, definition, previous, state, hashes, plan,
                        record is not None or bool(kept), list(record_hosts), sorted(stale),
                        stack_changes(previous, stack, definition.secret_tokens, replaced),
                        pull=pull, bundle=bundle)
    prepared.files = plan_host_paths(fleet, prepared, shipped)
    return prepared


def _plan(stack: Stack, state: FleetState, tokens: dict[str, str]
          ) -> tuple[dict[str, str], Plan]:
    """Plan with per-host bridge networks; then, when every host that plan uses is in one
    swarm, plan again with the stack on an overlay (kept if it still spans its hosts)."""
    hashes = {s.name: config_hash(stack, s, tokens.get(s.name, "")) for s in stack.services}
    plan = make_plan(stack, state.hosts, hashes)
    if overlay_span(plan.steps, state.hosts):
        across = {s.name: config_hash(stack, s, tokens.get(s.name, ""), overlay=True)
                  for s in stack.services}
        second = make_plan(stack, state.hosts, across, overlay=True)
        if second.overlay:
            return across, _moving(stack, state, hashes, second)
    return hashes, plan


def _moving(stack: Stack, state: FleetState, bridge: dict[str, str], plan: Plan) -> Plan:
    """Name the containers an overlay plan recreates only because they are on a bridge."""
    on_bridge = {c.id for _, c in state.containers(stack.name)
                 if c.labels.get(L.CONFIG_HASH) == bridge.get(c.labels.get(L.SERVICE, ""))}
    reason = f"moves onto overlay {stack.name}_default"
    steps = tuple(dataclasses.replace(s, reason=reason)
                  if s.action == REPLACE and s.container in on_bridge else s
                  for s in plan.steps)
    moved = sum(s.reason == reason for s in steps)
    if not moved:
        return plan
    note = (f"{moved} container{'s' if moved > 1 else ''} of the stack move from per-host bridge"
            f" networks onto overlay {stack.name}_default (recreated)")
    return dataclasses.replace(plan, steps=steps, notes=(*plan.notes, note))


def _holders(state: FleetState, stack: str) -> list[str]:
    """Online hosts holding the stack's containers or records (and so its files)."""
    online = set(state.online)
    return sorted(({host for host, _ in state.containers(stack)}
                   | {r.host for r in state.records if r.stack == stack}) & online)


def _recorded_everywhere(state: FleetState, plan: Plan, previous: Definition | None) -> bool:
    """Whether every host that will hold the stack already holds its latest record."""
    if previous is None:
        return False
    hosts = sorted({s.host for s in plan.final()}) or plan.hosts[:1]
    have = {r.host for r in state.records
            if r.stack == previous.name and r.generation == previous.generation}
    return all(host in have for host in hosts)
