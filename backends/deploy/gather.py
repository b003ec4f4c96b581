"""Reading what the planner needs from every host: facts, containers, stack records.

Blocking (docker-py): call from a worker thread or the command line; the
hosts are read concurrently through `Fleet.query`. A host that fails while
being read counts as offline, with the error as its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corral.backends import labels as L
from corral.backends.deploy.record import Definition, decode
from corral.backends.engine_identity import engine_id
from corral.backends.errors import BackendError
from corral.backends.plan.model import HostContainer, HostInfo, PortUse
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession
from corral.backends.swarm import member_of


@dataclass(frozen=True)
class Record:
    """A stack record volume found on a host (its definition, or why it is unreadable)."""

    host: str
    volume: str
    stack: str
    generation: int
    definition: Definition | None
    error: str | None = None


@dataclass
class FleetState:
    """Every host's facts and every stack record, read at one moment.

    Attributes:
        hosts: One HostInfo per inventory host, in inventory order.
        records: Every record volume found on an online host.
    """

    hosts: list[HostInfo]
    records: list[Record] = field(default_factory=list)

    def host(self, name: str) -> HostInfo:
        """The facts of host `name`."""
        return next(host for host in self.hosts if host.name == name)

    @property
    def online(self) -> list[str]:
        """Names of the hosts that answered."""
        return [host.name for host in self.hosts if host.online]

    def definition(self, stack: str) -> Definition | None:
        """The stack's latest readable definition over every host, or None."""
        found = [r for r in self.records if r.stack == stack and r.definition is not None]
        best = max(found, key=lambda r: (r.generation, r.definition.deployed_at, r.host),
                   default=None)
        return best.definition if best else None

    def stacks(self) -> list[str]:
        """Names of every stack with a record or a Corral-labelled container."""
        names = {r.stack for r in self.records}
        names |= {c.labels[L.STACK] for h in self.hosts for c in h.containers
                  if L.STACK in c.labels}
        return sorted(names)

    def record_volumes(self) -> frozenset[tuple[str, str]]:
        """(host, volume) of every record read: see `record_volumes`."""
        return frozenset((record.host, record.volume) for record in self.records)

    def containers(self, stack: str) -> list[tuple[str, HostContainer]]:
        """(host, container) of every container Corral made for `stack`, kept copies included."""
        return [(h.name, c) for h in self.hosts for c in h.containers
                if c.labels.get(L.STACK) == stack]


def read_host(session: HostSession) -> tuple[HostInfo, list[Record]]:
    """One host's facts, containers and stack records (three API calls).

    Raises:
        BackendError: The host is offline or its engine failed.
    """
    info = session.call(lambda client: client.api.info())
    session.engine_id = engine_id(info)
    raw = session.call(lambda client: client.api.containers(all=True))
    volumes = _record_list(session)
    containers = tuple(sorted((container_of(item) for item in raw), key=lambda c: c.name))
    member = member_of(session.name, info)
    engine_labels = dict(label.split("=", 1) for label in info.get("Labels") or [] if "=" in label)
    host = HostInfo(
        name=session.name, labels=dict(session.spec.labels), engine_labels=engine_labels,
        containers=containers, cpus=int(info.get("NCPU") or 1),
        memory=int(info.get("MemTotal") or 0), online=True,
        swarm=member.swarm_key, swarm_manager=member.active and member.manager,
    )
    records = []
    for volume in (volumes or {}).get("Volumes") or []:
        labels = volume.get("Labels") or {}
        try:
            definition, error = decode(labels), None
        except ValueError as exc:
            definition, error = None, str(exc)
        try:
            generation = int(labels.get(L.GENERATION, "0"))
        except ValueError:
            generation = 0
        records.append(Record(session.name, volume["Name"], labels.get(L.RECORD, ""),
                              generation, definition, error))
    return host, records


def container_of(item: dict) -> HostContainer:
    """A HostContainer from one entry of the engine's container list."""
    ports = []
    for port in item.get("Ports") or []:
        if port.get("PublicPort"):
            address = port.get("IP") or None
            ports.append(PortUse(int(port["PublicPort"]), port.get("Type", "tcp"),
                                 None if address in ("0.0.0.0", "::") else address))
    names = item.get("Names") or [""]
    return HostContainer(
        name=names[0].lstrip("/"), labels=dict(item.get("Labels") or {}),
        ports=tuple(dict.fromkeys(ports)), id=item.get("Id", "")[:12],
        running=item.get("State") == "running", created=float(item.get("Created") or 0),
    )


def _record_list(session: HostSession) -> dict:
    return session.call(lambda client: client.api.volumes(filters={"label": L.RECORD}))


def record_volumes(fleet: Fleet) -> frozenset[tuple[str, str]] | None:
    """(host, volume) of every stack record on the online hosts, or None if one failed.

    A record is never changed in place (a new generation is a new volume),
    so these names change whenever a record comes or goes. Reading them is
    one small call a host, where `gather` makes three (the container list
    the largest): enough to tell whether a quiet health pass has anything
    new to read.
    """
    online = [name for name, session in fleet.sessions.items() if session.online]
    names = set()
    for result in fleet.query(_record_list, hosts=online):
        if not result.ok:
            return None
        names |= {(result.host, volume["Name"])
                  for volume in (result.value or {}).get("Volumes") or []}
    return frozenset(names)


def gather(fleet: Fleet, hosts: list[str] | None = None, *, acting: bool = True) -> FleetState:
    """Read every host (or `hosts`) at once; unreachable ones come back offline.

    Everything that changes stacks starts here, so this is where Corral
    refuses to go on while two inventory hosts are one engine: a plan would
    count its containers twice and remove the "copies".

    Args:
        fleet: The hosts.
        hosts: Only these hosts.
        acting: The state is read to change something (a listing passes
            False and warns with `fleet.same_engine()` itself).

    Raises:
        SameEngine: Two hosts share one engine ID and `acting`: nothing may
            change anywhere.
    """
    results = fleet.query(read_host, hosts=hosts)
    if acting:
        fleet.check_engines()
    state = FleetState(hosts=[])
    for result in results:
        if result.ok:
            host, records = result.value  # type: ignore[misc]
            state.hosts.append(host)
            state.records.extend(records)
        else:
            session = fleet.sessions[result.host]
            error = result.error.message if isinstance(result.error, BackendError) else "failed"
            state.hosts.append(HostInfo(result.host, labels=dict(session.spec.labels),
                                        online=False, error=error))
    return state
