"""Keeping a live picture of every host's containers from its events stream.

One watcher per host subscribes to the host's shared event follower
(`host_events(session)`), lists the containers whenever the
stream (re)opens, and re-reads only the container an event names, on a
thread of its own. A host that drops has its rows marked stale (not
forgotten) until it is back and listed afresh. Updates go to a single
callback, which must be thread-safe and cheap (typically: put into a queue
the UI drains on a timer).
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from corral.backends.engine.events import (
    CONTAINER_EVENTS,
    Notice,
    StreamBroken,
    StreamOpened,
    event_action,
    host_events,
    since_param,
)
from corral.backends.engine.facts import (
    ContainerRow,
    container_row,
    list_containers,
    read_container_state,
    with_health,
)
from corral.backends.errors import BackendError
from corral.backends.ssh.session import HostSession

#: Events waiting for the watcher's thread; beyond it the host is listed afresh.
INBOX_LIMIT = 1_000

#: Engine events of the recent past a watcher starts with, at most, per host.
HISTORY_LIMIT = 1_000
#: Seconds before the end of the history read within which a live event may repeat it
#: (the live stream starts a little in the past).
HISTORY_OVERLAP = 30.0

#: Containers of a listing inspected for their restarts and exit (the rest show none).
DETAIL_LIMIT = 500

#: Container events that can change what a row shows.
_ROW_EVENTS = {
    "create", "start", "restart", "stop", "die", "kill", "pause", "unpause", "rename",
    "update", "oom", "health_status",
}


@dataclass(frozen=True)
class Snapshot:
    """Every container of `host` as listed just now (replaces what was known)."""

    host: str
    rows: list[ContainerRow]


@dataclass(frozen=True)
class Upsert:
    """One container was created or changed."""

    host: str
    row: ContainerRow
    #: Only the engine's health verdict in `row.status` changed (a
    #: `health_status` event): nothing a stack's placement or health pass reads.
    health_only: bool = False


@dataclass(frozen=True)
class Removed:
    """One container is gone."""

    host: str
    id: str


@dataclass(frozen=True)
class Stale:
    """The host cannot be watched right now; its rows are out of date."""

    host: str
    reason: str


@dataclass(frozen=True)
class EngineEvent:
    """A raw engine event worth showing in the events view."""

    host: str
    time: float
    type: str
    action: str
    actor: str
    attributes: dict[str, str]


@dataclass(frozen=True)
class History:
    """The host's engine events of the recent past, oldest first (sent once per watcher)."""

    host: str
    events: list[EngineEvent]


Update = Snapshot | Upsert | Removed | Stale | EngineEvent | History
Listener = Callable[[Update], None]


