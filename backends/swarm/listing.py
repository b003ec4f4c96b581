"""A swarm's services and tasks as a manager lists them, and a node's availability.

Blocking (docker-py through a manager's tunnel): call from a worker thread or
the command line. Any swarm service is read, Corral's or not: a service is
grouped into a stack by Corral's labels (`io.corral.stack`, `io.corral.service`)
when present, else by `com.docker.stack.namespace` (what `docker stack deploy`
writes), so stacks made by hand show up too. Tasks name the node they run on
and, where a node is an inventory host, that host.

`set_availability()` drains a node or makes it active again, inside the gate
(`swarm.node.availability`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from corral.backends import guard
from corral.backends import labels as L
from corral.backends.errors import SwarmError
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession
from corral.backends.swarm.cluster import Cluster, Node

#: The label `docker stack deploy` (and Corral's swarm engine) puts on a stack's services.
NAMESPACE = "com.docker.stack.namespace"
#: The availabilities a node can be set to from here.
AVAILABILITIES = ("active", "drain")


@dataclass(frozen=True)
class Task:
    """One task of a service: where it runs, what Swarm wants of it and what it is.

    Attributes:
        id: The task ID.
        slot: The replica slot (replicated services), else 0.
        node_id: The node it is assigned to.
        node: That node's hostname ("" when the node is gone).
        host: The inventory host that node is, if any.
        desired: The desired state (`running`, `shutdown`…).
        state: The current state (`running`, `failed`, `rejected`…).
        error: The task's error, if any.
        message: The state's message (`started`, `task: non-zero exit (1)`…).
        container_id: Its container, once created.
        since: When it entered its current state (RFC 3339, as the engine says it).
        node_down: The node is down (its tasks are not counted as running).
    """

    id: str
    slot: int
    node_id: str
    node: str
    host: str | None
    desired: str
    state: str
    error: str = ""
    message: str = ""
    container_id: str = ""
    since: str = ""
    node_down: bool = False

    @property
    def counted(self) -> bool:
        """Running where Swarm wants it running, on a node that is up."""
        return self.state == "running" and self.desired == "running" and not self.node_down

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {"id": self.id, "slot": self.slot, "node_id": self.node_id, "node": self.node,
                "host": self.host, "desired": self.desired, "state": self.state,
                "error": self.error, "message": self.message,
                "container_id": self.container_id, "since": self.since,
                "node_down": self.node_down}


@dataclass(frozen=True)
class Service:
    """One swarm service, its stack and its tasks.

    Attributes:
        id: The service ID.
        name: The service's swarm name (`STACK_SERVICE` for stacks).
        stack: Its stack (Corral's label, else the stack namespace; "" for none).
        service: Its name within the stack.
        mode: `replicated` or `global`.
        replicas: The replicas asked for (replicated), else None.
        image: The image of its task template.
        update_state: The update's state (`updating`, `completed`,
            `rollback_completed`…; "" when never updated).
        update_message: The update's message.
        manager: The inventory host whose tunnel it was read through.
        tasks: Its tasks, newest first within each slot.
        corral: Corral's labels say which stack it is.
    """

    id: str
    name: str
    stack: str
    service: str
    mode: str
    replicas: int | None
    image: str = ""
    update_state: str = ""
    update_message: str = ""
    manager: str = ""
    tasks: tuple[Task, ...] = field(default_factory=tuple)
    corral: bool = False

    @property
    def key(self) -> str:
        """`stack/service`, as the console keys its stacks view."""
        return f"{self.stack}/{self.service}"

    @property
    def running(self) -> int:
        """Tasks running where Swarm wants them, on nodes that are up."""
        return sum(1 for t in self.tasks if t.counted)

    @property
    def desired(self) -> int:
        """Replicas asked for; for a global service, the tasks Swarm wants running."""
        if self.replicas is not None:
            return self.replicas
        return sum(1 for t in self.tasks if t.desired == "running" and not t.node_down)

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {"id": self.id, "name": self.name, "stack": self.stack,
                "service": self.service, "mode": self.mode, "replicas": self.replicas,
                "running": self.running, "desired": self.desired, "image": self.image,
                "update_state": self.update_state, "update_message": self.update_message,
                "manager": self.manager, "corral": self.corral,
                "tasks": [t.to_dict() for t in self.tasks]}


def stack_of(name: str, labels: dict[str, str] | None) -> tuple[str, str, bool]:
    """(stack, service, corral's labels) of a service from its name and labels."""
    labels = labels or {}
    if labels.get(L.STACK):
        stack = labels[L.STACK]
        return stack, labels.get(L.SERVICE) or name.removeprefix(f"{stack}_"), True
    stack = labels.get(NAMESPACE) or ""
    return stack, name.removeprefix(f"{stack}_") if stack else name, False


def task_of(attrs: dict, nodes: dict[str, Node]) -> Task:
    """A Task from one entry of the engine's task list (`client.api.tasks()`)."""
    status = attrs.get("Status") or {}
    node_id = str(attrs.get("NodeID") or "")
    node = nodes.get(node_id)
    return Task(
        id=str(attrs.get("ID") or ""),
        slot=int(attrs.get("Slot") or 0),
        node_id=node_id,
        node=node.hostname if node else "",
        host=node.host if node else None,
        desired=str(attrs.get("DesiredState") or ""),
        state=str(status.get("State") or ""),
        error=str(status.get("Err") or ""),
        message=str(status.get("Message") or ""),
        container_id=str((status.get("ContainerStatus") or {}).get("ContainerID") or ""),
        since=str(status.get("Timestamp") or ""),
        node_down=node is not None and node.state == "down",
    )


def service_of(attrs: dict, tasks: list[Task], manager: str = "") -> Service:
    """A Service from one entry of the engine's service list, with its tasks."""
    spec = attrs.get("Spec") or {}
    name = str(spec.get("Name") or "")
    stack, service, corral = stack_of(name, spec.get("Labels"))
    mode = spec.get("Mode") or {}
    replicas = None
    if "Global" in mode:
        kind = "global"
    else:
        kind = "replicated"
        replicas = int((mode.get("Replicated") or {}).get("Replicas") or 0)
    update = attrs.get("UpdateStatus") or {}
    image = str(((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image")
                or "")
    ordered = sorted(tasks, key=lambda t: (t.desired != "running", t.slot or 0, t.node,
                                           _newest_first(t.since)))
    return Service(
        id=str(attrs.get("ID") or ""), name=name, stack=stack, service=service, mode=kind,
        replicas=replicas, image=image.partition("@sha256:")[0],
        update_state=str(update.get("State") or ""),
        update_message=str(update.get("Message") or ""),
        manager=manager, tasks=tuple(ordered), corral=corral,
    )


def _newest_first(since: str) -> str:
    # RFC 3339 strings sort as times; inverting each character sorts newest first.
    return "".join(chr(0x10FFFF - ord(c)) for c in since)


def read_services(session: HostSession, nodes: list[Node]) -> list[Service]:
    """Every service of the swarm `session`'s engine manages, with its tasks.

    Args:
        session: A manager.
        nodes: The swarm's nodes (tasks name their node and inventory host through them).

    Raises:
        BackendError: The host is offline, not a manager, or the swarm has no quorum.
    """
    services, tasks = session.call(lambda client: (client.api.services(), client.api.tasks()))
    by_id = {n.id: n for n in nodes}
    by_service: dict[str, list[Task]] = {}
    for attrs in tasks:
        by_service.setdefault(str(attrs.get("ServiceID") or ""), []).append(
            task_of(attrs, by_id))
    found = [service_of(attrs, by_service.get(str(attrs.get("ID") or ""), []), session.name)
             for attrs in services]
    return sorted(found, key=lambda s: (s.stack == "", s.stack, s.service))


def tasks_on(services: list[Service], node_id: str) -> list[tuple[Service, Task]]:
    """The tasks Swarm wants running on node `node_id` (those a drain moves)."""
    return [(service, task) for service in services for task in service.tasks
            if task.node_id == node_id and task.desired == "running"]


def set_availability(fleet: Fleet, manager: str, node: Node, availability: str, *,
                     readonly: bool = False) -> None:
    """Drain a node (its tasks move elsewhere) or make it active again, in the gate.

    Args:
        fleet: The hosts.
        manager: The inventory host (a manager) the change goes through.
        node: The node.
        availability: `drain` or `active`.
        readonly: The caller's session is read-only.

    Raises:
        SwarmError: The availability is not one of `AVAILABILITIES`.
        ActionRefused: Read-only.
        BackendError: The manager is offline or refused.
    """
    if availability not in AVAILABILITIES:
        raise SwarmError(f"availability must be one of {', '.join(AVAILABILITIES)}, "
                         f"not {availability!r}", host=manager)
    target = node.host or node.hostname or node.id
    with guard.mutating("swarm.node.availability", hosts=(manager,), target=target,
                        args={"node": node.id, "availability": availability},
                        readonly=readonly):
        session = fleet.session(manager)
        attrs = session.call(lambda client: client.api.inspect_node(node.id))
        spec = dict(attrs.get("Spec") or {})
        spec["Availability"] = availability
        version = int((attrs.get("Version") or {}).get("Index") or 0)
        session.call(lambda client: client.api.update_node(node.id, version, spec))


def tie_offline_hosts(fleet: Fleet, cluster: Cluster) -> None:
    """Tie the nodes of hosts that cannot be read now to their inventory hosts.

    A node is tied to its host by the node ID the host's engine reports; an
    unreachable host (the usual reason a node is `down`) reports nothing, so
    its node is tied instead by the address it joined with (the inventory's
    SSH address) or, failing that, by its hostname being the inventory name.
    Changes `cluster.nodes` in place.
    """
    addresses = {}
    for name in cluster.offline:
        session = fleet.sessions.get(name)
        ssh = getattr(getattr(session, "spec", None), "ssh", None)
        if ssh is not None and getattr(ssh, "address", ""):
            addresses[ssh.address] = name
    for key, nodes in cluster.nodes.items():
        tied = {n.host for n in nodes if n.host}
        fixed = []
        for node in nodes:
            host = None
            if node.host is None:
                host = addresses.get(node.address) or (
                    node.hostname if node.hostname in cluster.offline else None)
            fixed.append(dataclasses.replace(node, host=host)
                         if host and host not in tied else node)
        cluster.nodes[key] = fixed


def read_swarm_services(fleet: Fleet, cluster: Cluster) -> tuple[list[Service], dict[str, str]]:
    """Every service of every swarm the inventory's hosts are in, read through a manager.

    Args:
        fleet: The hosts.
        cluster: What `read_cluster()` found.

    Returns:
        The services, and swarm key -> why none of its managers answered.
    """
    services: list[Service] = []
    errors: dict[str, str] = dict(cluster.errors)
    for key in cluster.swarms:
        if key in errors:
            continue
        why = "no inventory host is a manager of this swarm"
        nodes = cluster.nodes.get(key, [])
        for manager in cluster.managers(key):
            found = fleet.query(lambda s, nodes=nodes: read_services(s, nodes),
                                hosts=[manager])[0]
            if found.ok:
                services.extend(found.value or [])  # type: ignore[arg-type]
                break
            why = found.error.message  # type: ignore[union-attr]
        else:
            errors[key] = f"no manager answered: {why}"
    return services, errors
