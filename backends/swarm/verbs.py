"""Making, joining and leaving a swarm: `init`, `join`, `leave`.

Each verb is planned first from a `Cluster` reading (pure: who does what,
through which manager, and the warnings an operator must see before saying
yes), then run inside the gate (`swarm.init`, `swarm.join`, `swarm.leave`).
Join tokens travel from a manager's tunnel to the joining host's tunnel and
are never in a plan, an audit entry or a message.

A manager leaves by being demoted first (through another manager), so the
raft shrinks cleanly instead of counting a gone manager against quorum; the
last manager leaves only with `force`, which ends the swarm for every node.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from corral.backends import guard
from corral.backends.errors import BackendError, SwarmError
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession
from corral.backends.swarm.cluster import Cluster, Quorum

#: The port managers listen on for the swarm's control traffic.
MANAGER_PORT = 2377


@dataclass(frozen=True)
class Init:
    """A swarm about to be made: the first host inits it, the others join."""

    first: str
    managers: tuple[str, ...]
    workers: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every host, the first one first."""
        return (self.first, *self.managers, *self.workers)


@dataclass(frozen=True)
class Join:
    """A host about to join the swarm of `via` (a manager)."""

    host: str
    via: str
    manager: bool
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Leave:
    """A host about to leave its swarm.

    Attributes:
        host: The host leaving.
        manager: It is a manager (demoted through `via` first).
        via: Another manager of the swarm ("" when there is none).
        node_id: Its node ID (removed from the node list through `via`).
        last: It is the last manager: leaving ends the swarm.
        others: The other members' inventory names.
        warnings: What the operator must read before saying yes.
    """

    host: str
    manager: bool
    via: str
    node_id: str
    last: bool
    others: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _usable(cluster: Cluster, host: str) -> None:
    if host in cluster.offline:
        raise SwarmError(f"cannot reach the engine: {cluster.offline[host]}", host=host)
    if host not in cluster.members:
        raise SwarmError("not read (unknown host)", host=host)


def plan_init(cluster: Cluster, hosts: list[str], managers: int = 1) -> Init:
    """The swarm `hosts` would make: `hosts[0]` inits it, the next `managers - 1` join as
    managers, the rest as workers.

    Raises:
        SwarmError: A host is unreachable or already in a swarm, or `managers` is out of range.
    """
    if not hosts:
        raise SwarmError("name the hosts of the swarm (--hosts H1,H2,H3)")
    if not 1 <= managers <= len(hosts):
        raise SwarmError(f"--managers {managers}: between 1 and {len(hosts)} (the hosts named)")
    for host in hosts:
        _usable(cluster, host)
        member = cluster.members[host]
        if member.state != "inactive":
            raise SwarmError(f"already in a swarm ({member.state}, node {member.node_id or '?'})"
                             f": `corral swarm leave {host}` first", host=host)
    warnings = []
    if managers % 2 == 0:
        warnings.append(f"{managers} managers tolerate no more failures than {managers - 1}:"
                        " an odd number is better")
    if managers == 1 and len(hosts) > 1:
        warnings.append(f"one manager ({hosts[0]}): if it is lost, the swarm cannot change"
                        " until it is back")
    return Init(hosts[0], tuple(hosts[1:managers]), tuple(hosts[managers:]), tuple(warnings))