class HostWatcher:
    """Follows one host's containers until stopped.

    Event notices arrive on the host's shared follower thread, which must
    never wait: they go into a bounded inbox, and a thread of the watcher's
    own does the listing and re-reading. Events that do not fit are dropped
    and the host is listed afresh instead; stream notices are never dropped.

    Args:
        session: The host's session.
        listener: Receives every update, on the watcher's thread.
        retry_seconds: Pause before listing again after a failure.
        history_seconds: When the stream first opens, also send the host's engine
            events of that many seconds back (`History`, at most `HISTORY_LIMIT`,
            the newest); 0 sends none.
    """

    def __init__(self, session: HostSession, listener: Listener, retry_seconds: float = 1.0,
                 history_seconds: float = 0.0):
        self.session = session
        self.listener = listener
        self.retry_seconds = retry_seconds
        self.history_seconds = history_seconds
        #: Keys of the history's last events, which the live stream may repeat.
        self._history_tail: set[tuple] = set()
        self._history_end = 0.0
        self._stop = threading.Event()
        self._ready = threading.Condition()
        self._inbox: collections.deque[Notice] = collections.deque()
        self._events_waiting = 0
        self._overflowed = False
        #: When to list the host again (monotonic), once it is online; None: no need.
        self._relist_at: float | None = None
        #: The rows last sent, by short ID (what a health event changes).
        self._shown: dict[str, ContainerRow] = {}
        self._thread = threading.Thread(
            target=self._run, name=f"corral-watch-{session.name}", daemon=True
        )

    def start(self) -> HostWatcher:
        """Start following; returns self."""
        self._thread.start()
        host_events(self.session).subscribe(self._receive)
        return self

    def stop(self) -> None:
        """Stop following (the host's follower stops too if no one else listens)."""
        self._stop.set()
        host_events(self.session).unsubscribe(self._receive)
        with self._ready:
            self._ready.notify_all()

    def _receive(self, notice: Notice) -> None:
        """Subscriber (the follower's thread): queue the notice, never wait."""
        with self._ready:
            if isinstance(notice, dict):
                if self._events_waiting >= INBOX_LIMIT:
                    self._overflowed = True
                    return
                self._events_waiting += 1
            elif self._inbox and not isinstance(self._inbox[-1], dict):
                self._inbox.pop()  # the newer stream notice says all the older one did
            self._inbox.append(notice)
            self._ready.notify()

    def _next(self, timeout: float | None) -> Notice | None:
        with self._ready:
            if not self._inbox and not self._stop.is_set():
                self._ready.wait(timeout)
            if self._overflowed:
                self._overflowed = False
                self._relist_at = 0.0
            if not self._inbox:
                return None
            notice = self._inbox.popleft()
            if isinstance(notice, dict):
                self._events_waiting -= 1
            return notice

    def _run(self) -> None:
        while not self._stop.is_set():
            due = self._relist_at
            if due is not None and time.monotonic() >= due and self.session.online:
                self._list()
            # Nothing due: sleep until a notice or `stop` (one idle wake-up a
            # second per host was a tenth of a percent of a core at 20 hosts).
            notice = self._next(None if self._relist_at is None else self.retry_seconds)
            if notice is None or self._stop.is_set():
                continue
            if isinstance(notice, StreamOpened):
                self._list()
                if self.history_seconds:
                    self._send_history()
            elif isinstance(notice, StreamBroken):
                self._relist_at = None  # the stream's reopening lists the host
                self.listener(Stale(self.session.name, notice.reason))
            else:
                try:
                    self._handle(notice)
                except BackendError as exc:
                    self._failed(exc.message)

    def _list(self) -> None:
        try:
            rows = list_containers(self.session, all=True)
        except BackendError as exc:
            self._failed(exc.message)
            return
        self._relist_at = None
        self.listener(Snapshot(self.session.name, rows))
        self._shown = {row.id: row for row in rows}
        # The listing shows at once; restarts and exits follow, one inspect each.
        detailed = [self._with_detail(row) for row in rows[:DETAIL_LIMIT]]
        if not self._stop.is_set() and any(row.detail for row in detailed):
            rows = detailed + rows[DETAIL_LIMIT:]
            self.listener(Snapshot(self.session.name, rows))
            self._shown = {row.id: row for row in rows}

    def _with_detail(self, row: ContainerRow) -> ContainerRow:
        """The row with its restarts and exit, if the engine still knows the container."""
        if self._stop.is_set():
            return row
        try:
            return dataclasses.replace(row, detail=read_container_state(self.session, row.id))
        except BackendError:
            return row

    def _send_history(self) -> None:
        """Send the host's recent events, once: what the events view starts with."""
        seconds, self.history_seconds = self.history_seconds, 0.0
        try:
            events = recent_events(self.session, seconds)
        except BackendError:
            return  # a history is a courtesy: the live events still come
        self._history_end = time.time()
        self._history_tail = {_event_key(e) for e in events
                              if e.time >= self._history_end - HISTORY_OVERLAP}
        self.listener(History(self.session.name, events))

    def _repeats_history(self, event: EngineEvent) -> bool:
        """Whether the live stream's first events repeat one the history already sent."""
        if not self._history_tail:
            return False
        if event.time > self._history_end + HISTORY_OVERLAP:
            self._history_tail = set()  # past the overlap: no repeat can follow
            return False
        return _event_key(event) in self._history_tail

    def _failed(self, reason: str) -> None:
        """A read failed: the rows are out of date until the host is listed again."""
        self.listener(Stale(self.session.name, reason))
        self._relist_at = time.monotonic() + self.retry_seconds

    def _handle(self, event: dict) -> None:
        host = self.session.name
        action = event_action(event).split(":")[0]
        actor = event.get("Actor") or {}
        cid = actor.get("ID") or event.get("id") or ""
        engine_event = to_engine_event(host, event)
        if not self._repeats_history(engine_event):
            self.listener(engine_event)
        if action == "destroy":
            self._shown.pop(cid[:12], None)
            self.listener(Removed(host, cid[:12]))
        elif action == "health_status" and self._health_changed(cid[:12], event):
            return
        elif action in _ROW_EVENTS:
            row = self._read_row(cid)
            # The engine sends `die` a moment before its listing stops saying
            # "running"; wait for the listing to catch up rather than show a
            # dead container as running until its next event.
            for _ in range(20):
                if row is None or action != "die" or row.state != "running":
                    break
                self._stop.wait(0.05)
                row = self._read_row(cid)
            if row is not None:
                row = self._with_detail(row)
                self._shown[row.id] = row
                self.listener(Upsert(host, row))

    def _health_changed(self, short_id: str, event: dict) -> bool:
        """Show a shown row's new health from the event itself; False if it cannot.

        With healthchecks passing and failing across a big fleet, these are most
        of the events, and the row and its inspect were two engine calls each;
        what changed is all in the event (`health_status: unhealthy`).
        """
        row = self._shown.get(short_id)
        if row is None:
            return False
        status = with_health(row.status, event_action(event).partition(":")[2])
        if status is None:
            return False
        row = dataclasses.replace(row, status=status)
        self._shown[short_id] = row
        self.listener(Upsert(self.session.name, row, health_only=True))
        return True

    def _read_row(self, cid: str) -> ContainerRow | None:
        found = self.session.call(
            lambda client: client.api.containers(all=True, filters={"id": cid})
        )
        return container_row(self.session.name, found[0]) if found else None


