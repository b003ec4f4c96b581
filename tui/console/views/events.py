"""The events view: engine events from every host, newest first.

It opens on each host's last hour (`EVENTS_SINCE_SECONDS` in `model/data.py`,
at most `HISTORY_LIMIT` events a host, and `EVENT_HISTORY` in all).
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text

from corral.backends.engine import EngineEvent
from corral.tui.console.views.base import Column, ResourceView

_EVENT_STYLE = {"die": "red", "oom": "bold red", "kill": "red", "destroy": "magenta",
                "create": "cyan", "start": "green", "restart": "yellow"}


class EventsView(ResourceView):
    """Engine events from every host, newest first."""

    NAME = "events"
    KIND = "event"
    EMPTY = "No engine events in the last hour: they appear here as engines report them."
    COLUMNS = (
        Column("time", "TIME"),
        Column("host", "HOST"),
        Column("type", "TYPE"),
        Column("action", "ACTION"),
        Column("actor", "OBJECT"),
    )

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.sort_reverse = True

    def cells(self, record: EngineEvent) -> tuple[Any, ...]:
        action = record.action.split(":")[0]
        return (
            time.strftime("%H:%M:%S", time.localtime(record.time)),
            record.host,
            record.type,
            Text(record.action, style=_EVENT_STYLE.get(action, "")),
            record.actor,
        )

    def sort_value(self, record: EngineEvent, column: int, cells: tuple[Any, ...]) -> Any:
        return record.time if column == 0 else super().sort_value(record, column, cells)
