"""Keeping a live picture of every host's containers from its events stream.

One thread per host lists the containers once, then follows the engine's
event stream and re-reads only the container an event names. A host that
drops has its rows marked stale (not forgotten) until it is back and listed
afresh. Updates go to a single callback, which must be thread-safe and
cheap (typically: put into a queue the UI drains on a timer).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .errors import BackendError, translate_docker_error
from .facts import ContainerRow, container_row, list_containers
from .log_hosts import HostGate
from .session import HostSession

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


Update = Snapshot | Upsert | Removed | Stale | EngineEvent
Listener = Callable[[Update], None]


class HostWatcher:
    """Follows one host's containers on a daemon thread until stopped.

    Args:
        session: The host's session.
        listener: Receives every update, on the watcher's thread.
        retry_seconds: Pause before trying again after a failure.
    """

    def __init__(self, session: HostSession, listener: Listener, retry_seconds: float = 1.0):
        self.session = session
        self.listener = listener
        self.retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._gate = HostGate(session)
        self._stream = None
        self._thread = threading.Thread(
            target=self._run, name=f"corral-watch-{session.name}", daemon=True
        )

    def start(self) -> HostWatcher:
        """Start following; returns self."""
        self.session.add_listener(self._gate.on_status)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop following (closes the event stream so the thread wakes up)."""
        self._stop.set()
        self._gate.wake()
        self.session.remove_listener(self._gate.on_status)
        stream = self._stream
        if stream is not None:
            # The stream may already be dead; stopping is all we want.
            with contextlib.suppress(Exception):
                stream.close()

    def _run(self) -> None:
        host = self.session.name
        while not self._stop.is_set():
            # Follow as soon as the host is online rather than polling for it;
            # a host that never came up has no rows to call stale.
            if not self._gate.wait_online(-1, self._stop):
                return
            try:
                self._follow()
            except BackendError as exc:
                self.listener(Stale(host, exc.message))
            except Exception as exc:  # a dropped tunnel surfaces as anything from requests
                self.listener(Stale(host, translate_docker_error(exc, host).message))
            self._stop.wait(self.retry_seconds)

    def _follow(self) -> None:
        session = self.session
        # Subscribe before listing, so nothing that happens in between is lost.
        self._stream = session.call(
            lambda client: client.api.events(decode=True, filters={"type": ["container"]})
        )
        if self._stop.is_set():
            return
        self.listener(Snapshot(session.name, list_containers(session, all=True)))
        for event in self._stream:
            if self._stop.is_set():
                return
            if not (event.get("Action") or event.get("status") or "").startswith("exec_"):
                # Health checks run an exec every few seconds per container:
                # noise that would drown the events that matter.
                self._handle(event)
        if not self._stop.is_set():
            raise BackendError("the event stream ended", host=session.name)

    def _handle(self, event: dict) -> None:
        host = self.session.name
        action = (event.get("Action") or event.get("status") or "").split(":")[0]
        actor = event.get("Actor") or {}
        cid = actor.get("ID") or event.get("id") or ""
        attributes = actor.get("Attributes") or {}
        self.listener(
            EngineEvent(
                host=host,
                time=(event.get("timeNano") or 0) / 1e9 or float(event.get("time") or 0),
                type=event.get("Type", "container"),
                action=event.get("Action") or action,
                actor=attributes.get("name") or cid[:12],
                attributes=attributes,
            )
        )
        if action == "destroy":
            self.listener(Removed(host, cid[:12]))
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
                self.listener(Upsert(host, row))

    def _read_row(self, cid: str) -> ContainerRow | None:
        found = self.session.call(
            lambda client: client.api.containers(all=True, filters={"id": cid})
        )
        return container_row(self.session.name, found[0]) if found else None
