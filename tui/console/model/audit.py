"""The audit trail as the console's `:audit` view reads it (no Textual)."""

from __future__ import annotations

from corral.backends.audit import AuditEntry, read_all
from corral.backends.errors import BackendError
from corral.backends.ssh import Fleet


def read_audit(fleet: Fleet) -> tuple[dict[str, AuditEntry], list[BackendError]]:
    """This machine's file merged with every online host's history, keyed by entry id.

    Offline hosts are skipped quietly: the host bar already says they are down.
    Blocking: run it on a worker thread.
    """
    online = [name for name, session in fleet.sessions.items() if session.online]
    entries, errors = read_all(fleet, hosts=online)
    return {entry.id: entry for entry in entries}, errors
