"""The audit history kept on the hosts, so the next operator sees it.

One small volume per entry per host touched, named
`corral-audit.STACK.TIME.RAND` (`corral-audit.TIME.RAND` outside a stack),
its labels holding the entry as JSON. Why volumes, and why one per entry:

- The stack record (`deploy/record.py`) cannot carry it: volume labels never
  change, and `rm` removes the record, while the next operator most needs to
  see who removed the stack. Audit volumes carry no stack label, so nothing
  that removes a stack's objects removes them.
- Create-only objects need no lock: two operators writing at once each create
  their own volume, where a shared, rewritten object would lose one write.
- A volume needs no image, never runs, and `docker volume inspect` shows the
  entry to someone without Corral.

Each host keeps the last `KEEP` entries of each stack (and `KEEP` outside
stacks): the writer prunes the oldest after each write.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time

from corral.backends import labels as L
from corral.backends.audit.entry import AuditEntry, from_dict
from corral.backends.errors import BackendError
from corral.backends.ssh import HostSession

log = logging.getLogger(__name__)

PREFIX = "corral-audit."
#: Entries kept per stack (and outside stacks) on each host.
KEEP = 100


def volume_name(entry: AuditEntry) -> str:
    """The name of an entry's volume: sortable by time, unique by the entry's id."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(entry.time))
    stamp += f"{int(entry.time * 1_000_000) % 1_000_000:06d}"
    middle = f"{entry.stack}." if entry.stack else ""
    return f"{PREFIX}{middle}{stamp}.{entry.id[:8]}"


def encode(entry: AuditEntry) -> dict[str, str]:
    """The labels of an entry's volume."""
    return {
        L.AUDIT: entry.stack or "",
        L.AUDIT_ENTRY: json.dumps(entry.to_dict(), sort_keys=True, separators=(",", ":")),
    }


def _audit_volumes(session: HostSession) -> list[dict]:
    found = session.call(lambda client: client.api.volumes(filters={"label": L.AUDIT}))
    return list((found or {}).get("Volumes") or [])


def write(session: HostSession, entry: AuditEntry, keep: int = KEEP) -> str:
    """Create the entry's volume on the host, then prune that stack's oldest.

    Returns:
        The volume's name.

    Raises:
        BackendError: The host is offline or the engine refused.
    """
    name = volume_name(entry)
    session.call(lambda client: client.api.create_volume(name, labels=encode(entry)))
    prune(session, entry.stack or "", keep)
    return name


def prune(session: HostSession, stack: str, keep: int = KEEP) -> list[str]:
    """Remove the oldest audit volumes of `stack` ("": outside stacks) beyond `keep`.

    Returns:
        The names removed.
    """
    mine = sorted((_age(volume), volume["Name"]) for volume in _audit_volumes(session)
                  if (volume.get("Labels") or {}).get(L.AUDIT, "") == stack)
    removed = []
    for _, name in mine[: max(0, len(mine) - keep)]:
        # Another process pruning at the same time may have removed it first.
        with contextlib.suppress(BackendError):
            session.call(lambda client, name=name: client.api.remove_volume(name))
            removed.append(name)
    return removed


def _age(volume: dict) -> float:
    """The time of a volume's entry; 0 (pruned first) when it cannot be read."""
    try:
        when = json.loads((volume.get("Labels") or {}).get(L.AUDIT_ENTRY, "")).get("time")
    except (ValueError, AttributeError):
        return 0.0
    return float(when) if isinstance(when, (int, float)) else 0.0


def read(session: HostSession) -> list[AuditEntry]:
    """Every audit entry the host keeps, oldest first; unreadable ones are skipped.

    Raises:
        BackendError: The host is offline or the engine failed.
    """
    entries = []
    for volume in _audit_volumes(session):
        raw = (volume.get("Labels") or {}).get(L.AUDIT_ENTRY, "")
        try:
            entries.append(from_dict(json.loads(raw)))
        except ValueError as exc:
            log.warning("%s: audit volume %s skipped: %s", session.name, volume.get("Name"), exc)
    entries.sort(key=lambda entry: entry.time)
    return entries
