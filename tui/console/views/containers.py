"""Containers across every host, live from each engine's event stream."""

from __future__ import annotations

import re
import time
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from corral.backends.engine import ContainerRow
from corral.tui.console.actions_ui import action_bindings
from corral.tui.console.views.base import Column, ResourceView
from corral.tui.present.formatting import duration, human_size

_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_EXIT = re.compile(r"^Exited \((\d+)\)")
_STATE_STYLE = {"running": "green", "exited": "red", "restarting": "yellow", "dead": "red"}


HEALTH_STYLE = {"healthy": "green", "unhealthy": "red", "starting": "yellow",
                "initializing": "yellow"}


def health_of(row: ContainerRow, checked: dict[str, str] | None = None) -> str:
    """`healthy`, `unhealthy`, `starting` or empty, from the engine's status text.

    Args:
        row: The container.
        checked: Corral's own health (Rancher `health_check`) by `host/name`:
            what the row shows when the engine runs no check of its own.
    """
    match = _HEALTH.search(row.status)
    if match:
        return match.group(1).replace("health: ", "")
    return (checked or {}).get(f"{row.host}/{row.name}", "")


def health_summary(rows: list[ContainerRow], checked: dict[str, str] | None = None) -> Text:
    """`1 healthy, 1 unhealthy`: the health of some containers (empty when none is checked)."""
    counts: dict[str, int] = {}
    for row in rows:
        health = health_of(row, checked)
        if health:
            counts[health] = counts.get(health, 0) + 1
    worst = next((state for state in ("unhealthy", "starting", "initializing", "healthy")
                  if state in counts), "")
    return Text(", ".join(f"{count} {state}" for state, count in sorted(counts.items())),
                style=HEALTH_STYLE.get(worst, ""))


class CheckedHealth:
    """For views that show what Corral's own health checks found (mixed into a view)."""

    #: Verdicts by `host/name`; replaced whole, never changed in place.
    checked_health: dict[str, str] = {}  # noqa: RUF012

    def set_checked_health(self, health: dict[str, str]) -> None:
        """Show the health Corral's checks found (`initializing`, `healthy`, `unhealthy`)."""
        if health != self.checked_health:
            self.checked_health = dict(health)
            self.redraw()  # type: ignore[attr-defined]


_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800,
          "month": 2_592_000, "year": 31_536_000}
_HUMAN = re.compile(r"(less than a|about an?|an?|\d+) (second|minute|hour|day|week|month|year)s?")


def uptime_seconds(status: str) -> float | None:
    """Seconds up, from the engine's humanized "Up 3 minutes" (None if not up)."""
    if not status.startswith("Up "):
        return None
    match = _HUMAN.search(_HEALTH.sub("", status[3:]).strip().lower())
    if match is None:
        return 0.0
    count = match.group(1)
    number = 0 if count.startswith("less") else (int(count) if count.isdigit() else 1)
    return float(number * _UNITS[match.group(2)])


def uptime_of(row: ContainerRow, now: float | None = None) -> str:
    """How long it has been up (`3m`, `2h`), counted on from when it was listed."""
    seconds = uptime_seconds(row.status)
    if seconds is None:
        return ""
    if row.listed_at:
        seconds += max(0.0, (now if now is not None else time.time()) - row.listed_at)
    return duration(seconds)


def is_problem(row: ContainerRow, oom_killed: set[str],
               checked: dict[str, str] | None = None) -> bool:
    """Exited non-zero, restarting, unhealthy or OOM-killed: what on-call looks at."""
    exited = _EXIT.match(row.status)
    return (
        (exited is not None and exited.group(1) != "0")
        or row.state == "restarting"
        or health_of(row, checked) == "unhealthy"
        or f"{row.host}/{row.id}" in oom_killed
    )