def plan_join(cluster: Cluster, host: str, manager: bool = False) -> Join:
    """How `host` joins the one swarm the other inventory hosts are in.

    Raises:
        SwarmError: The host is in a swarm, there is no swarm or several, or
            no manager of it is an inventory host.
    """
    _usable(cluster, host)
    if cluster.members[host].state != "inactive":
        raise SwarmError(f"already in a swarm ({cluster.members[host].state})", host=host)
    swarms = cluster.swarms
    if not swarms:
        raise SwarmError("no inventory host is in a swarm: `corral swarm init --hosts ...`"
                         " first")
    if len(swarms) > 1:
        raise SwarmError("inventory hosts are in several swarms: join one of them with"
                         " `docker swarm join`")
    managers = cluster.managers(swarms[0])
    if not managers:
        raise SwarmError("no inventory host is a manager of the swarm to join")
    warnings = []
    quorum = cluster.quorum(swarms[0])
    if not quorum.held:
        warnings.append(f"the swarm has no quorum ({quorum.reachable} of {quorum.managers}"
                        " managers answer): joining will fail")
    if manager and (quorum.managers + 1) % 2 == 0:
        warnings.append(f"{quorum.managers + 1} managers tolerate no more failures than"
                        f" {quorum.managers}: an odd number is better")
    return Join(host, managers[0], manager, tuple(warnings))


def plan_leave(cluster: Cluster, host: str, force: bool = False) -> Leave:
    """How `host` leaves its swarm, and what that costs.

    Raises:
        SwarmError: The host is in no swarm, or it is the last manager and not `force`.
    """
    _usable(cluster, host)
    member = cluster.members[host]
    if member.state == "inactive":
        raise SwarmError("in no swarm", host=host)
    key = member.swarm_key or ""
    others = tuple(h for h in cluster.hosts_in(key) if h != host)
    quorum = cluster.quorum(key)
    node = cluster.node(host)
    managers = [h for h in cluster.managers(key) if h != host]
    last = member.manager and quorum.managers <= 1
    warnings = []
    if last:
        if not force:
            raise SwarmError("the last manager of its swarm: leaving ends the swarm for every"
                             " node; pass --force to do it", host=host)
        rest = f": {', '.join(others)} lose it too" if others else ""
        warnings.append(f"{host} is the last manager: the swarm ends{rest}")
    elif member.manager:
        reachable = node is not None and node.reachability == "reachable"
        after = Quorum(quorum.managers - 1, quorum.reachable - (1 if reachable else 0))
        if not after.held:
            warnings.append(f"quorum would be lost: {after.reachable} of {after.managers}"
                            f" managers would answer, {after.needed} needed")
        elif after.managers and after.tolerates == 0:
            left = f"{after.managers} manager{'s' if after.managers > 1 else ''} left"
            warnings.append(f"{left}: the swarm then tolerates no manager failure")
    if member.manager and not last and not managers:
        raise SwarmError("no other manager of its swarm is an inventory host to demote it"
                         " through", host=host)
    if not member.manager and not cluster.managers(key) and not force:
        raise SwarmError("no manager of its swarm is an inventory host: pass --force to leave"
                         " anyway (its node stays listed as down)", host=host)
    via = managers[0] if managers else ""
    return Leave(host, member.manager, via, member.node_id, last, others, tuple(warnings))


def advertise_address(fleet: Fleet, session: HostSession) -> str:
    """The address the host's engine should advertise to the swarm.

    The address the host itself sees its SSH connection arrive on (the
    server half of `$SSH_CONNECTION`): the inventory address as the host
    sees it, right behind NAT or a DNS alias; the inventory's own address
    when there is no SSH (the local engine).
    """
    if fleet.backend is not None and session.connection is not None:
        try:
            status, output = fleet.backend.run(
                session.run_command("echo $SSH_CONNECTION", timeout=10), timeout=15)
        except BackendError:
            status, output = 1, ""
        fields = output.split()
        if status == 0 and len(fields) == 4:
            return fields[2]
    target = session.spec.ssh.rpartition("@")[2]
    if target.startswith("["):
        return target[1:].partition("]")[0]
    return target.rsplit(":", 1)[0] if target.count(":") == 1 else target


def _tokens(session: HostSession) -> dict[str, str]:
    return session.call(lambda client: client.api.inspect_swarm()).get("JoinTokens") or {}


def _join(fleet: Fleet, host: str, manager_address: str, token: str) -> None:
    session = fleet.session(host)
    address = advertise_address(fleet, session)
    session.call(lambda client: client.api.join_swarm(
        [manager_address], token, listen_addr=f"0.0.0.0:{MANAGER_PORT}",
        advertise_addr=address))


