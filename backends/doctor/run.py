"""Running the doctor across a fleet: every host at once, each step with its own timeout.

Per host: an SSH connection of the doctor's own (so SSH is judged even when the
engine tunnel fails), the engine's facts through the fleet's session, and one
read-only script (`host_script`). Then the fleet-wide checks: clocks, hostnames,
engine IDs, the swarm ports between every pair (`ports`), the registries. A host
that does not answer or vanishes half-way gets a `fail` with one line; nothing
here raises for a host's sake.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncssh

from corral.backends.doctor import checks as C
from corral.backends.doctor import ports as P
from corral.backends.doctor.host_script import HostFacts, command, parse
from corral.backends.doctor.model import FAIL, OK, WARN, Check, HostReport, worst
from corral.backends.engine import host_facts
from corral.backends.engine_identity import same_engine
from corral.backends.errors import BackendError
from corral.backends.inventory import HostSpec, Inventory
from corral.backends.ssh import Fleet, HostSession, SshSettings
from corral.backends.ssh.connect import close_connection, open_connection

#: Seconds one step on one host may take (connect, engine, script, a probe run).
CHECK_TIMEOUT = 15.0
#: Seconds a peer has to answer one port probe.
PORT_TIMEOUT = 2.0
#: Test hook (documented in README): `HOST=MS[,HOST=MS]` added to the measured clock
#: offsets, so a skewed clock can be seeded without changing a host's clock.
ENV_FAKE_CLOCK = "CORRAL_DOCTOR_FAKE_CLOCK_OFFSET"
DEFAULT_DATA_ROOT = "/var/lib/docker"

T = TypeVar("T")


@dataclass
class _Host:
    """What was gathered on one host before the fleet-wide checks."""

    spec: HostSpec
    report: HostReport
    conn: asyncssh.SSHClientConnection | None = None
    info: dict[str, Any] = field(default_factory=dict)
    facts: HostFacts | None = None
    clock_ms: float | None = None
    engine_id: str | None = None
    address: str = ""


async def _timed(step: Awaitable[T], timeout: float) -> T:
    return await asyncio.wait_for(step, timeout)


def _line(exc: BaseException) -> str:
    if isinstance(exc, BackendError):
        return exc.message.splitlines()[0] if exc.message else type(exc).__name__
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return (str(exc).splitlines() or [type(exc).__name__])[0] or type(exc).__name__


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
            result = _Host(sessions[name].spec, HostReport(name, error=_line(result)))
        found[name] = result
    try:
        _fleet_checks(found)
        await asyncio.gather(_port_checks(found, timeout) if ports else asyncio.sleep(0),
                             _registry_checks(found, set(fleet.registries), timeout))
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


async def _examine(session: HostSession, timeout: float) -> _Host:
    host = _Host(session.spec, HostReport(session.name))
    report = host.report
    if not session.spec.is_local:
        try:
            host.conn = await _timed(open_connection(session.spec, session.settings), timeout)
        except (BackendError, OSError, TimeoutError, asyncssh.Error) as exc:
            report.error = _line(exc)
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
        host.facts = parse(await _timed(_run(host, command(session.spec.socket, root)), timeout))
    except (BackendError, OSError, TimeoutError, asyncssh.Error) as exc:
        report.add(Check("ssh.socket-access", FAIL, f"the host script failed: {_line(exc)}"))
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
            seen.append(f"{os.path.basename(path)}: unreadable ({_line(exc)})")
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


async def _engine_checks(session: HostSession, host: _Host, timeout: float) -> None:
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
        facts, host.info = await _timed(asyncio.to_thread(read), timeout)
    except (BackendError, TimeoutError) as exc:
        report.add(Check("engine.version", FAIL, f"the engine does not answer: {_line(exc)}"))
        return
    host.clock_ms, host.engine_id = facts.clock_offset_ms, facts.engine_id
    report.add(C.engine_version(session.version, host.info))
    report.add(C.storage_driver(host.info))
    report.add(C.live_restore(host.info))
    swarm_address = (host.info.get("Swarm") or {}).get("NodeAddr")
    if swarm_address:
        host.address = swarm_address


async def _run(host: _Host, cmd: str) -> str:
    """Run a command on the host (locally for the local engine); its standard output."""
    if host.conn is None:
        proc = await asyncio.create_subprocess_exec(
            "sh", "-c", cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        out, _ = await proc.communicate()
        return out.decode(errors="replace")
    result = await host.conn.run(cmd, check=False)
    return result.stdout if isinstance(result.stdout, str) else ""


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


def _fleet_checks(found: dict[str, _Host]) -> None:
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


def _probe_ready(host: _Host) -> bool:
    return host.conn is not None and host.facts is not None and bool(host.facts.get("perl"))


async def _port_checks(found: dict[str, _Host], timeout: float) -> None:
    """Listeners on every host, then every host probes every peer; verdicts per receiver.

    Entries that share an address (one machine under two names) are probed once,
    through the first of them: two listeners on one machine would fight over the ports.
    """
    remote: dict[str, _Host] = {}
    alias: dict[str, str] = {}
    for name, host in found.items():
        if host.conn is None:
            continue
        first = next((other for other, known in remote.items()
                      if known.address == host.address), None)
        if first is None:
            remote[name] = host
        else:
            alias[name] = first
    if len(remote) < 2:
        for host in remote.values():
            host.report.add(Check("swarm.ports", OK, "no peer to probe (one host)"))
        return
    ready = {name: host for name, host in remote.items() if _probe_ready(host)}
    listeners: dict[str, asyncssh.SSHClientProcess] = {}
    busy: dict[str, set[str]] = {}

    async def listen(name: str, host: _Host) -> None:
        proc = await host.conn.create_process(P.listener_command(int(timeout * 3)))
        listeners[name] = proc
        lines = []
        while True:
            line = await proc.stdout.readline()
            if not line or line.startswith("ready"):
                break
            lines.append(line)
        busy[name] = P.parse_listener(lines)[1]

    results = await asyncio.gather(*(_timed(listen(n, h), timeout) for n, h in ready.items()),
                                   return_exceptions=True)
    listening = {name for name, result in zip(ready, results, strict=True)
                 if not isinstance(result, BaseException)}
    verdicts: dict[str, list[P.PortVerdict]] = {name: [] for name in remote}

    async def probe(source: str, host: _Host) -> None:
        peers = [name for name in listening if name != source]
        targets = [f"{found[peer].address}:{port}" for peer in peers for port in P.SWARM_PORTS]
        if not targets:
            return
        try:
            out = await _timed(_run(host, P.client_command(targets, PORT_TIMEOUT)), timeout)
        except (OSError, TimeoutError, asyncssh.Error) as exc:
            out, error = "", _line(exc)
        else:
            error = ""
        answers = P.parse_client(out)
        for peer in peers:
            for port in P.SWARM_PORTS:
                result = answers.get(f"{found[peer].address}:{port}", "error")
                if port in busy.get(peer, set()) and port.endswith("/udp") and result != "open":
                    result = "unverified"
                if error:
                    result = "error"
                verdicts[peer].append(P.PortVerdict(source, port, result))

    try:
        await asyncio.gather(*(probe(name, found[name]) for name in listening))
    finally:
        for proc in listeners.values():
            proc.stdin.write_eof()
            proc.close()
    for name, host in remote.items():
        host.report.add(_ports_verdict(name, verdicts[name], name in listening, ready))
    for name, first in alias.items():
        verdict = found[first].report.check("swarm.ports")
        if verdict is not None:
            found[name].report.add(Check("swarm.ports", verdict.status,
                                         f"same address as {first}: {verdict.seen}",
                                         verdict.fix))


def _ports_verdict(name: str, verdicts: list[P.PortVerdict], listening: bool,
                   ready: dict[str, _Host]) -> Check:
    ports = ", ".join(P.SWARM_PORTS)
    if not listening:
        why = "perl not found" if name not in ready else "the listener did not start"
        return Check("swarm.ports", WARN, f"unverified: {why} on {name} (ports {ports})",
                     "apt-get install perl-base (Debian's Essential set has it)")
    failed = [v for v in verdicts if v.result not in ("open", "unverified")]
    unverified = [v for v in verdicts if v.result == "unverified"]
    sources = sorted({v.source for v in verdicts})
    if failed:
        blocked = sorted({v.port for v in failed})
        return Check("swarm.ports", FAIL, "; ".join(v.describe() for v in failed),
                     f"open {', '.join(blocked)} to the other hosts in {name}'s firewall")
    if unverified:
        return Check("swarm.ports", WARN, "; ".join(v.describe() for v in unverified)
                     + " (held by the engine: a UDP probe gets no answer)")
    if not sources:
        return Check("swarm.ports", WARN, f"unverified: no peer could probe {name}")
    return Check("swarm.ports", OK, f"{ports} reachable from {', '.join(sources)}")


async def _registry_checks(found: dict[str, _Host], configured: set[str],
                           timeout: float) -> None:
    """Each registry named in the configuration or trusted by the engine, from each host."""
    async def one(host: _Host) -> None:
        config = host.info.get("RegistryConfig") or {}
        trusted = {name for name in (config.get("IndexConfigs") or {}) if name != "docker.io"}
        registries = sorted(configured | trusted)
        if not registries:
            host.report.add(Check("registry.reach", OK, "no registry configured: images are "
                                  "pushed over SSH"))
            return
        if not _probe_ready(host):
            host.report.add(Check("registry.reach", WARN, "unverified: perl not found"))
            return
        targets = {_registry_target(name): name for name in registries}
        try:
            out = await _timed(_run(host, P.client_command(list(targets), PORT_TIMEOUT)),
                               timeout)
        except (OSError, TimeoutError, asyncssh.Error) as exc:
            host.report.add(Check("registry.reach", WARN, f"unverified: {_line(exc)}"))
            return
        answers = P.parse_client(out)
        reached = [name for target, name in targets.items() if answers.get(target) == "open"]
        missed = [name for target, name in targets.items() if answers.get(target) != "open"]
        parts = []
        if reached:
            parts.append(f"reaches {', '.join(reached)} (pull works)")
        if missed:
            parts.append(f"cannot reach {', '.join(missed)}: images are pushed over SSH "
                         "(air-gapped)")
        host.report.add(Check("registry.reach", OK, "; ".join(parts)))

    await asyncio.gather(*(one(host) for host in found.values() if host.facts is not None))


def _registry_target(name: str) -> str:
    """`ADDR:PORT/tcp` of a registry address (443 without a port)."""
    address = name.split("/", 1)[0]
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port = rest.lstrip(":") or "443"
    else:
        host, _, port = address.partition(":")
        port = port or "443"
    return f"{host}:{port}/tcp"
