"""Apply progress from worker threads to the UI: coalesced, batched, and a way to stop.

`apply()` reports every step from the thread of its host, several hosts at
once. The UI needs the latest state of each container, not every event:
the relay keeps that state and posts a snapshot at most every `interval`
seconds (a late event is flushed by a timer, so the last state always
arrives). Snapshots are whole, so the UI may drop all but the newest.

The relay is also how the UI stops an apply: after `stop()`, the next
progress report raises `DeployError` on the apply's thread, which ends that
host's work after its current step. The steps done stay done; deploying
again converges.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from corral.backends.deploy import Progress
from corral.backends.errors import DeployError

#: Seconds between two snapshots at most (the UI redraws ~10 times a second).
BATCH_SECONDS = 0.1

Snapshot = tuple[Progress, ...]


class ProgressRelay:
    """A thread-safe `ProgressCallback` that posts coalesced snapshots.

    Args:
        post: Called with the latest event of every (host, name), in the
            order they first appeared; from the reporting thread or a timer
            thread, so it must be thread-safe (`post_message` is).
        interval: Seconds between snapshots at most.
    """

    def __init__(self, post: Callable[[Snapshot], object], interval: float = BATCH_SECONDS):
        self._post = post
        self.interval = interval
        self._lock = threading.Lock()
        self._latest: dict[tuple[str, str], Progress] = {}
        self._pending = False
        self._posted_at = 0.0
        self._timer: threading.Timer | None = None
        self._stopped = threading.Event()

    def __call__(self, event: Progress) -> None:
        if self._stopped.is_set():
            raise DeployError("stopped from the console", host=event.host)
        with self._lock:
            self._latest[(event.host, event.name)] = event
            self._pending = True
            wait = self.interval - (time.monotonic() - self._posted_at)
            if wait > 0:
                if self._timer is None:
                    self._timer = threading.Timer(wait, self.flush)
                    self._timer.daemon = True
                    self._timer.start()
                return
            self._send()

    def flush(self) -> None:
        """Post the latest snapshot now if anything changed since the last one."""
        with self._lock:
            self._send()

    def close(self) -> None:
        """Flush, and post nothing later (the apply has ended)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._send()

    def snapshot(self) -> Snapshot:
        """The latest event of every (host, name)."""
        with self._lock:
            return tuple(self._latest.values())

    def stop(self) -> None:
        """Make the next report raise, ending the apply after the steps in progress."""
        self._stopped.set()

    @property
    def stopping(self) -> bool:
        """Whether `stop()` was called."""
        return self._stopped.is_set()

    def _send(self) -> None:
        # Under the lock: two threads cannot post snapshots out of order.
        self._timer = None
        if not self._pending:
            return
        self._pending = False
        self._posted_at = time.monotonic()
        self._post(tuple(self._latest.values()))
