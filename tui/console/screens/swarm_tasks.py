"""A swarm service's tasks: node, inventory host, desired and current state, error.

`l` follows one task's container logs and `s` opens a shell in it, each through
the host that is the task's node; the screen closes with what to open and the
console opens the pane.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from corral.backends.swarm import Service, Task
from corral.tui.present.safe import visible

_STATE_STYLE = {"running": "green", "failed": "red", "rejected": "red", "orphaned": "red",
                "shutdown": "dim", "complete": "dim"}


def task_cells(task: Task) -> tuple[Text, ...]:
    """One task's row: slot, node, host, desired, current state, since, error."""
    state = task.state + (" (node down)" if task.node_down else "")
    return (
        Text(str(task.slot or "")),
        Text(visible(task.node or task.node_id[:12])),
        Text(visible(task.host or "-")),
        Text(task.desired, style="" if task.desired == "running" else "dim"),
        Text(state, style="red" if task.node_down else _STATE_STYLE.get(task.state, "yellow")),
        Text(task.since[:19].replace("T", " ")),
        Text(visible(task.error), style="red"),
    )


class TasksScreen(ModalScreen[tuple[str, str] | None]):
    """A swarm service's tasks; dismisses with (`logs` or `shell`, `host/container`) or None.

    Args:
        service: The service, as last read.
        readonly: Hide and refuse the shell (it runs commands in the container).
    """

    DEFAULT_CSS = """
    TasksScreen { align: center middle; }
    TasksScreen > Vertical { width: 95%; height: auto; max-height: 90%;
        border: thick $accent; padding: 0 1; background: $surface; }
    TasksScreen DataTable { height: auto; max-height: 30; }
    TasksScreen #hint { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("l", "open('logs')", "Logs", id="tasks.logs",
                tooltip="Follow the logs of the task's container, through its node's host"),
        Binding("s", "open('shell')", "Shell", id="tasks.shell",
                tooltip="A shell in the task's container, through its node's host"),
        Binding("escape,q", "close", "Close", id="tasks.close", tooltip="Close the tasks"),
    ]

    def __init__(self, service: Service, *, readonly: bool = False):
        super().__init__()
        self.service = service
        self.readonly = readonly

    def compose(self) -> ComposeResult:
        service = self.service
        with Vertical() as box:
            box.border_title = f"tasks of {visible(service.name)}"
            replicas = f"{service.running}/{service.desired}"
            update = f" · update {service.update_state}" if service.update_state else ""
            message = f": {service.update_message}" if service.update_message else ""
            yield Label(visible(f"{service.key} · swarm {service.mode} · {replicas} running"
                                f"{update}{message} · read through {service.manager}"),
                        markup=False, id="summary")
            table: DataTable = DataTable(cursor_type="row", zebra_stripes=True, id="tasks")
            yield table
            hint = "l: logs · s: shell · esc: close" if not self.readonly else "l: logs · esc"
            yield Label(hint, id="hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for heading in ("SLOT", "NODE", "HOST", "DESIRED", "STATE", "SINCE", "ERROR"):
            table.add_column(heading)
        for task in self.service.tasks:
            table.add_row(*task_cells(task), key=task.id)
        table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.readonly and action == "open" and parameters == ("shell",))

    def current(self) -> Task | None:
        """The task under the cursor."""
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return self.service.tasks[table.cursor_row]

    def action_open(self, what: str) -> None:
        task = self.current()
        if task is None:
            return
        if not task.host:
            self.notify(f"task {task.id[:12]} runs on {task.node or task.node_id[:12]},"
                        " which is no inventory host", severity="warning")
            return
        if not task.container_id:
            self.notify(f"task {task.id[:12]} has no container yet ({task.state})",
                        severity="warning")
            return
        self.dismiss((what, f"{task.host}/{task.container_id[:12]}"))

    def action_close(self) -> None:
        self.dismiss(None)
