"""Running the doctor across a fleet: every host at once, each step with its own timeout.

Per host: an SSH connection of the doctor's own (so SSH is judged even when the
engine tunnel fails), the engine's facts through the fleet's session, and one
read-only script (`host_script`). Then the fleet-wide checks: clocks, hostnames,
engine IDs, the swarm ports between every pair and the registries (`probes`). A host
that does not answer or vanishes half-way gets a `fail` with one line; nothing
here raises for a host's sake.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from corral.backends.doctor import checks as C
from corral.backends.doctor.gathered import Gathered, one_line, run_on, timed
from corral.backends.doctor.host_script import command, parse
from corral.backends.doctor.model import FAIL, OK, WARN, Check, HostReport, worst
from corral.backends.doctor.probes import port_checks, registry_checks
from corral.backends.engine import host_facts
from corral.backends.engine_identity import same_engine
from corral.backends.errors import BackendError
from corral.backends.inventory import HostSpec, Inventory
from corral.backends.ssh import Fleet, HostSession, SshSettings
from corral.backends.ssh.connect import close_connection, open_connection
from corral.backends.sshlib import asyncssh

#: Seconds one step on one host may take (connect, engine, script, a probe run).
CHECK_TIMEOUT = 15.0
#: Test hook (documented in README): `HOST=MS[,HOST=MS]` added to the measured clock
#: offsets, so a skewed clock can be seeded without changing a host's clock.
ENV_FAKE_CLOCK = "CORRAL_DOCTOR_FAKE_CLOCK_OFFSET"
DEFAULT_DATA_ROOT = "/var/lib/docker"


async def run_doctor(fleet: Fleet, hosts: list[str] | None = None, *,
                     timeout: float = CHECK_TIMEOUT, ports: bool = True) -> list[HostReport]:
    """Examine hosts: SSH, engine, fleet, swarm ports, kernel, registries.

    Run on the fleet's backend loop. Read-only: the only things started on the
    hosts are a script that reads, and short-lived port listeners and probes
    (`ports`) that end with their SSH channel.

    Args:
        fleet: The connected fleet (offline sessions are fine: their SSH and
            host checks still run, their engine checks fail with the reason).
        hosts: Only these inventory hosts (default all); fleet-wide checks then
            compare these hosts only.
        timeout: Seconds per step per host.
        ports: Probe the swarm ports between the hosts.

    Returns:
        One report per host, in inventory order.
    """
    names = list(hosts) if hosts else list(fleet.sessions)
    sessions = {name: fleet.session(name) for name in names}
    gathered = await asyncio.gather(*(_examine(s, timeout) for s in sessions.values()),
                                    return_exceptions=True)
    found = {}
    for name, result in zip(names, gathered, strict=True):
        if isinstance(result, asyncio.CancelledError):
            raise result
        if isinstance(result, BaseException):  # a host that vanished half-way: one line
            result = Gathered(sessions[name].spec, HostReport(name, error=one_line(result)))
        found[name] = result
    try:
        _fleet_checks(found)
        await asyncio.gather(port_checks(found, timeout) if ports else asyncio.sleep(0),
                             registry_checks(found, set(fleet.registries), timeout))
    finally:
        for host in found.values():
            if host.conn is not None:
                close_connection(host.conn)
    return [host.report for host in found.values()]


async def doctor_specs(specs: list[HostSpec], settings: SshSettings, *,
                       timeout: float = CHECK_TIMEOUT, ports: bool = True) -> list[HostReport]:
    """`run_doctor` on hosts that need not be in any inventory (e.g. one just provisioned).

    Run on a backend loop. A fleet of these hosts is connected for the run and closed.

    Args:
        specs: The hosts.
        settings: SSH settings for every connection.
        timeout: Seconds per step per host.
        ports: Probe the swarm ports between the hosts.
    """
    fleet = Fleet(Inventory(hosts=tuple(specs)), settings)
    try:
        await fleet.connect_all()
        return await run_doctor(fleet, timeout=timeout, ports=ports)
    finally:
        await fleet.close()


async def _examine(session: HostSession, timeout: float) -> Gathered:
    host = Gathered(session.spec, HostReport(session.name))
    report = host.report
    if not session.spec.is_local:
        try:
            host.conn = await timed(open_connection(session.spec, session.settings), timeout)
        except (BackendError, OSError, TimeoutError, asyncssh.Error) as exc:
            report.error = one_line(exc)
            report.add(Check("ssh.reachable", FAIL, f"{session.spec.ssh}: {report.error}"))
            if session.spec.jump:
                report.add(Check("ssh.jump", FAIL, "through " + ", ".join(
                    str(jump) for jump in session.spec.jump) + f": {report.error}"))
            return host
        for check in _ssh_checks(session.spec, host.conn):
            report.add(check)
        peer = host.conn.get_extra_info("peername")
        host.address = peer[0] if peer and not session.spec.jump else session.spec.address
    await _engine_checks(session, host, timeout)
    root = str(host.info.get("DockerRootDir") or DEFAULT_DATA_ROOT)
    try:
        host.facts = parse(await timed(run_on(host, command(session.spec.socket, root)), timeout))
    except (BackendError, OSError, TimeoutError, asyncssh.Error) as exc:
        report.add(Check("ssh.socket-access", FAIL, f"the host script failed: {one_line(exc)}"))
        return host
    facts = host.facts
    if not facts.complete:
        report.add(Check("ssh.socket-access", WARN, "the host script stopped early"))
    report.add(C.socket_access(facts, session.spec.socket))
    if host.info:
        report.add(C.disk_space(facts, root))
        report.add(C.inodes(facts, root))
        report.add(C.log_rotation(facts, host.info))
        report.add(C.cgroup(facts, host.info))
    report.add(C.kernel_module(facts, "vxlan"))
    report.add(C.kernel_module(facts, "ip_vs"))
    return host


def _ssh_checks(spec: HostSpec, conn: asyncssh.SSHClientConnection) -> list[Check]:
    key = conn.get_server_host_key()
    algorithm = key.get_algorithm() if key is not None else "?"
    found = [Check("ssh.reachable", OK, f"{spec.ssh} (host key {algorithm})"), _key_type(spec)]
    if spec.jump:
        found.append(Check("ssh.jump", OK, "through " + " → ".join(str(j) for j in spec.jump)))
    else:
        found.append(Check("ssh.jump", OK, "direct (no jump host)"))
    return found


def _key_type(spec: HostSpec) -> Check:
    """The type and size of the identity the inventory names."""
    if not spec.identity:
        return Check("ssh.key-type", OK, "the agent's or the default keys (~/.ssh/id_*)")
    seen, status = [], OK
    for path in spec.identity:
        try:
            key = asyncssh.read_public_key(path + ".pub") if os.path.exists(path + ".pub") \
                else asyncssh.read_private_key(path)
        except (OSError, asyncssh.KeyImportError, ValueError) as exc:
            if "passphrase" in str(exc).lower():  # protected, and no .pub beside it
                seen.append(f"{os.path.basename(path)}: passphrase-protected (type not read)")
                continue
            seen.append(f"{os.path.basename(path)}: unreadable ({one_line(exc)})")
            status = worst((status, WARN))
            continue
        algorithm = key.get_algorithm()
        bits = _rsa_bits(key)
        label = f"{algorithm} {bits} bits" if bits else algorithm
        if algorithm == "ssh-dss" or (bits and bits < 2048):
            status = worst((status, FAIL))
        elif bits and bits < 3072:
            status = worst((status, WARN))
        seen.append(f"{os.path.basename(path)}: {label}")
    fix = None if status == OK else "ssh-keygen -t ed25519, then replace the key on the host"
    return Check("ssh.key-type", status, "; ".join(seen), fix)


def _rsa_bits(key: Any) -> int | None:
    if key.get_algorithm() != "ssh-rsa":
        return None
    numbers = getattr(getattr(key, "pyca_key", None), "key_size", None)
    return int(numbers) if numbers else None


async def _engine_checks(session: HostSession, host: Gathered, timeout: float) -> None:
    report = host.report
    if not session.online:
        why = session.status.error or session.status.state.value
        report.add(Check("engine.version", FAIL, f"the engine does not answer: {why}",
                         "provision:install-docker"))
        return

    def read() -> tuple[Any, dict]:
        facts = host_facts(session)
        if facts.state != "online":
            raise BackendError(facts.error or "offline", host=session.name)
        return facts, session.call(lambda client: client.api.info())

    try:
        facts, host.info = await timed(asyncio.to_thread(read), timeout)
    except (BackendError, TimeoutError) as exc:
        report.add(Check("engine.version", FAIL, f"the engine does not answer: {one_line(exc)}"))
        return
    host.clock_ms, host.engine_id = facts.clock_offset_ms, facts.engine_id
    report.add(C.engine_version(session.version, host.info))
    report.add(C.storage_driver(host.info))
    report.add(C.live_restore(host.info))
    swarm_address = (host.info.get("Swarm") or {}).get("NodeAddr")
    if swarm_address:
        host.address = swarm_address


def fake_clock_offsets(text: str | None = None) -> dict[str, float]:
    """The test hook's extra clock offsets (ms) per host, from `ENV_FAKE_CLOCK`."""
    text = os.environ.get(ENV_FAKE_CLOCK, "") if text is None else text
    offsets = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            offsets[name.strip()] = float(value)
        except ValueError:
            continue
    return offsets


