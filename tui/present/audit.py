"""Audit entries as text, shared by `corral audit` and the console's `:audit` view.

Entries read from hosts are untrusted: every string is shown with control
characters made visible, so an entry cannot drive the operator's terminal.
"""

from __future__ import annotations

import time

from corral.backends.audit import AuditEntry
from corral.tui.present.safe import visible
from corral.tui.present.table import format_table

HEADERS = ("TIME", "USER", "HOSTS", "VERB", "OBJECT", "RESULT", "DETAIL")


def local_time(entry: AuditEntry) -> str:
    """The entry's time on this machine's clock, to the second."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.time))


def who(entry: AuditEntry) -> str:
    """`user@machine`."""
    return visible(f"{entry.user}@{entry.machine}")


def hosts_text(entry: AuditEntry) -> str:
    """The hosts touched, each with its SSH login: `lab1 (root), lab2 (root)`."""
    return visible(", ".join(f"{host} ({entry.ssh_users[host]})" if entry.ssh_users.get(host)
                             else host for host in entry.hosts))


def object_text(entry: AuditEntry) -> str:
    """The stack and object acted on: `demo`, `demo: demo-web-1`, `web-1`."""
    parts = [part for part in (entry.stack, entry.target) if part]
    if len(parts) == 2 and parts[0] == parts[1]:
        parts = parts[:1]
    return visible(": ".join(parts))


def entry_cells(entry: AuditEntry) -> tuple[str, ...]:
    """One entry's cells, in `HEADERS` order."""
    return (local_time(entry), who(entry), hosts_text(entry), visible(entry.verb),
            object_text(entry), visible(entry.result), visible(entry.detail))


def audit_text(entries: list[AuditEntry]) -> str:
    """The entries as a table, oldest first."""
    if not entries:
        return "No audit entries."
    return format_table(HEADERS, [entry_cells(entry) for entry in entries])
