"""The volumes view: volumes of every host and the containers that use them.

Corral's own stack records (volumes holding a deployed stack's definition) are
hidden unless asked for: they are not the operator's to remove, and the engine
action refuses to (`backends/engine/actions.py`); they go with their stack.
The audit volumes each host keeps (`backends/audit/remote.py`) are hidden the
same way: `:audit` reads them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding

from corral.backends.engine import VolumeRow
from corral.backends.labels import AUDIT
from corral.tui.console.actions_ui import action_bindings
from corral.tui.console.views.base import Column, ResourceView


def record_refusal(row: VolumeRow) -> str:
    """Why a stack record volume is not removed from here."""
    stack = row.record_of
    return (f"{row.host}/{row.name} holds the record of stack {stack}: "
            f"remove the stack instead: corral rm {stack}")


def is_audit(row: VolumeRow) -> bool:
    """Whether the volume holds an audit entry (`backends/audit/remote.py`)."""
    return AUDIT in (row.labels or {})


class VolumesView(ResourceView):
    """Volumes of every host and the containers that use them."""

    BINDINGS: ClassVar[list[Binding]] = [
        *action_bindings("volume"),
        Binding("R", "toggle_records", "Records", id="volumes.records",
                tooltip="Show or hide Corral's stack records (volumes that hold a stack's"
                        " definition; they go only with their stack) and audit entries"),
    ]
    NAME = "volumes"
    KIND = "volume"
    EMPTY = "No volumes on any online host."
    COLUMNS = (
        Column("host", "HOST"),
        Column("name", "NAME"),
        Column("driver", "DRIVER"),
        Column("mountpoint", "MOUNTPOINT"),
        Column("users", "USED BY"),
    )

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        #: Whether stack record volumes are listed.
        self.show_records = False

    def cells(self, record: VolumeRow) -> tuple[Any, ...]:
        users = ", ".join(record.users)
        if record.record_of:
            users = Text(f"record of stack {record.record_of}", style="dim")
        elif is_audit(record):
            users = Text("audit entry (:audit shows them)", style="dim")
        return (record.host, record.name, record.driver, record.mountpoint, users)

    def keep(self, record: VolumeRow) -> bool:
        return self.show_records or not (record.record_of or is_audit(record))

    def describe(self) -> str:
        text = super().describe()
        rows = self.records.values()
        hidden = [f"{count} {what} hidden" for count, what in (
            (sum(1 for r in rows if r.record_of), "stack records"),
            (sum(1 for r in rows if is_audit(r)), "audit entries")) if count]
        if hidden and not self.show_records:
            text += f"  {', '.join(hidden)} (R shows)"
        return text

    def action_toggle_records(self) -> None:
        self.show_records = not self.show_records
        self.rebuild()

    def action_request_action(self, action_id: str) -> None:
        if action_id == "volume.remove":
            records = [row for _, row in self.selected() if row.record_of]
            if records:
                # Refused here before the prompt; the backend refuses it too.
                self.notify("\n".join(record_refusal(row) for row in records),
                            title="Refused", severity="error", timeout=8)
                return
        super().action_request_action(action_id)
