"""One host's swarm membership, as its engine reports it (`docker info`'s Swarm part).

Pure: `member_of(host, info)` reads the dictionary `client.api.info()`
returns. A worker's engine does not know its cluster's ID (only managers
report `Cluster`), so hosts are told to be in one swarm by their managers:
every member lists the managers it talks to (`RemoteManagers`), and
`swarm_key()` names a swarm by the smallest of those node IDs, the same
string on every member of one swarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: `LocalNodeState` of an engine that is a working member of a swarm.
ACTIVE = "active"


@dataclass(frozen=True)
class Member:
    """What one host's engine says of its swarm membership.

    Attributes:
        host: The inventory name.
        state: `inactive` (in no swarm), `pending`, `active`, `error` or `locked`.
        node_id: The swarm node ID ("" outside a swarm).
        address: The address the node advertises to the swarm.
        manager: The engine is a manager (it can answer for the cluster).
        cluster_id: The cluster's ID (managers only report it).
        managers: Node IDs of the managers this engine knows.
        nodes: How many nodes the cluster has (managers only report it).
        manager_count: How many managers (managers only report it).
        error: The engine's swarm error, if any.
    """

    host: str
    state: str = "inactive"
    node_id: str = ""
    address: str = ""
    manager: bool = False
    cluster_id: str = ""
    managers: tuple[str, ...] = field(default_factory=tuple)
    manager_addresses: tuple[str, ...] = field(default_factory=tuple)
    nodes: int = 0
    manager_count: int = 0
    error: str = ""

    @property
    def active(self) -> bool:
        """The host is a working member of a swarm."""
        return self.state == ACTIVE and bool(self.node_id)

    @property
    def swarm_key(self) -> str | None:
        """A name of the swarm shared by all its members, or None outside one."""
        return swarm_key(self.managers) if self.active else None

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {"host": self.host, "state": self.state, "node_id": self.node_id,
                "address": self.address, "manager": self.manager,
                "cluster_id": self.cluster_id, "error": self.error}


def swarm_key(managers: tuple[str, ...] | list[str]) -> str | None:
    """The swarm a member is in, named by the smallest manager node ID it knows."""
    return min(managers) if managers else None


def member_of(host: str, info: dict) -> Member:
    """The membership of `host` from its engine's `info()`."""
    swarm = info.get("Swarm") or {}
    remotes = swarm.get("RemoteManagers") or []
    return Member(
        host=host,
        state=str(swarm.get("LocalNodeState") or "inactive"),
        node_id=str(swarm.get("NodeID") or ""),
        address=str(swarm.get("NodeAddr") or ""),
        manager=bool(swarm.get("ControlAvailable")),
        cluster_id=str((swarm.get("Cluster") or {}).get("ID") or ""),
        managers=tuple(sorted(str(r.get("NodeID") or "") for r in remotes if r.get("NodeID"))),
        manager_addresses=tuple(sorted(str(r.get("Addr") or "") for r in remotes
                                       if r.get("Addr"))),
        nodes=int(swarm.get("Nodes") or 0),
        manager_count=int(swarm.get("Managers") or 0),
        error=str(swarm.get("Error") or ""),
    )