class ContainersView(CheckedHealth, ResourceView):
    """Every container of every host."""

    NAME = "containers"
    KIND = "container"
    EMPTY = "No containers on any online host."
    COLUMNS = (
        Column("host", "HOST"),
        Column("name", "NAME"),
        Column("stack", "STACK/SERVICE"),
        Column("image", "IMAGE"),
        Column("state", "STATE"),
        Column("health", "HEALTH"),
        Column("uptime", "UPTIME"),
        Column("ports", "PORTS"),
        Column("cpu", "CPU", width=6),
        Column("mem", "MEM", width=9),
    )
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("l", "open_logs", "Logs", id="containers.logs",
                tooltip="Follow this container's logs in a new pane"),
        Binding("L", "open_service_logs", "Service logs", id="containers.service_logs",
                tooltip="Follow every replica of this container's service"),
        Binding("s", "open_shell", "Shell", id="containers.shell",
                tooltip="Open a shell in this container in a new pane"),
        Binding("p", "toggle_problems", "Problems", id="containers.problems",
                tooltip="Show only exited non-zero, restarting, unhealthy or OOM-killed"),
        *action_bindings("container"),
    ]

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.stale: dict[str, str] = {}
        self.problems_only = False
        self.oom_killed: set[str] = set()
        self.stats: dict[str, tuple[float, int]] = {}

    def cells(self, record: ContainerRow) -> tuple[Any, ...]:
        stale = record.host in self.stale
        state = Text("stale" if stale else record.state,
                     style="dim" if stale else _STATE_STYLE.get(record.state, ""))
        health = health_of(record, self.checked_health)
        health_text = Text(health, style=HEALTH_STYLE.get(health, ""))
        stack = "/".join(part for part in (record.stack, record.service) if part)
        cpu, mem = _usage_cells(self.stats.get(f"{record.host}/{record.id}"))
        return (
            Text(record.host, style="dim" if stale else ""),
            record.name,
            stack,
            record.image,
            state,
            health_text,
            uptime_of(record),
            ", ".join(record.ports),
            cpu,
            mem,
        )

    def set_usage(self, usage: dict[str, tuple[float | None, int | None]]) -> None:
        """Show fresh CPU and memory figures (keys are `host/id`)."""
        self.stats = usage
        for key, figures in usage.items():
            if key in self.rows:
                cpu, mem = _usage_cells(figures)
                self.update_cell(key, "cpu", cpu)
                self.update_cell(key, "mem", mem)

    def keep(self, record: ContainerRow) -> bool:
        return not self.problems_only or is_problem(record, self.oom_killed,
                                                    self.checked_health)

    def describe(self) -> str:
        text = super().describe()
        if self.problems_only:
            text += "  problems only"
        if self.stale:
            text += "  stale: " + ", ".join(sorted(self.stale))
        return text

    def action_toggle_problems(self) -> None:
        self.problems_only = not self.problems_only
        self.rebuild()

    def action_open_logs(self) -> None:
        self._open("logs", service=False)

    def action_open_service_logs(self) -> None:
        self._open("logs", service=True)

    def action_open_shell(self) -> None:
        self._open("shell", service=False)

    def _open(self, what: str, service: bool) -> None:
        selected = self.selected()
        if not selected:
            return
        _, row = selected[0]
        if service and not (row.stack and row.service):
            self.notify(f"{row.name} belongs to no service", severity="warning")
            return
        target = f"{row.stack}/{row.service}" if service else f"{row.host}/{row.name}"
        self.post_message(self.OpenPane(what, target, row.host))

    class OpenPane(Message):
        """Open a log or shell pane for a target (`host/container` or `stack/service`)."""

        def __init__(self, what: str, target: str, host: str):
            super().__init__()
            self.what = what
            self.target = target
            self.host = host



def _usage_cells(figures: tuple[float | None, int | None] | None) -> tuple[str, str]:
    cpu, mem = figures or (None, None)
    return ("" if cpu is None else f"{cpu:.1f}%"), human_size(mem)
