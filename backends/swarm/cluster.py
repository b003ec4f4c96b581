"""The swarm as Corral sees it: every host's membership, the nodes, quorum.

Blocking (docker-py through each host's tunnel): call from a worker thread
or the command line. `read_cluster()` asks every online host for its
`docker info` (`state.member_of`) and one manager of each swarm for its
node list, then ties inventory hosts to nodes by node ID: the inventory
name and the node's hostname need not match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corral.backends.errors import BackendError
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession
from corral.backends.swarm.state import Member, member_of


@dataclass(frozen=True)
class Node:
    """One node of a swarm, as a manager lists it.

    Attributes:
        id: The node ID.
        hostname: The hostname its engine reports.
        role: `manager` or `worker`.
        availability: `active`, `pause` or `drain`.
        state: `ready`, `down`, `unknown` or `disconnected`.
        address: The address the node is seen at.
        leader: The manager currently leading the raft.
        reachability: For a manager: `reachable`, `unreachable` or `unknown`.
        host: The inventory host that is this node, if any.
    """

    id: str
    hostname: str
    role: str
    availability: str
    state: str
    address: str = ""
    leader: bool = False
    reachability: str = ""
    host: str | None = None

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {"id": self.id, "hostname": self.hostname, "role": self.role,
                "availability": self.availability, "state": self.state,
                "address": self.address, "leader": self.leader,
                "reachability": self.reachability, "host": self.host}


def node_of(attrs: dict, hosts_by_node: dict[str, str]) -> Node:
    """A Node from one entry of the engine's node list (`client.api.nodes()`)."""
    spec, status = attrs.get("Spec") or {}, attrs.get("Status") or {}
    manager = attrs.get("ManagerStatus") or {}
    node_id = str(attrs.get("ID") or "")
    return Node(
        id=node_id,
        hostname=str((attrs.get("Description") or {}).get("Hostname") or ""),
        role=str(spec.get("Role") or "worker"),
        availability=str(spec.get("Availability") or ""),
        state=str(status.get("State") or ""),
        address=str(status.get("Addr") or ""),
        leader=bool(manager.get("Leader")),
        reachability=str(manager.get("Reachability") or ""),
        host=hosts_by_node.get(node_id),
    )


@dataclass(frozen=True)
class Quorum:
    """The raft's health: how many managers, how many answer, how many it needs."""

    managers: int
    reachable: int

    @property
    def needed(self) -> int:
        """The majority of managers the swarm needs to change anything."""
        return self.managers // 2 + 1

    @property
    def held(self) -> bool:
        """A majority of the managers answer."""
        return self.managers > 0 and self.reachable >= self.needed

    @property
    def tolerates(self) -> int:
        """How many more managers may fail before the swarm loses quorum."""
        return max(0, self.reachable - self.needed)

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {"managers": self.managers, "reachable": self.reachable, "needed": self.needed,
                "held": self.held, "tolerates": self.tolerates}


@dataclass
class Cluster:
    """Every inventory host's membership and the swarms they are in.

    Attributes:
        members: Host -> membership, for each online host.
        offline: Host -> why it could not be read.
        nodes: Swarm key -> its nodes, as one of its managers lists them.
        errors: Swarm key -> why no manager listed its nodes.
    """

    members: dict[str, Member] = field(default_factory=dict)
    offline: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, list[Node]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def swarms(self) -> list[str]:
        """The keys of the swarms inventory hosts are in."""
        return sorted({m.swarm_key for m in self.members.values() if m.swarm_key})

    def hosts_in(self, key: str) -> list[str]:
        """Inventory hosts that are members of swarm `key`."""
        return sorted(h for h, m in self.members.items() if m.swarm_key == key)

    def outside(self) -> list[str]:
        """Online inventory hosts in no swarm."""
        return sorted(h for h, m in self.members.items() if not m.active)

    def managers(self, key: str) -> list[str]:
        """Inventory hosts that are managers of swarm `key`, first the leader."""
        leaders = {n.host for n in self.nodes.get(key, []) if n.leader}
        return sorted((h for h in self.hosts_in(key) if self.members[h].manager),
                      key=lambda h: (h not in leaders, h))

    def quorum(self, key: str) -> Quorum:
        """The quorum of swarm `key` from its node list."""
        managers = [n for n in self.nodes.get(key, []) if n.role == "manager"]
        return Quorum(len(managers), sum(n.reachability == "reachable" for n in managers))

    def node(self, host: str) -> Node | None:
        """The node that inventory host `host` is."""
        member = self.members.get(host)
        if member is None or not member.swarm_key:
            return None
        return next((n for n in self.nodes.get(member.swarm_key, []) if n.host == host), None)

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {
            "swarms": [{"key": key, "hosts": self.hosts_in(key),
                        "cluster_id": next((self.members[h].cluster_id
                                            for h in self.hosts_in(key)
                                            if self.members[h].cluster_id), ""),
                        "managers": self.managers(key),
                        "quorum": self.quorum(key).to_dict(),
                        "nodes": [n.to_dict() for n in self.nodes.get(key, [])],
                        "error": self.errors.get(key)}
                       for key in self.swarms],
            "outside": self.outside(),
            "offline": dict(self.offline),
            "members": {h: m.to_dict() for h, m in sorted(self.members.items())},
        }


def read_member(session: HostSession) -> Member:
    """One host's membership (one `info()` call).

    Raises:
        BackendError: The host is offline or its engine failed.
    """
    return member_of(session.name, session.call(lambda client: client.api.info()))


def list_nodes(session: HostSession) -> list[dict]:
    """The node list of the swarm `session`'s engine manages.

    Raises:
        BackendError: The host is offline, not a manager, or the swarm has no quorum.
    """
    return session.call(lambda client: client.api.nodes())


def read_cluster(fleet: Fleet, hosts: list[str] | None = None) -> Cluster:
    """Read every host's membership (or `hosts`'), then each swarm's nodes from a manager."""
    cluster = Cluster()
    for result in fleet.query(read_member, hosts=hosts):
        if result.ok:
            cluster.members[result.host] = result.value  # type: ignore[assignment]
        else:
            error = result.error
            cluster.offline[result.host] = (error.message if isinstance(error, BackendError)
                                            else "failed")
    by_node = {m.node_id: h for h, m in cluster.members.items() if m.active}
    for key in cluster.swarms:
        managers = [h for h in cluster.hosts_in(key) if cluster.members[h].manager]
        if not managers:
            cluster.errors[key] = "no inventory host is a manager of this swarm"
            continue
        why = ""
        for manager in managers:
            found = fleet.query(list_nodes, hosts=[manager])[0]
            if found.ok:
                nodes = [node_of(a, by_node) for a in found.value or []]  # type: ignore[union-attr]
                cluster.nodes[key] = sorted(nodes, key=lambda n: (n.role != "manager",
                                                                  n.host or "~", n.hostname))
                break
            why = found.error.message  # type: ignore[union-attr]
        else:
            cluster.errors[key] = f"no manager answered: {why}"
    return cluster
