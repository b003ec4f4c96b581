"""Waiting for a host on a plain thread: until it is online, or online again.

docker-py blocks, so log readers and the event follower run on threads, and
a thread whose stream broke must wait for the host to come back. Session
listeners fire on the backend loop; `HostGate.on_status` only flips a
condition so that loop never waits.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from corral.backends.ssh.status import HostState, HostStatus

if TYPE_CHECKING:
    from corral.backends.ssh.session import HostSession


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
