"""The planner's input and output: plain, frozen data and no I/O.

The input describes each host as the planner needs it (labels, the
containers it runs with their labels and published ports, CPUs, memory,
whether it is online); `deploy/gather.py` reads it from the engines. The
output is a `Plan`: one `Step` per container of the stack, saying what
happens to it, on which host and why, and which hosts were passed over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from corral.backends import labels as L

CREATE = "create"
KEEP = "keep"
START = "start"
REPLACE = "replace"
REMOVE = "remove"
ACTIONS = (CREATE, KEEP, START, REPLACE, REMOVE)
#: The reason of a replace whose service's configuration hash changed.
CONFIG_CHANGED = "configuration changed"


@dataclass(frozen=True)
class PortUse:
    """A published host port: `host_ip` None means every address."""

    host_port: int
    protocol: str = "tcp"
    host_ip: str | None = None

    def collides(self, other: PortUse) -> bool:
        """Whether both cannot be bound at once on one host."""
        if self.host_port != other.host_port or self.protocol != other.protocol:
            return False
        return self.host_ip in (None, "0.0.0.0") or other.host_ip in (None, "0.0.0.0") \
            or self.host_ip == other.host_ip

    def __str__(self) -> str:
        where = f"{self.host_ip}:" if self.host_ip not in (None, "0.0.0.0") else ""
        return f"{where}{self.host_port}/{self.protocol}"


@dataclass(frozen=True)
class HostContainer:
    """A container a host has (any container, of any stack or none).

    Attributes:
        name: The container name.
        labels: Its labels.
        ports: Host ports it publishes.
        id: The engine's id (short form is fine).
        running: False for created, exited or paused-and-stopped containers.
        created: Creation time, epoch seconds (newer wins between duplicates).
        memory: Memory it reserves, bytes (0: none).
    """

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[PortUse, ...] = ()
    id: str = ""
    running: bool = True
    created: float = 0.0
    memory: int = 0

    def of_stack(self, stack: str) -> bool:
        """Whether Corral deployed it as part of `stack` (and it is not a kept old copy)."""
        return self.labels.get(L.STACK) == stack and not self.previous

    @property
    def previous(self) -> bool:
        """Whether an upgrade keeps it stopped for a rollback."""
        return self.name.endswith(L.PREVIOUS_SUFFIX)

    @property
    def replica(self) -> int | None:
        """The replica index label, or None when missing or malformed."""
        try:
            return int(self.labels.get(L.REPLICA, ""))
        except ValueError:
            return None


@dataclass(frozen=True)
class HostInfo:
    """One inventory host as the planner sees it.

    Attributes:
        name: Inventory name.
        labels: Inventory labels (Rancher's host labels).
        engine_labels: The engine's own labels (`docker info`); the inventory
            wins where both set a key.
        containers: Every container on the host, running or not.
        cpus: CPUs of the host.
        memory: Memory of the host, bytes (0: unknown, no memory check).
        online: Whether Corral can reach its engine now.
        error: Why it is offline.
        swarm: The swarm the engine is an active member of (a key shared by
            its members, `backends/swarm`), or None.
        swarm_manager: The engine is a manager of that swarm.
    """

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    engine_labels: Mapping[str, str] = field(default_factory=dict)
    containers: tuple[HostContainer, ...] = ()
    cpus: int = 1
    memory: int = 0
    online: bool = True
    error: str | None = None
    swarm: str | None = None
    swarm_manager: bool = False

    @property
    def all_labels(self) -> dict[str, str]:
        """Engine labels overlaid with inventory labels."""
        return {**self.engine_labels, **self.labels}


@dataclass(frozen=True)
class Step:
    """What happens to one container.

    Attributes:
        action: `create`, `keep`, `start` (kept, but stopped now), `replace`
            (same host, new configuration) or `remove`.
        service: The service.
        index: The replica index (1-based).
        host: Where it runs (or ran, for `remove`).
        name: The container name.
        reason: Why, in words.
        container: The existing container's id (all actions but `create`).
        config_hash: The configuration hash the container will carry.
        dropped: Soft rules dropped so that a host fits (for `create`).
        rejected: Hosts passed over and why, in host order (for `create`).
    """

    action: str
    service: str
    index: int
    host: str
    name: str
    reason: str
    container: str | None = None
    config_hash: str | None = None
    dropped: tuple[str, ...] = ()
    rejected: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {
            "action": self.action, "service": self.service, "index": self.index,
            "host": self.host, "name": self.name, "reason": self.reason,
            "container": self.container, "config_hash": self.config_hash,
            "dropped": list(self.dropped),
            "rejected": {host: why for host, why in self.rejected},
        }


@dataclass(frozen=True)
class Plan:
    """Every container of a stack after the plan, and how to get there.

    Attributes:
        stack: The stack name.
        steps: Creates, keeps, starts, replaces and removes, in the order the
            services start (dependencies first), then by index and host.
        warnings: Things that will work but not as in Rancher (cross-host links…).
        hosts: Online hosts considered.
        offline: Hosts left out, with why.
        overlay: The hosts the stack's overlay network spans, when every host
            the plan uses is in one swarm (empty: a bridge network per host).
        notes: What is worth knowing that is not a problem (the overlay).
    """

    stack: str
    steps: tuple[Step, ...] = ()
    warnings: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    offline: tuple[tuple[str, str], ...] = ()
    overlay: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def changes(self) -> tuple[Step, ...]:
        """The steps that change something."""
        return tuple(step for step in self.steps if step.action != KEEP)

    @property
    def no_op(self) -> bool:
        """True when applying the plan changes no container."""
        return not self.changes

    def final(self) -> tuple[Step, ...]:
        """The containers that exist once the plan is applied."""
        return tuple(step for step in self.steps if step.action != REMOVE)

    def counts(self) -> dict[str, int]:
        """How many steps of each action."""
        return {action: sum(s.action == action for s in self.steps) for action in ACTIONS}

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {
            "stack": self.stack,
            "steps": [step.to_dict() for step in self.steps],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "network": {"driver": "overlay" if self.overlay else "bridge",
                        "name": f"{self.stack}_default", "hosts": list(self.overlay)},
            "hosts": list(self.hosts),
            "offline": {host: why for host, why in self.offline},
            "counts": self.counts(),
        }