def _fleet_checks(found: dict[str, Gathered]) -> None:
    fake = fake_clock_offsets()
    offsets = {name: (host.clock_ms + fake.get(name, 0.0)) if host.clock_ms is not None
               else None for name, host in found.items()}
    problem = same_engine({name: host.engine_id for name, host in found.items()})
    hostnames: dict[str, list[str]] = {}
    for name, host in found.items():
        hostname = str(host.info.get("Name") or (host.facts.get("hostname") if host.facts else ""))
        if hostname and host.engine_id:
            hostnames.setdefault(hostname, []).append(name)
    engines = {host.engine_id for host in found.values()}
    for name, host in found.items():
        report = host.report
        verdict = C.clock(name, offsets)
        if verdict is not None:
            report.add(verdict)
        if not host.engine_id:
            continue
        if problem is not None and name in problem.hosts:
            report.add(Check("fleet.engine-id", FAIL, str(problem),
                             f"corral hosts rm {problem.hosts[-1]}"))
        else:
            report.add(Check("fleet.engine-id", OK, f"engine {host.engine_id[:14]}… is this "
                             "entry's own"))
        hostname = str(host.info.get("Name") or "")
        # Two entries of one engine share its hostname: that is fleet.engine-id's finding.
        others = [other for other in hostnames.get(hostname, []) if other != name
                  and found[other].engine_id != host.engine_id]
        if others:
            report.add(Check("fleet.hostname", WARN, f"hostname {hostname} is also "
                             f"{', '.join(others)}'s (swarm node names collide)",
                             "hostnamectl set-hostname NEW-NAME"))
        elif hostname:
            report.add(Check("fleet.hostname", OK, f"{hostname} (unique among "
                             f"{len(engines - {None})} engines)"))
