"""Reading the audit trail back: the local file and the hosts, merged.

The same entry may come from the local file and from several hosts (one copy
per host touched): it is shown once, by its id. Newest last.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from corral.backends.audit import local, remote
from corral.backends.audit.entry import AuditEntry
from corral.backends.errors import BackendError
from corral.backends.ssh import Fleet


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to show.

    Attributes:
        since: Only entries at or after this epoch time.
        stack: Only entries of this stack.
        host: Only entries that touched this host.
    """

    since: float | None = None
    stack: str | None = None
    host: str | None = None

    def keeps(self, entry: AuditEntry) -> bool:
        """Whether `entry` passes every condition given."""
        return ((self.since is None or entry.time >= self.since)
                and (self.stack is None or entry.stack == self.stack)
                and (self.host is None or self.host in entry.hosts))


def merge(*sources: Iterable[AuditEntry]) -> list[AuditEntry]:
    """Entries of every source, each once (by id), oldest first."""
    seen: dict[str, AuditEntry] = {}
    for source in sources:
        for entry in source:
            seen.setdefault(entry.id or f"{entry.time}/{entry.verb}", entry)
    return sorted(seen.values(), key=lambda entry: (entry.time, entry.id))


def read_hosts(fleet: Fleet, hosts: list[str] | None = None
               ) -> tuple[list[AuditEntry], list[BackendError]]:
    """Every entry the online hosts keep, and the hosts that could not be read.

    Blocking: never call it on the backend loop.

    Args:
        fleet: The hosts.
        hosts: Only these; default every host.
    """
    names = [name for name in (hosts if hosts is not None else list(fleet.sessions))
             if name in fleet.sessions]
    entries: list[AuditEntry] = []
    errors: list[BackendError] = []
    for result in fleet.query(remote.read, names):
        if result.ok:
            entries.extend(result.value or [])
        elif result.error is not None:
            errors.append(result.error)
    return entries, errors


def read_all(fleet: Fleet | None, wanted: AuditFilter | None = None,
             hosts: list[str] | None = None) -> tuple[list[AuditEntry], list[BackendError]]:
    """The local file and the hosts' history merged, filtered, oldest first.

    Args:
        fleet: The hosts, or None for the local file alone.
        wanted: The filter; default everything.
        hosts: Read only these hosts' history; default every host (or the
            filter's host).

    Returns:
        The entries, and the hosts that could not be read.
    """
    wanted = wanted or AuditFilter()
    remote_entries: list[AuditEntry] = []
    errors: list[BackendError] = []
    if fleet is not None:
        if wanted.host:
            hosts = [wanted.host]
        remote_entries, errors = read_hosts(fleet, hosts)
    entries = merge(local.read(), remote_entries)
    return [entry for entry in entries if wanted.keeps(entry)], errors
