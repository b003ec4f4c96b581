"""Stacks as Swarm services, through one manager's tunnel: plan, deploy, scale, rm, list,
upgrade and rollback.

Blocking (docker-py through `HostSession.call`): run from the command line
or a worker thread. Each change runs in the gate under the standalone
engine's verbs (`stack.deploy`, `stack.scale`, `stack.rm`, `stack.upgrade`,
`stack.rollback`) with the manager as the host. Swarm's own version index
makes a concurrent change by another operator fail instead of being lost,
so no lease is taken. Swarm keeps the tasks running, rescheduled and
rolled back with no Corral process running.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from corral.backends import guard
from corral.backends import labels as L
from corral.backends.errors import BackendError, SwarmError
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession
from corral.backends.swarm.cluster import Cluster, read_cluster
from corral.backends.swarm.services.record import Record, read_record, record_labels
from corral.backends.swarm.services.translate import (
    NAMESPACE,
    Translation,
    network_name,
    translate,
)
from corral.catalog.answers import Answers
from corral.catalog.spec import MASK, Stack, mask_secrets

#: Labels that change with every deploy: not part of a service's diff.
_META = (L.CONFIG_HASH, L.DEFINITION, L.GENERATION, L.ENTRY, L.VERSION)

Progress = Callable[[str], None]
#: Seconds between two looks at a change's tasks: each look is two API calls on
#: the manager; at 0.5 s a deploy ended on average 0.25 s after its last task ran.
POLL = 0.2
#: Values Swarm stores for fields a spec leaves out: not a change.
_DEFAULTS = (0, "", "default", False, None, [], {})


@dataclass(frozen=True)
class Step:
    """What Swarm is asked for one service.

    Attributes:
        action: `create`, `update`, `scale`, `keep` or `remove`.
        service: The stack's service name.
        full_name: The Swarm service name.
        changes: The diff, one `path: old -> new` line each (passwords never shown).
        spec: The spec sent (create / update), else None.
        replicas: Replicas wanted (None for global or remove).
    """

    action: str
    service: str
    full_name: str
    changes: tuple[str, ...] = ()
    spec: dict | None = None
    replicas: int | None = None

    def to_dict(self) -> dict:
        """Plain data for `--json` (no spec: it may hold passwords)."""
        return {"action": self.action, "service": self.service, "name": self.full_name,
                "replicas": self.replicas, "changes": list(self.changes)}


@dataclass
class SwarmPlan:
    """What a deploy of a stack asks of a swarm.

    Attributes:
        stack: The stack.
        manager: The inventory host whose engine is asked.
        translation: The services, overlay and refusals.
        steps: One per service, by name, then removals.
        node_labels: Node ID -> (host, labels to add from the inventory).
        network: The overlay exists already.
        warnings: Translation warnings and the nodes Corral cannot reach.
        generation: The generation a deploy writes.
        answers: The answers the stack was rendered with (the record keeps them,
            password answers left out).
        task_hosts: Service -> the online inventory hosts whose node may run
            its tasks (ready, active, meeting its placement constraints with
            the labels the deploy adds): each must hold the service's image.
        images: How each image reaches each of those hosts (the deploy
            layer's `ImageRow`s, `corral.backends.deploy.plan_swarm`).
        image_sources: Push sources that are not hosts (a bundle), by name.
    """

    stack: Stack
    manager: str
    translation: Translation
    steps: list[Step] = field(default_factory=list)
    node_labels: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    network: bool = False
    warnings: list[str] = field(default_factory=list)
    generation: int = 1
    answers: Answers | None = None
    task_hosts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    images: list = field(default_factory=list)
    image_sources: dict[str, object] = field(default_factory=dict)

    @property
    def no_op(self) -> bool:
        """Nothing to ask Swarm, and every node that may run a task holds its image."""
        return self.network and not self.node_labels and all(
            s.action == "keep" for s in self.steps) and all(
            row.action == "present" for row in self.images)

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {"engine": "swarm", "stack": self.stack.name, "manager": self.manager,
                "entry": self.stack.entry, "version": self.stack.version,
                "network": {"name": network_name(self.stack.name), "driver": "overlay",
                            "exists": self.network},
                "node_labels": {h: labels for h, labels in sorted(self.node_labels.values())},
                "steps": [s.to_dict() for s in self.steps], "warnings": list(self.warnings),
                "refusals": list(self.translation.refusals), "no_op": self.no_op,
                "generation": self.generation,
                "task_hosts": {n: list(h) for n, h in sorted(self.task_hosts.items())},
                "images": [row.to_dict() for row in self.images]}


def find_manager(fleet: Fleet) -> tuple[str, Cluster]:
    """The inventory host to ask: a manager of the one swarm the hosts are in.

    Raises:
        SwarmError: No swarm, several, or no reachable manager among the hosts.
    """
    cluster = read_cluster(fleet)
    swarms = cluster.swarms
    if not swarms:
        raise SwarmError("engine swarm: no inventory host is in a swarm (`corral swarm init"
                         " --hosts H1,H2,H3` first)")
    if len(swarms) > 1:
        raise SwarmError("engine swarm: the inventory hosts are in several swarms")
    managers = cluster.managers(swarms[0])
    if not managers:
        raise SwarmError("engine swarm: no inventory host is a manager of the swarm")
    return managers[0], cluster


def stack_services(session: HostSession, stack: str) -> dict[str, dict]:
    """The Swarm services of a stack, by stack service name."""
    found = session.call(lambda c: c.api.services(filters={"label": f"{L.STACK}={stack}"}))
    return {((s.get("Spec") or {}).get("Labels") or {}).get(L.SERVICE, s["Spec"]["Name"]): s
            for s in found}


def _flatten(value: object, path: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list) and path.endswith("Env"):
        return {f"{path}.{k}": v for k, _, v in (str(e).partition("=") for e in value)}
    return {path: value}


def _comparable(spec: dict) -> dict:
    spec = {k: v for k, v in spec.items() if k != "Name"}
    spec["Labels"] = {k: v for k, v in (spec.get("Labels") or {}).items() if k not in _META}
    task = dict(spec.get("TaskTemplate") or {})
    task.pop("ForceUpdate", None)
    task.pop("Runtime", None)
    task["Networks"] = [{"Aliases": n.get("Aliases")} for n in task.get("Networks") or []]
    spec["TaskTemplate"] = task
    return spec


def diff(current: dict, wanted: dict, secrets: frozenset[str]) -> list[str]:
    """`path: old -> new` lines between a service's current and wanted specs.

    Variables holding a password answer are named, never shown (their old
    value is not known to be a password, so it is not shown either).
    """
    old, new = _flatten(_comparable(current)), _flatten(_comparable(wanted))
    masked = _flatten(mask_secrets(_comparable(wanted), secrets))
    lines = []
    for path in sorted(set(old) | set(new)):
        if old.get(path) == new.get(path):
            continue
        if path not in new and old[path] in _DEFAULTS:
            continue  # a default Swarm filled in (`Isolation: default`, `MaxAttempts: 0`)
        if masked.get(path) != new.get(path) or (MASK in str(masked.get(path))):
            lines.append(f"{path}: (password) changed")
        else:
            lines.append(f"{path}: {old.get(path, '-')} -> {new.get(path, '-')}")
    return lines


def _replicas(service: dict) -> int | None:
    return ((service.get("Spec") or {}).get("Mode") or {}).get("Replicated", {}).get("Replicas")


def _uses_secret(spec: dict, secrets: frozenset[str]) -> bool:
    return mask_secrets(spec, secrets) != spec


def plan_stack(fleet: Fleet, stack: Stack, answers: Answers | None = None,
               encrypted: bool = False) -> SwarmPlan:
    """What deploying `stack` asks of the swarm: create/update/scale/remove per service.

    Raises:
        SwarmError: No usable swarm, or the stack cannot run on Swarm (every
            reason, one line each).
    """
    translation = translate(stack, encrypted=encrypted)
    if translation.refusals:
        raise SwarmError(f"stack {stack.name} cannot run on Swarm: "
                         + "; ".join(translation.refusals))
    manager, cluster = find_manager(fleet)
    session = fleet.session(manager)
    current = stack_services(session, stack.name)
    plan = SwarmPlan(stack, manager, translation, warnings=list(translation.warnings),
                     answers=answers)
    records = [r for r in (read_record(s["Spec"].get("Labels") or {})
                           for s in current.values()) if r]
    last = max((r.generation for r in records), default=0)
    for wanted in translation.services:
        found = current.get(wanted.name)
        if found is None:
            plan.steps.append(Step("create", wanted.name, wanted.full_name, spec=wanted.spec,
                                   replicas=wanted.replicas))
            continue
        spec = found["Spec"]
        same = (spec.get("Labels") or {}).get(L.CONFIG_HASH) == wanted.spec_hash
        if same and _uses_secret(wanted.spec, stack.secrets):
            # The hash cannot see a password change: ask the service itself, in memory.
            env = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Env")
            same = env == wanted.spec["TaskTemplate"]["ContainerSpec"].get("Env")
        if not same:
            plan.steps.append(Step("update", wanted.name, wanted.full_name,
                                   tuple(diff(spec, wanted.spec, stack.secrets)) or
                                   ("stack record only",), wanted.spec, wanted.replicas))
        elif wanted.replicas is not None and _replicas(found) != wanted.replicas:
            plan.steps.append(Step("scale", wanted.name, wanted.full_name,
                                   (f"replicas: {_replicas(found)} -> {wanted.replicas}",),
                                   replicas=wanted.replicas))
        else:
            plan.steps.append(Step("keep", wanted.name, wanted.full_name,
                                   replicas=wanted.replicas))
    wanted_names = {s.name for s in translation.services}
    for name, found in sorted(current.items()):
        if name not in wanted_names:
            plan.steps.append(Step("remove", name, found["Spec"]["Name"]))
    # Only a create or update writes the record (a scale or removal leaves the labels).
    changing = any(s.action in ("create", "update") for s in plan.steps)
    plan.generation = last + 1 if changing or not last else last
    plan.network = bool(session.call(lambda c: c.api.networks(
        names=[network_name(stack.name)])))
    attrs = {a["ID"]: a for a in session.call(lambda c: c.api.nodes())}
    _node_labels(fleet, cluster, manager, attrs, plan)
    _task_hosts(fleet, cluster, manager, attrs, plan)
    return plan


def _node_labels(fleet: Fleet, cluster: Cluster, manager: str, attrs: dict[str, dict],
                 plan: SwarmPlan) -> None:
    """Inventory labels the nodes lack (constraints match node labels, not the inventory)."""
    key = cluster.members[manager].swarm_key or ""
    nodes = {n.id: n for n in cluster.nodes.get(key, [])}
    for node_id, node in nodes.items():
        if not node.host:
            continue
        labels = fleet.session(node.host).spec.labels
        present = ((attrs.get(node_id) or {}).get("Spec") or {}).get("Labels") or {}
        missing = {k: v for k, v in sorted(labels.items()) if present.get(k) != v}
        if missing:
            plan.node_labels[node_id] = (node.host, missing)
    wanted = plan.translation.node_labels
    labelled = {k for a in attrs.values() for k in ((a.get("Spec") or {}).get("Labels") or {})}
    labelled |= {k for _, labels in plan.node_labels.values() for k in labels}
    for key_name in sorted(wanted - labelled):
        plan.warnings.append(f"no node has label {key_name}: its constraints place no task"
                             " (add it to the inventory hosts' labels)")


def placeable(spec: dict, labels: dict[str, str]) -> bool:
    """Whether a node with these labels meets a service spec's placement constraints.

    Only `node.labels.K==V` / `!=` (what `translate` writes) are judged; any
    other constraint is taken as met, so a node is never wrongly left out.
    """
    placement = (spec.get("TaskTemplate") or {}).get("Placement") or {}
    for constraint in placement.get("Constraints") or ():
        negated = "!=" in constraint
        left, _, value = constraint.partition("!=" if negated else "==")
        left, value = left.strip(), value.strip()
        if not left.startswith("node.labels."):
            continue
        equal = labels.get(left.removeprefix("node.labels.")) == value
        if equal == negated:
            return False
    return True


def _task_hosts(fleet: Fleet, cluster: Cluster, manager: str, attrs: dict[str, dict],
                plan: SwarmPlan) -> None:
    """Per service, the online inventory hosts whose node may run its tasks.

    A node may run a task when it is ready, active and meets the service's
    constraints with its labels after the deploy (the inventory's added).
    Swarm has no registry to pull from in an air-gapped room, so each of
    those hosts must hold the image before the service is created or
    updated; a node Corral cannot reach is named in a warning.
    """
    key = cluster.members[manager].swarm_key or ""
    hosts: dict[str, list[str]] = {s.name: [] for s in plan.translation.services}
    unreached = []
    for node in cluster.nodes.get(key, []):
        if node.state != "ready" or node.availability != "active":
            continue  # Swarm places no task there
        labels = dict(((attrs.get(node.id) or {}).get("Spec") or {}).get("Labels") or {})
        labels.update(plan.node_labels.get(node.id, ("", {}))[1])
        eligible = [s.name for s in plan.translation.services if placeable(s.spec, labels)]
        if not eligible:
            continue
        if node.host is None or not fleet.session(node.host).online:
            unreached.append(node.host or f"node {node.hostname} ({node.id[:12]})")
            continue
        for name in eligible:
            hosts[name].append(node.host)
    plan.task_hosts = {name: tuple(sorted(found)) for name, found in sorted(hosts.items())}
    if unreached:
        plan.warnings.append(
            f"{', '.join(sorted(unreached))}: may run tasks of this stack, but Corral cannot"
            " reach it (offline, or not in the inventory): its images are not checked, and"
            " a task Swarm places there starts only if the node holds its image")


def _with_record(spec: dict, plan: SwarmPlan) -> dict:
    labels = dict(spec["Labels"])
    labels.update(record_labels(plan.stack, plan.answers, plan.generation))
    return {**spec, "Labels": labels}


def _create(session: HostSession, spec: dict) -> None:
    session.call(lambda c: c.api._result(
        c.api._post_json(c.api._url("/services/create"), data=spec), True))


def _update(session: HostSession, current: dict, spec: dict, rollback: bool = False) -> None:
    params = {"version": current["Version"]["Index"]}
    if rollback:
        params["rollback"] = "previous"
    session.call(lambda c: c.api._raise_for_status(c.api._post_json(
        c.api._url("/services/{0}/update", current["ID"]), data=spec, params=params)))


def ensure_network(session: HostSession, body: dict) -> None:
    """Create the stack's overlay unless it exists."""
    if session.call(lambda c: c.api.networks(names=[body["Name"]])):
        return
    session.call(lambda c: c.api.create_network(
        body["Name"], driver="overlay", attachable=True, labels=body["Labels"],
        options=body["Options"] or None))


def apply_plan(fleet: Fleet, plan: SwarmPlan, progress: Progress, verb: str = "stack.deploy",
               timeout: float = 120.0) -> dict[str, str]:
    """Ask the swarm for the plan, then wait for the changed services' tasks.

    Returns:
        Service -> why it did not converge (a failed update rolled back, tasks
        not running in time); empty when all did.

    Raises:
        ActionRefused: Read-only; nothing changed.
        BackendError: The manager refused a change (the ones before stay).
    """
    session = fleet.session(plan.manager)
    changed = [s for s in plan.steps if s.action != "keep"]
    with guard.mutating(verb, hosts=(plan.manager,), stack=plan.stack.name,
                        target=plan.stack.name,
                        args={"engine": "swarm", "entry": plan.stack.entry,
                              "version": plan.stack.version,
                              "services": {s.service: s.action for s in changed}},
                        readonly=fleet.readonly) as change:
        for node_id, (host, labels) in sorted(plan.node_labels.items()):
            progress(f"node {host}: labels {', '.join(f'{k}={v}' for k, v in labels.items())}")
            node = session.call(lambda c, n=node_id: c.api.inspect_node(n))
            spec = dict(node["Spec"])
            spec["Labels"] = {**(spec.get("Labels") or {}), **labels}
            session.call(lambda c, n=node_id, v=node["Version"]["Index"], s=spec:
                         c.api.update_node(n, v, s))
        if not plan.network:
            progress(f"network {network_name(plan.stack.name)}: create (overlay)")
            ensure_network(session, plan.translation.network)
        current = stack_services(session, plan.stack.name)
        before = {n: s.get("UpdateStatus") or {} for n, s in current.items()}
        for step in changed:
            progress(f"service {step.full_name}: {step.action}")
            if step.action == "create":
                _create(session, _with_record(step.spec or {}, plan))
            elif step.action == "update":
                _update(session, current[step.service], _with_record(step.spec or {}, plan))
            elif step.action == "scale":
                _scale_service(session, current[step.service], step.replicas or 0)
            elif step.action == "remove":
                session.call(lambda c, i=current[step.service]["ID"]: c.api.remove_service(i))
        waited = [s for s in changed if s.action != "remove"]
        problems = wait_converged(session, plan.stack.name, [s.service for s in waited],
                                  progress, timeout, before)
        change.problems.update({f"{plan.manager}:{k}": v for k, v in problems.items()})
    return problems


def _scale_service(session: HostSession, current: dict, replicas: int) -> None:
    spec = dict(current["Spec"])
    if "Replicated" not in (spec.get("Mode") or {}):
        raise SwarmError(f"service {spec['Name']} runs in global mode: one task per node,"
                         " nothing to scale")
    spec["Mode"] = {"Replicated": {"Replicas": replicas}}
    _update(session, current, spec)


def _task_counts(session: HostSession, service_id: str) -> tuple[int, int, list[str]]:
    """(running, desired running, errors of failed tasks) of a service."""
    tasks = session.call(lambda c: c.api.tasks(filters={"service": service_id}))
    wanted = [t for t in tasks if t.get("DesiredState") == "running"]
    running = sum((t.get("Status") or {}).get("State") == "running" for t in wanted)
    errors = [str((t.get("Status") or {}).get("Err") or "") for t in tasks
              if (t.get("Status") or {}).get("State") in ("failed", "rejected")
              and (t.get("Status") or {}).get("Err")]
    return running, len(wanted), errors


def wait_converged(session: HostSession, stack: str, services: list[str], progress: Progress,
                   timeout: float = 120.0, before: dict[str, dict] | None = None,
                   rolling_back: bool = False) -> dict[str, str]:
    """Wait until each service runs its wanted tasks and no update is in progress.

    Args:
        before: Each service's `UpdateStatus` read before the change: one
            still the same is an earlier change's, not this one's.
        rolling_back: A completed rollback is what was asked, not a failure.

    Returns:
        Service -> why not (rolled back, paused, or not running in time).
    """
    before = before or {}
    deadline = time.monotonic() + timeout
    pending = set(services)
    problems: dict[str, str] = {}
    said: dict[str, str] = {}
    while pending:
        current = stack_services(session, stack)
        for name in sorted(pending):
            found = current.get(name)
            if found is None:
                problems[name] = "service gone"
                pending.discard(name)
                continue
            status = found.get("UpdateStatus") or {}
            update = "" if status and status == before.get(name) else status.get("State") or ""
            if rolling_back and update == "rollback_completed":
                update = "completed"
            running, wanted, errors = _task_counts(session, found["ID"])
            replicas = _replicas(found)
            target = replicas if replicas is not None else wanted
            line = f"{running}/{target} running" + (f", update {update}" if update else "")
            if said.get(name) != line:
                progress(f"service {found['Spec']['Name']}: {line}")
                said[name] = line
            if update in ("rollback_completed", "rollback_paused", "paused"):
                message = status.get("Message") or update
                problems[name] = f"update {update.replace('_', ' ')}: {message}"
                pending.discard(name)
            elif update in ("", "completed") and running >= target and wanted <= target \
                    and (target > 0 or replicas == 0):  # a global service lists its tasks late
                pending.discard(name)
        if pending and time.monotonic() > deadline:
            for name in pending:
                found = current.get(name) or {"ID": ""}
                errors = _task_counts(session, found["ID"])[2] if found["ID"] else []
                problems[name] = ("tasks not running after"
                                  f" {timeout:.0f} s" + (f": {errors[-1]}" if errors else ""))
            break
        if pending:
            time.sleep(POLL)
    return problems


def scale(fleet: Fleet, stack: str, service: str, replicas: int, progress: Progress,
          timeout: float = 120.0) -> dict[str, str]:
    """Set a service's replicas (the spec otherwise unchanged) and wait for its tasks.

    Raises:
        SwarmError: No such stack service, or it runs in global mode.
    """
    manager, _ = find_manager(fleet)
    session = fleet.session(manager)
    current = stack_services(session, stack)
    if service not in current:
        raise SwarmError(f"no service {service} in swarm stack {stack}"
                         f" (services: {', '.join(sorted(current)) or 'none'})")
    with guard.mutating("stack.scale", hosts=(manager,), stack=stack,
                        target=f"{stack}/{service}",
                        args={"engine": "swarm", "replicas": replicas},
                        readonly=fleet.readonly):
        before = {service: current[service].get("UpdateStatus") or {}}
        _scale_service(session, current[service], replicas)
        return wait_converged(session, stack, [service], progress, timeout, before)


@dataclass(frozen=True)
class SwarmStack:
    """A stack the swarm runs, as `corral stacks` lists it."""

    name: str
    manager: str
    services: tuple[dict, ...]
    record: Record | None

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {"engine": "swarm", "name": self.name, "manager": self.manager,
                "record": self.record.to_dict() if self.record else None,
                "services": list(self.services)}


def list_stacks(fleet: Fleet) -> list[SwarmStack]:
    """Every stack of Swarm services (`com.docker.stack.namespace`), Corral's or not."""
    manager, _ = find_manager(fleet)
    session = fleet.session(manager)
    services = session.call(lambda c: c.api.services(filters={"label": NAMESPACE}))
    tasks = session.call(lambda c: c.api.tasks(filters={"desired-state": "running"}))
    running: dict[str, int] = {}
    for task in tasks:
        if (task.get("Status") or {}).get("State") == "running":
            running[task["ServiceID"]] = running.get(task["ServiceID"], 0) + 1
    by_stack: dict[str, list[dict]] = {}
    for service in services:
        by_stack.setdefault(service["Spec"]["Labels"][NAMESPACE], []).append(service)
    stacks = []
    for name, found in sorted(by_stack.items()):
        records = [r for r in (read_record(s["Spec"].get("Labels") or {}) for s in found) if r]
        rows = tuple(sorted((_service_row(s, running.get(s["ID"], 0)) for s in found),
                            key=lambda row: row["name"]))
        stacks.append(SwarmStack(name, manager, rows,
                                 max(records, key=lambda r: r.generation, default=None)))
    return stacks


def _service_row(service: dict, running: int) -> dict:
    spec = service["Spec"]
    labels = spec.get("Labels") or {}
    replicas = _replicas(service)
    return {"name": labels.get(L.SERVICE) or spec["Name"], "swarm_name": spec["Name"],
            "mode": "global" if replicas is None else "replicated", "running": running,
            "desired": replicas, "image": spec["TaskTemplate"]["ContainerSpec"]["Image"],
            "update": (service.get("UpdateStatus") or {}).get("State") or ""}


def remove_stack(fleet: Fleet, stack: str, progress: Progress) -> list[str]:
    """Remove a stack's services and overlay (named volumes stay on the nodes).

    Returns:
        The Swarm service names removed.

    Raises:
        SwarmError: The swarm runs no such stack.
    """
    manager, _ = find_manager(fleet)
    session = fleet.session(manager)
    current = stack_services(session, stack)
    if not current:
        raise SwarmError(f"the swarm runs no stack {stack}")
    names = sorted(s["Spec"]["Name"] for s in current.values())
    with guard.mutating("stack.rm", hosts=(manager,), stack=stack, target=stack,
                        args={"engine": "swarm", "services": names}, readonly=fleet.readonly):
        for service in current.values():
            progress(f"service {service['Spec']['Name']}: remove")
            session.call(lambda c, i=service["ID"]: c.api.remove_service(i))
        deadline = time.monotonic() + 30
        while True:  # the overlay is in use until the tasks are gone
            try:
                for net in session.call(lambda c: c.api.networks(names=[network_name(stack)])):
                    session.call(lambda c, i=net["Id"]: c.api.remove_network(i))
                progress(f"network {network_name(stack)}: removed")
                break
            except BackendError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    return names


def stack_names(fleet: Fleet, stack: str) -> tuple[str, list[str]]:
    """(manager, Swarm service names) of a stack: what `rm` names before asking."""
    manager, _ = find_manager(fleet)
    current = stack_services(fleet.session(manager), stack)
    if not current:
        raise SwarmError(f"the swarm runs no stack {stack}")
    return manager, sorted(s["Spec"]["Name"] for s in current.values())


def rollback(fleet: Fleet, stack: str, progress: Progress,
             timeout: float = 120.0) -> dict[str, str]:
    """Swarm's rollback of each service of the stack that has a previous spec.

    Raises:
        SwarmError: No such stack, or no service of it has a previous spec.
    """
    manager, _ = find_manager(fleet)
    session = fleet.session(manager)
    current = stack_services(session, stack)
    back = {n: s for n, s in current.items() if s.get("PreviousSpec")}
    if not back:
        raise SwarmError(f"swarm stack {stack}: no service has a previous spec to roll back to")
    with guard.mutating("stack.rollback", hosts=(manager,), stack=stack, target=stack,
                        args={"engine": "swarm", "services": sorted(back)},
                        readonly=fleet.readonly):
        for _, service in sorted(back.items()):
            progress(f"service {service['Spec']['Name']}: rollback")
            _update(session, service, service["Spec"], rollback=True)
        return wait_converged(session, stack, sorted(back), progress, timeout,
                              {n: s.get("UpdateStatus") or {} for n, s in back.items()},
                              rolling_back=True)

