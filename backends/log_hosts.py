"""Per-host helpers of a log follow: waiting for a host, watching its events.

Both run on plain threads: docker-py's event stream blocks, and so does
waiting for a host to come back. Session listeners fire on the backend
loop; `HostGate.on_status` only flips a condition so that loop never waits.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from .errors import BackendError
from .session import HostSession, HostState, HostStatus

#: Container events a follow reacts to.
WATCHED_EVENTS = ("start", "die", "destroy")


class HostGate:
    """Where a host stands, for threads that must wait for it.

    `generation` counts the times the session came online, so that a thread
    whose stream broke can wait for a *new* connection rather than race the
    session into noticing that the old one is gone.
    """

    def __init__(self, session: HostSession) -> None:
        self.session = session
        self._cond = threading.Condition()
        self.generation = 1 if session.online else 0

    def on_status(self, status: HostStatus) -> None:
        """Session listener (backend loop): record the change and wake waiters."""
        with self._cond:
            if status.state is HostState.ONLINE:
                self.generation += 1
            self._cond.notify_all()

    def wait_online(
        self, after: int, stop: threading.Event, timeout: float | None = None
    ) -> bool:
        """Wait until the host is online on a connection newer than `after`.

        Args:
            after: A generation already seen; pass -1 to accept the current one.
            stop: Give up when set.
            timeout: After this long, settle for the host merely being online
                (the engine restarted under a connection that stayed up).

        Returns:
            Whether the host is online (False if `stop` was set).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not stop.is_set():
                online = self.session.online
                if online and self.generation > after:
                    return True
                if deadline is not None and time.monotonic() >= deadline and online:
                    return True
                self._cond.wait(0.25)
        return False

    def wake(self) -> None:
        """Wake every waiter (on stop)."""
        with self._cond:
            self._cond.notify_all()


class EventWatcher(threading.Thread):
    """Follows one host's container events on a thread, across reconnects (`start()` it).

    Args:
        gate: The host.
        stop: Ends the watch when set.
        emit: Called on the watcher's thread with `(host, event)` for each event.
        since: Engine time (epoch seconds) to replay events from.
        container: Only this container's events.
    """

    def __init__(
        self,
        gate: HostGate,
        stop: threading.Event,
        emit: Callable[[str, dict], None],
        since: float,
        container: str | None = None,
    ) -> None:
        super().__init__(name=f"corral-events-{gate.session.name}", daemon=True)
        self.gate = gate
        self.stop = stop
        self.emit = emit
        self.since = since
        self.container = container
        self._stream: Any = None

    def abort(self) -> None:
        """Break the current stream (stop, or the host went offline)."""
        stream = self._stream
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()

    def run(self) -> None:
        """The thread: stream events, reopening the stream after each reconnect."""
        filters: dict[str, Any] = {"type": "container", "event": list(WATCHED_EVENTS)}
        if self.container:
            filters["container"] = self.container
        session = self.gate.session
        seen = -1
        while not self.stop.is_set():
            if not self.gate.wait_online(seen, self.stop, timeout=2.0):
                return
            seen = self.gate.generation
            try:
                self._stream = session.call(
                    lambda client: client.api.events(
                        since=self.since, filters=filters, decode=True
                    )
                )
                for event in self._stream:
                    if self.stop.is_set():
                        return
                    self.since = max(self.since, event.get("timeNano", 0) / 1e9)
                    self.emit(session.name, event)
            except BackendError:
                pass
            except Exception:  # a broken socket surfaces as many types
                pass
            finally:
                self.abort()
                self._stream = None
            self.stop.wait(0.5)