def run_init(fleet: Fleet, init: Init) -> dict[str, str]:
    """Make the swarm (blocking): init on the first host, join the others.

    Returns:
        Host -> error for hosts that did not join (the swarm exists without them).

    Raises:
        ActionRefused: Read-only; nothing changed.
        BackendError: The first host could not init the swarm; nothing changed.
    """
    with guard.mutating("swarm.init", hosts=init.hosts, target=init.first,
                        args={"managers": [init.first, *init.managers],
                              "workers": list(init.workers)},
                        readonly=fleet.readonly) as change:
        first = fleet.session(init.first)
        address = advertise_address(fleet, first)
        first.call(lambda client: client.api.init_swarm(
            advertise_addr=address, listen_addr=f"0.0.0.0:{MANAGER_PORT}"))
        tokens = _tokens(first)
        problems: dict[str, str] = {}
        for host in (*init.managers, *init.workers):
            token = tokens.get("Manager" if host in init.managers else "Worker", "")
            try:
                _join(fleet, host, f"{address}:{MANAGER_PORT}", token)
            except BackendError as exc:
                problems[host] = exc.message
        change.problems.update(problems)
        return problems


def run_join(fleet: Fleet, join: Join) -> None:
    """Join `join.host` to the swarm through its manager (blocking).

    Raises:
        ActionRefused: Read-only; nothing changed.
        BackendError: The manager or the host refused.
    """
    with guard.mutating("swarm.join", hosts=(join.host, join.via), target=join.host,
                        args={"role": "manager" if join.manager else "worker", "via": join.via},
                        readonly=fleet.readonly):
        via = fleet.session(join.via)
        tokens = _tokens(via)
        address = via.call(lambda client: client.api.info()).get("Swarm", {}).get("NodeAddr")
        _join(fleet, join.host, f"{address}:{MANAGER_PORT}",
              tokens.get("Manager" if join.manager else "Worker", ""))


def run_leave(fleet: Fleet, leave: Leave, force: bool = False) -> None:
    """Take `leave.host` out of its swarm (blocking).

    A manager is demoted through another manager first; once it has left,
    its node is removed from the node list through a manager.

    Raises:
        ActionRefused: Read-only; nothing changed.
        BackendError: A host refused (the steps before stay done).
    """
    hosts = tuple(h for h in (leave.host, leave.via) if h)
    with guard.mutating("swarm.leave", hosts=hosts, target=leave.host,
                        args={"role": "manager" if leave.manager else "worker",
                              "force": force, "ends_swarm": leave.last},
                        readonly=fleet.readonly):
        session = fleet.session(leave.host)
        if leave.manager and leave.via:
            via = fleet.session(leave.via)
            node = via.call(lambda client: client.api.inspect_node(leave.node_id))
            spec = dict(node["Spec"], Role="worker")
            via.call(lambda client: client.api.update_node(
                leave.node_id, node["Version"]["Index"], spec))
            _wait_demoted(session)
        session.call(lambda client: client.api.leave_swarm(force=force or leave.last))
        if leave.via:
            _remove_node(fleet.session(leave.via), leave.node_id)


def _wait_demoted(session: HostSession, timeout: float = 20.0) -> None:
    """Wait until the host's engine no longer acts as a manager (leaving sooner would
    count against quorum)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        swarm = session.call(lambda client: client.api.info()).get("Swarm") or {}
        if not swarm.get("ControlAvailable"):
            return
        time.sleep(0.5)
    raise SwarmError("still a manager after being demoted; nothing left the swarm",
                     host=session.name)


def _remove_node(via: HostSession, node_id: str, timeout: float = 20.0) -> None:
    """Remove a node that left from the node list (it shows `down` until then)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            via.call(lambda client: client.api.remove_node(node_id, force=True))
            return
        except BackendError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)

