"""The doctor's probes from the hosts themselves: swarm ports between them, registries."""

from __future__ import annotations

import asyncio

from corral.backends.doctor import ports as P
from corral.backends.doctor.gathered import Gathered, one_line, run_on, timed
from corral.backends.doctor.model import FAIL, OK, WARN, Check
from corral.backends.sshlib import asyncssh

#: Seconds a peer has to answer one port probe.
PORT_TIMEOUT = 2.0


def probe_ready(host: Gathered) -> bool:
    return host.conn is not None and host.facts is not None and bool(host.facts.get("perl"))


async def port_checks(found: dict[str, Gathered], timeout: float) -> None:
    """Listeners on every host, then every host probes every peer; verdicts per receiver.

    Entries that share an address (one machine under two names) are probed once,
    through the first of them: two listeners on one machine would fight over the ports.
    """
    remote: dict[str, Gathered] = {}
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
    ready = {name: host for name, host in remote.items() if probe_ready(host)}
    listeners: dict[str, asyncssh.SSHClientProcess] = {}
    busy: dict[str, set[str]] = {}

    async def listen(name: str, host: Gathered) -> None:
        proc = await host.conn.create_process(P.listener_command(int(timeout * 3)))
        listeners[name] = proc
        lines = []
        while True:
            line = await proc.stdout.readline()
            if not line or line.startswith("ready"):
                break
            lines.append(line)
        busy[name] = P.parse_listener(lines)[1]

    results = await asyncio.gather(*(timed(listen(n, h), timeout) for n, h in ready.items()),
                                   return_exceptions=True)
    listening = {name for name, result in zip(ready, results, strict=True)
                 if not isinstance(result, BaseException)}
    verdicts: dict[str, list[P.PortVerdict]] = {name: [] for name in remote}

    async def probe(source: str, host: Gathered) -> None:
        peers = [name for name in listening if name != source]
        targets = [f"{found[peer].address}:{port}" for peer in peers for port in P.SWARM_PORTS]
        if not targets:
            return
        try:
            out = await timed(run_on(host, P.client_command(targets, PORT_TIMEOUT)), timeout)
        except (OSError, TimeoutError, asyncssh.Error) as exc:
            out, error = "", one_line(exc)
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
                   ready: dict[str, Gathered]) -> Check:
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


async def registry_checks(found: dict[str, Gathered], configured: set[str],
                           timeout: float) -> None:
    """Each registry named in the configuration or trusted by the engine, from each host."""
    async def one(host: Gathered) -> None:
        config = host.info.get("RegistryConfig") or {}
        trusted = {name for name in (config.get("IndexConfigs") or {}) if name != "docker.io"}
        registries = sorted(configured | trusted)
        if not registries:
            host.report.add(Check("registry.reach", OK, "no registry configured: images are "
                                  "pushed over SSH"))
            return
        if not probe_ready(host):
            host.report.add(Check("registry.reach", WARN, "unverified: perl not found"))
            return
        targets = {_registry_target(name): name for name in registries}
        try:
            out = await timed(run_on(host, P.client_command(list(targets), PORT_TIMEOUT)),
                               timeout)
        except (OSError, TimeoutError, asyncssh.Error) as exc:
            host.report.add(Check("registry.reach", WARN, f"unverified: {one_line(exc)}"))
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
