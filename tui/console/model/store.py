"""The console's live picture of every host's containers and recent events.

Watcher threads (`backends/engine/watch.py`) put updates into a bounded queue; the
console drains it shortly after a put wakes it (`on_put`) and applies whole
batches here, so a burst of events costs one redraw, and a stalled UI slows
the watchers instead of growing memory.
"""

from __future__ import annotations

import queue
from collections import deque
from collections.abc import Callable

from corral.backends.engine import (
    ContainerRow,
    EngineEvent,
    History,
    Removed,
    Snapshot,
    Stale,
    Update,
    Upsert,
)

#: Updates waiting for the UI; watchers block (back-pressure) beyond this.
QUEUE_LIMIT = 10_000
#: Events the events view keeps, newest first.
EVENT_HISTORY = 2_000


class ContainerStore:
    """Containers by `host/id`, which hosts are stale, and recent events."""

    def __init__(self) -> None:
        self.updates: queue.Queue[Update] = queue.Queue(QUEUE_LIMIT)
        #: Called after each put, on the putting thread: how the console learns
        #: there is something to drain without polling the queue.
        self.on_put: Callable[[], None] | None = None
        self.rows: dict[str, ContainerRow] = {}
        self.stale: dict[str, str] = {}
        #: (sequence number, event), newest first; the number keys the row.
        self.events: deque[tuple[int, EngineEvent]] = deque(maxlen=EVENT_HISTORY)
        self._event_seq = 0
        self._placement_changed = False

    def put(self, update: Update) -> None:
        """Queue an update (thread-safe; blocks while the UI is far behind)."""
        self.updates.put(update)
        if self.on_put is not None:
            self.on_put()

    def drain(self, limit: int = QUEUE_LIMIT) -> tuple[bool, bool]:
        """Apply queued updates.

        Returns:
            (containers changed, events changed).
        """
        rows_changed = events_changed = False
        for _ in range(limit):
            try:
                update = self.updates.get_nowait()
            except queue.Empty:
                break
            if isinstance(update, EngineEvent):
                self._event_seq += 1
                self.events.appendleft((self._event_seq, update))
                events_changed = True
            elif isinstance(update, History):
                self.add_history(update.events)
                events_changed = True
            else:
                self.apply(update)
                rows_changed = True
        return rows_changed, events_changed

    def take_placement_change(self) -> bool:
        """Whether containers came, went or changed state since the last call.

        A change of the engine's health verdict alone does not count: the
        health pass reads nothing of it (it probes Rancher health checks
        itself), and across a big fleet those are most of the updates.
        """
        changed, self._placement_changed = self._placement_changed, False
        return changed

    def forget_host(self, host: str) -> bool:
        """Drop a host's rows (it left the inventory); its past events stay.

        Returns:
            Whether there was something to drop.
        """
        prefix = f"{host}/"
        keys = [key for key in self.rows if key.startswith(prefix)]
        for key in keys:
            del self.rows[key]
        dropped = bool(keys) | (self.stale.pop(host, None) is not None)
        self._placement_changed |= dropped
        return dropped

    def add_history(self, events: list[EngineEvent]) -> None:
        """Merge a host's past events in by time, keeping the newest `EVENT_HISTORY`.

        A history arrives after live events of other hosts: merged by time, so
        the bound drops the oldest events, not those that happened to come first.
        """
        numbered = []
        for event in events:
            self._event_seq += 1
            numbered.append((self._event_seq, event))
        merged = sorted([*self.events, *numbered], key=lambda item: item[1].time, reverse=True)
        self.events = deque(merged[:EVENT_HISTORY], maxlen=EVENT_HISTORY)

    def apply(self, update: Update) -> None:
        """Apply one container update."""
        self._placement_changed |= not (isinstance(update, Upsert) and update.health_only)
        if isinstance(update, Snapshot):
            prefix = f"{update.host}/"
            for key in [key for key in self.rows if key.startswith(prefix)]:
                del self.rows[key]
            for row in update.rows:
                self.rows[f"{row.host}/{row.id}"] = row
            self.stale.pop(update.host, None)
        elif isinstance(update, Upsert):
            self.rows[f"{update.host}/{update.row.id}"] = update.row
        elif isinstance(update, Removed):
            self.rows.pop(f"{update.host}/{update.id}", None)
        elif isinstance(update, Stale):
            self.stale[update.host] = update.reason
