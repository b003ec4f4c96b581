"""The audit view: every change Corral made, from this machine's file and the hosts.

Read-only: it lists what `corral audit` lists (the local file merged with the
history each host keeps), newest first. Text from hosts is shown with control
characters made visible (`tui/present/audit.py`).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from corral.backends.audit import AuditEntry
from corral.tui.console.views.base import Column, ResourceView
from corral.tui.present.audit import entry_cells

_RESULT_STYLE = {"ok": "green", "partial": "red", "failed": "bold red", "refused": "yellow"}


class AuditView(ResourceView):
    """Every change Corral made, newest first: who, where, what, how it ended."""

    NAME = "audit"
    KIND = "audit"
    EMPTY = "No changes recorded yet, here or on any online host."
    COLUMNS = (
        Column("time", "TIME"),
        Column("user", "USER"),
        Column("hosts", "HOSTS"),
        Column("verb", "VERB"),
        Column("object", "OBJECT"),
        Column("result", "RESULT"),
        Column("detail", "DETAIL"),
    )

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.sort_reverse = True

    def cells(self, record: AuditEntry) -> tuple[Any, ...]:
        cells: list[Any] = list(entry_cells(record))
        cells[5] = Text(record.result, style=_RESULT_STYLE.get(record.result, ""))
        return tuple(cells)

    def sort_value(self, record: AuditEntry, column: int, cells: tuple[Any, ...]) -> Any:
        return record.time if column == 0 else super().sort_value(record, column, cells)

    def hosts_of(self, record: AuditEntry) -> set[str]:
        return set(record.hosts)
