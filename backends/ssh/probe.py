"""Trying a host before it joins the inventory (Rancher's "Add Host" check).

A probe connects with the same strict host key rules as every session. An
unknown key stops it with the key's fingerprint, so the operator can compare
it with the host's own (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`)
and accept exactly that fingerprint; accepted, the key is recorded in
known_hosts and the probe goes on to ask the Docker engine what it is.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import Any

from corral.backends.engine_identity import engine_id, engine_owner, short_id
from corral.backends.errors import (
    BackendError,
    DockerApiError,
    DockerUnavailable,
    HostKeyChanged,
    HostKeyUnknown,
    HostOffline,
    TunnelRefused,
)
from corral.backends.inventory.load import HostSpec, Inventory
from corral.backends.ssh.connect import SshSettings, close_connection, open_connection
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession

# Failures that happen after SSH worked: the host can be added, its engine
# may come later.
_ENGINE_ERRORS = (TunnelRefused, DockerUnavailable, HostOffline, DockerApiError)


@dataclass(frozen=True)
class EngineFound:
    """What the host's Docker engine said about itself."""

    version: str
    api_version: str
    os: str
    arch: str
    kernel: str
    hostname: str
    containers: int
    running: int
    tunnel: str
    #: Its identity (`engine_identity.engine_id`): tells a second address of a
    #: managed engine from a new engine.
    engine_id: str | None = None

    def describe(self) -> str:
        """One line for people."""
        return (
            f"Docker {self.version} (API {self.api_version}) on {self.hostname}, "
            f"{self.os}/{self.arch}, kernel {self.kernel}; "
            f"{self.running}/{self.containers} containers running; via {self.tunnel}"
        )


@dataclass(frozen=True)
class ProbeReport:
    """What trying a host found.

    Attributes:
        host: The candidate's name.
        target: Where it was tried (`user@address:port`).
        fingerprint: SHA256 fingerprint of the host's key, once presented.
        key_recorded: The key was unknown, explicitly accepted, and has just
            been written to known_hosts.
        ssh_ok: SSH connected and authenticated (the host can be added).
        engine: The Docker engine's answers, if it answered.
        error: Why the probe stopped short, if it did.
        same_engine_as: The inventory host that already reaches this very
            engine (same engine ID): such a host must not be added.
    """

    host: str
    target: str
    fingerprint: str | None = None
    key_recorded: bool = False
    ssh_ok: bool = False
    engine: EngineFound | None = None
    error: BackendError | None = None
    same_engine_as: str | None = None

    @property
    def needs_acceptance(self) -> bool:
        """The host presented a key nobody has accepted yet (not a changed one)."""
        return isinstance(self.error, HostKeyUnknown) and not isinstance(
            self.error, HostKeyChanged
        )

    @property
    def ok(self) -> bool:
        """SSH and the engine both answered."""
        return self.ssh_ok and self.engine is not None

    @property
    def refusal(self) -> str | None:
        """Why this host must not be added although it answered (one line), or None."""
        if self.same_engine_as is None or self.engine is None:
            return None
        return (f"{self.target} reaches the Docker engine of {self.same_engine_as} (engine ID "
                f"{short_id(self.engine.engine_id or '?')}), already in the inventory: one "
                "engine under two names would have its containers counted twice")

    def describe(self) -> str:
        """A short account for people: what was found, or why not."""
        if self.engine is not None:
            return self.engine.describe()
        if self.needs_acceptance:
            return (
                f"{self.target} presents an unknown host key {self.fingerprint}: verify it "
                "on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and accept it"
            )
        why = self.error.message if self.error else "no answer"
        if self.ssh_ok:
            return f"SSH works, but the Docker engine did not answer: {why}"
        return f"cannot connect: {why}"


async def probe_host(
    spec: HostSpec, settings: SshSettings, accept: str | None = None
) -> ProbeReport:
    """Try a candidate host: SSH with strict host keys, then its Docker engine.

    Run on the backend loop. Two connections are made: the first checks
    and (if accepted) records the host key, the second is a full session,
    exactly as the fleet will make it.

    Args:
        spec: The candidate (need not be in any inventory).
        settings: SSH settings; known_hosts is where an accepted key goes.
        accept: A fingerprint the operator has verified and accepts.

    Returns:
        The report; errors are in it, never raised.
    """
    if accept:
        settings = dataclasses.replace(
            settings, accept_fingerprints=settings.accept_fingerprints | {accept}
        )
    report = ProbeReport(host=spec.name, target=str(spec.ssh))
    try:
        conn = await open_connection(spec, settings)
    except BackendError as exc:
        fingerprint = exc.fingerprint if isinstance(exc, HostKeyUnknown) else None
        return dataclasses.replace(report, fingerprint=fingerprint, error=exc)
    try:
        key = conn.get_server_host_key()
        chain = [*getattr(conn, "corral_jumps", []), conn]
        recorded = any(
            getattr(getattr(c, "corral_check", None), "presented", None) is not None
            for c in chain
        )
        report = dataclasses.replace(
            report,
            fingerprint=key.get_fingerprint("sha256") if key is not None else None,
            key_recorded=recorded,
            ssh_ok=True,
        )
    finally:
        close_connection(conn)
    session = HostSession(spec, settings)
    try:
        await session.connect()
        info = await asyncio.to_thread(session.call, lambda client: client.info())
        return dataclasses.replace(report, engine=_engine(session.version, info, session))
    except _ENGINE_ERRORS as exc:
        return dataclasses.replace(report, error=exc)
    except BackendError as exc:
        return dataclasses.replace(report, ssh_ok=False, error=exc)
    finally:
        await session.close()


async def check_same_engine(report: ProbeReport, known: Fleet | Inventory,
                            settings: SshSettings | None = None) -> tuple[ProbeReport, list[str]]:
    """Note in `report` which managed host already reaches the probed engine, if one does.

    Run on the backend loop. A live fleet's online hosts are asked again
    (their engine may have changed); an inventory's hosts are connected to
    just for this, with `settings`.

    Args:
        report: A probe's report (a report without an engine ID is returned as is).
        known: The console's fleet, or the inventory `corral hosts add` writes.
        settings: SSH settings, needed for an inventory.

    Returns:
        The report, and the hosts whose engine could not be asked (offline).
    """
    ident = report.engine.engine_id if report.engine is not None else None
    if ident is None:
        return report, []
    if isinstance(known, Fleet):
        ids = await asyncio.to_thread(known.read_engine_ids)
    else:
        if settings is None:
            raise ValueError("settings are needed to reach an inventory's hosts")
        fleet = Fleet(known, settings)
        try:
            await fleet.connect_all()
            ids = await asyncio.to_thread(fleet.read_engine_ids)
        finally:
            await fleet.close()
    owner = engine_owner(ident, ids, skip=report.host)
    unasked = [host for host, other in ids.items() if other is None and host != report.host]
    return dataclasses.replace(report, same_engine_as=owner), unasked


def _engine(version: dict[str, Any], info: dict[str, Any], session: HostSession) -> EngineFound:
    return EngineFound(
        version=str(version.get("Version", "?")),
        api_version=str(version.get("ApiVersion", "?")),
        os=str(version.get("Os", "?")),
        arch=str(version.get("Arch", "?")),
        kernel=str(version.get("KernelVersion", "?")),
        hostname=str(info.get("Name", "?")),
        containers=int(info.get("Containers", 0)),
        running=int(info.get("ContainersRunning", 0)),
        tunnel=session.status.tunnel or "?",
        engine_id=engine_id(info),
    )