def to_engine_event(host: str, event: dict) -> EngineEvent:
    """One of docker-py's decoded event dicts as the events view shows it."""
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    cid = actor.get("ID") or event.get("id") or ""
    return EngineEvent(
        host=host,
        time=(event.get("timeNano") or 0) / 1e9 or float(event.get("time") or 0),
        type=event.get("Type", "container"),
        action=event.get("Action") or event_action(event).split(":")[0],
        actor=attributes.get("name") or cid[:12],
        attributes=attributes,
    )


def _event_key(event: EngineEvent) -> tuple:
    return event.time, event.action, event.actor


def recent_events(session: HostSession, seconds: float,
                  limit: int = HISTORY_LIMIT) -> list[EngineEvent]:
    """The host's container events of the last `seconds`, oldest first (the newest `limit`).

    Health checks' `exec_*` events are left out (by the engine), as from the live stream.

    Raises:
        BackendError: The host is offline or the engine failed.
    """
    now_ns = time.time_ns()
    params = {"since": since_param(now_ns - int(seconds * 1e9)), "until": since_param(now_ns),
              "filters": CONTAINER_EVENTS}

    def read(client) -> collections.deque[dict]:
        stream = client.api.events(decode=True, **params)
        try:
            # Bounded whatever the host did in that time: only the newest are kept.
            return collections.deque(
                (e for e in stream if not event_action(e).startswith("exec_")), maxlen=limit)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    return [to_engine_event(session.name, event) for event in session.call(read)]
