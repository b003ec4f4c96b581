"""What the console reads of the swarms under its hosts: services for the stacks view,
nodes (with the tasks a drain would move) for the nodes view.

Blocking reads (docker-py through each host's tunnel, then one manager of
each swarm): call them on worker threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corral.backends.errors import BackendError, SwarmError
from corral.backends.ssh import Fleet
from corral.backends.swarm import (
    Node,
    Service,
    Task,
    read_cluster,
    read_swarm_services,
    tie_offline_hosts,
)


@dataclass(frozen=True)
class NodeRecord:
    """One swarm node as the nodes view shows it.

    Attributes:
        node: The node, as a manager lists it.
        swarm: The key of its swarm.
        manager: The inventory host a change to it goes through ("" when none answers).
        tasks: (service name, task) of the tasks Swarm wants running on it.
    """

    node: Node
    swarm: str
    manager: str
    tasks: tuple[tuple[str, Task], ...] = field(default_factory=tuple)

    @property
    def host(self) -> str | None:
        """The inventory host that is this node (the number keys' host filter)."""
        return self.node.host


def _errors(why: dict[str, str]) -> list[BackendError]:
    return [SwarmError(f"swarm {key[:12]}: {message}") for key, message in sorted(why.items())]


def read_services(fleet: Fleet) -> tuple[dict[str, Service], list[BackendError]]:
    """Every swarm service the inventory's swarms run, keyed `stack/service`."""
    cluster = read_cluster(fleet)
    if not cluster.swarms:
        return {}, []
    tie_offline_hosts(fleet, cluster)
    services, why = read_swarm_services(fleet, cluster)
    return {s.key: s for s in services}, _errors(why)


def read_nodes(fleet: Fleet) -> tuple[dict[str, NodeRecord], list[BackendError]]:
    """Every node of the inventory's swarms keyed by node ID, with the tasks on each."""
    cluster = read_cluster(fleet)
    if not cluster.swarms:
        return {}, []
    tie_offline_hosts(fleet, cluster)
    services, why = read_swarm_services(fleet, cluster)
    records = {}
    for key in cluster.swarms:
        managers = cluster.managers(key)
        for node in cluster.nodes.get(key, []):
            tasks = tuple((s.name, t) for s in services for t in s.tasks
                          if t.node_id == node.id and t.desired == "running")
            records[node.id] = NodeRecord(node, key, managers[0] if managers else "", tasks)
    return records, _errors(why)
