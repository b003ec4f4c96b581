"""A stack's plan as a table: one row per container, then its progress while applying."""

from __future__ import annotations

from rich.text import Text

from corral.backends.deploy import FieldChange, Progress
from corral.backends.plan import Plan
from corral.tui.console.widgets.measured_table import MeasuredTable
from corral.tui.present.deploy import PLAN_COLUMNS, plan_rows

ACTION_STYLE = {"create": "green", "keep": "dim", "start": "cyan", "replace": "yellow",
                "remove": "red"}
#: What a container's row says once its step is done.
DONE_WORDS = {"create": "created", "replace": "replaced", "start": "started",
              "remove": "removed", "restore": "restored"}
#: States after which nothing more happens to a container in this apply.
FINAL_STATES = ("healthy", "unhealthy", "failed")


def progress_text(event: Progress) -> Text:
    """The PROGRESS cell for a container's latest event."""
    if event.state == "running":
        return Text(f"{event.action}…", style="yellow")
    if event.state == "failed":
        return Text(f"failed: {event.detail}", style="bold red")
    if event.state == "unhealthy":
        return Text(f"unhealthy: {event.detail}", style="red")
    if event.state == "healthy":
        return Text("healthy ✓", style="green")
    return Text(f"{DONE_WORDS.get(event.action, event.action + ' done')} ✓", style="green")


def finished(event: Progress) -> bool:
    """Whether the container's part of the apply is over (health, if any, included)."""
    return event.state in FINAL_STATES or (event.state == "done" and event.action == "remove")


class PlanTable(MeasuredTable):
    """The plan's steps (service, replica, action, host, container, reason) and progress.

    Rows are keyed `host/container`: the engine allows one container of a
    name per host, so each step has its own key.
    """

    DEFAULT_CSS = """
    PlanTable { height: auto; max-height: 1fr; }
    """

    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.step_keys: set[str] = set()

    def on_mount(self) -> None:
        for label in (*PLAN_COLUMNS, "PROGRESS"):
            self.add_column(label, key=label.lower())

    def show_plan(self, plan: Plan, changes: dict[str, list[FieldChange]] | None = None) -> None:
        """Fill the table with `plan`'s steps, progress empty.

        Args:
            plan: The plan.
            changes: What changes per replaced service (`Prepared.changes`).
        """
        self.clear()
        self.step_keys = set()
        for step, cells in zip(plan.steps, plan_rows(plan, changes), strict=True):
            key = f"{step.host}/{step.name}"
            service, index, action, host, name, reason = cells
            self.add_row(Text(service), Text(f"#{index}"),
                         Text(action, style=ACTION_STYLE.get(action, "")), Text(host),
                         Text(name), Text(reason), Text(""), key=key)
            self.step_keys.add(key)

    def show_progress(self, events: tuple[Progress, ...]) -> list[Progress]:
        """Put each container's latest event in its row.

        Returns:
            The events that name no row (networks, volumes, the stack record).
        """
        others = []
        for event in events:
            key = f"{event.host}/{event.name}"
            if key in self.step_keys:
                self.update_cell(key, "progress", progress_text(event), update_width=True)
            else:
                others.append(event)
        self.fit_narrowed()
        return others
