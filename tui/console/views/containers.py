"""Containers across every host, live from each engine's event stream."""

from __future__ import annotations

import functools
import re
import time
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from corral.backends.engine import STATUS_HEALTH, ContainerRow, status_health
from corral.backends.labels import PREVIOUS_SUFFIX
from corral.tui.console.actions_ui import action_bindings
from corral.tui.console.views.base import Column, ResourceView
from corral.tui.present.formatting import duration, human_size

_EXIT = re.compile(r"^Exited \((\d+)\)")
_ENDED = re.compile(r"^(?:Exited|Restarting) \((-?\d+)\) (.*) ago")
#: What the STATE cell of an upgrade's kept old copy says.
PREVIOUS_MARK = "prev (awaiting confirm)"
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
    return status_health(row.status) or (checked or {}).get(f"{row.host}/{row.name}", "")


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


# Statuses repeat across rows ("Up 20 minutes"), and each redraw reads every row's.
@functools.lru_cache(maxsize=4096)
def _human_seconds(text: str) -> float:
    """Seconds in the engine's humanized "3 minutes", "About an hour"."""
    match = _HUMAN.search(STATUS_HEALTH.sub("", text).strip().lower())
    if match is None:
        return 0.0
    count = match.group(1)
    number = 0 if count.startswith("less") else (int(count) if count.isdigit() else 1)
    return float(number * _UNITS[match.group(2)])


def uptime_seconds(status: str) -> float | None:
    """Seconds up, from the engine's humanized "Up 3 minutes" (None if not up)."""
    if not status.startswith("Up "):
        return None
    return _human_seconds(status[3:])


def state_age(row: ContainerRow, now: float | None = None) -> float | None:
    """Seconds the container has been in its state (up, exited, restarting), if known.

    From the times inspecting it gave, else from the engine's humanized status.
    """
    now = now if now is not None else time.time()
    detail = row.detail
    if detail is not None:
        since = detail.started_at if row.state in ("running", "paused") else detail.finished_at
        if row.state == "created":
            since = None
        if since is not None:
            return max(0.0, now - since)
    seconds = uptime_seconds(row.status)
    if seconds is None:
        ended = _ENDED.match(row.status)
        if ended is None:
            return None
        seconds = _human_seconds(ended.group(2))
    if row.listed_at:
        seconds += max(0.0, now - row.listed_at)
    return seconds


def since_of(row: ContainerRow, now: float | None = None) -> str:
    """How long it has been in its state (`3m`, `2h`), or empty."""
    seconds = state_age(row, now)
    return "" if seconds is None else duration(seconds)


def exit_code_of(row: ContainerRow) -> int | None:
    """The exit code of a container that is not running (None while it runs)."""
    if row.state in ("running", "paused", "created"):
        return None
    if row.detail is not None and row.detail.exit_code is not None:
        return row.detail.exit_code
    ended = _ENDED.match(row.status)
    return int(ended.group(1)) if ended else None


def is_previous(row: ContainerRow) -> bool:
    """Whether the container is an upgrade's old copy, kept until confirm or rollback."""
    return row.name.endswith(PREVIOUS_SUFFIX)


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
    """What on-call looks at: exited non-zero, restarting, unhealthy, OOM-killed, or
    an upgrade's old copy awaiting confirm or rollback."""
    exited = _EXIT.match(row.status)
    return (
        (exited is not None and exited.group(1) != "0")
        or row.state == "restarting"
        or health_of(row, checked) == "unhealthy"
        or f"{row.host}/{row.id}" in oom_killed
        or (row.detail is not None and row.detail.oom_killed)
        or is_previous(row)
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
        Column("restarts", "RESTARTS"),
        Column("exit", "EXIT"),
        Column("since", "SINCE"),
        # Ports last: the widest and least urgent, they are what a narrow terminal cuts.
        Column("cpu", "CPU", width=6),
        Column("mem", "MEM", width=9),
        Column("ports", "PORTS"),
    )
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("l", "open_logs", "Logs", id="containers.logs",
                tooltip="Follow this container's logs in a new pane"),
        Binding("L", "open_service_logs", "Service logs", id="containers.service_logs",
                tooltip="Follow every replica of this container's service"),
        Binding("s", "open_shell", "Shell", id="containers.shell",
                tooltip="Open a shell in this container in a new pane"),
        Binding("p", "toggle_problems", "Problems", id="containers.problems",
                tooltip="Show only exited non-zero, restarting, unhealthy, OOM-killed, and"
                        " an upgrade's old copies awaiting confirm"),
        Binding("d", "describe", "Describe", id="containers.describe",
                tooltip="Last state, exit reason, OOM, restarts, health and recent events"
                        " of this container"),
        *action_bindings("container"),
    ]
    #: A shell runs commands in the container: a change like any other.
    MUTATING_ACTIONS = frozenset({"open_shell"})

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
        if is_previous(record) and not stale:
            state = Text(f"{record.state} · {PREVIOUS_MARK}", style="yellow")
        exit_code = exit_code_of(record)
        restarts = record.detail.restart_count if record.detail is not None else None
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
            Text("" if restarts is None else str(restarts),
                 style="yellow" if restarts else ""),
            Text("" if exit_code is None else str(exit_code),
                 style="red" if exit_code else ""),
            since_of(record),
            cpu,
            mem,
            ", ".join(record.ports),
        )

    def cells_version(self, key: str, record: ContainerRow) -> Any:
        # Everything `cells` reads besides the record; SINCE moves with the clock.
        return (record.host in self.stale, self.stats.get(key),
                self.checked_health.get(f"{record.host}/{record.name}"), since_of(record))

    def shown_inputs(self) -> Any:
        # The console sets these before handing over the records.
        return (tuple(sorted(self.stale.items())), frozenset(self.oom_killed))

    def sort_value(self, record: ContainerRow, column: int, cells: tuple[Any, ...]) -> Any:
        # Figures sort as numbers (unknown ones first), not as text.
        key = self.COLUMNS[column].key
        if key == "restarts":
            return record.detail.restart_count if record.detail is not None else -1
        if key == "exit":
            code = exit_code_of(record)
            return -1 if code is None else code
        if key == "since":
            age = state_age(record)
            return -1.0 if age is None else age
        return super().sort_value(record, column, cells)

    def set_usage(self, usage: dict[str, tuple[float | None, int | None]]) -> None:
        """Show fresh CPU and memory figures (keys are `host/id`).

        Only the rows of the figures read are computed again, and only their
        changed cells updated: idle containers' figures rarely move.
        """
        # Figures not read this time (a quiet container's) stay as they were.
        self.stats = {key: figures for key, figures in {**self.stats, **usage}.items()
                      if key in self.records}
        for key in usage:
            record = self.records.get(key)
            if record is not None and key in self._shown_cells:
                self._update_row(key, self._cells_of(key, record))
        self.fit_narrowed()

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

    def action_describe(self) -> None:
        key = self.current_key()
        if key is not None and key in self.records:
            self.post_message(self.DescribeRequested(self, key, self.records[key]))

    class DescribeRequested(Message):
        """The user asked to describe a container (`d`)."""

        def __init__(self, view: ContainersView, key: str, record: ContainerRow):
            super().__init__()
            self.view = view
            self.key = key
            self.record = record

    def action_open_logs(self) -> None:
        self._open("logs", service=False)

    def action_open_service_logs(self) -> None:
        self._open("logs", service=True)

    def action_open_shell(self) -> None:
        if not self.refused():
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
