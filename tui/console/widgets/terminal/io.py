"""Thread-safe pieces a shell pane shares between the UI and its threads.

None of these touch a widget: the reader thread and the resize workers use
them to hand a stream, a size or a batch of output across threads.
"""

from __future__ import annotations

import threading

from corral.backends.exec import ExecStream

#: Most bytes taken from the socket at once during a flood.
FLOOD_READ_MAX = 512 * 1024


def read_waiting(stream: ExecStream, data: bytes) -> tuple[bytes, bool]:
    """`data` plus whatever else is waiting on the socket, up to FLOOD_READ_MAX.

    Between a flood's paced reads the socket fills up; taking all of it at
    once keeps the backlog in the tunnel small, so that after Ctrl-C there
    is little left to drain.

    Returns:
        The bytes, and whether the stream ended meanwhile.
    """
    chunks = [data]
    size = len(data)
    while size < FLOOD_READ_MAX:
        more = stream.read(0)
        if more is None:
            break
        if not more:
            return b"".join(chunks), True
        chunks.append(more)
        size += len(more)
    return b"".join(chunks), False


class StreamHolder:
    """The pane's exec, set by the reader thread before any output is read.

    Query answers are written while output is parsed, possibly before the
    UI hears that the exec started; the holder makes the stream usable from
    the moment it exists.
    """

    def __init__(self) -> None:
        self.stream: ExecStream | None = None

    def write(self, data: bytes) -> None:
        """Send to the exec; dropped before it exists."""
        stream = self.stream
        if stream is not None:
            stream.write(data)

    def close(self) -> None:
        """Close the exec's stream, if any."""
        stream = self.stream
        if stream is not None:
            stream.close()


class LatestSize:
    """The terminal size to apply, shared by the UI and one resize worker.

    The UI records every size with `want` and starts a worker only when
    `claim` hands it one; the worker applies it and asks `applied` for the
    next, until nothing newer waits.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wanted: tuple[int, int] | None = None
        self._applied: tuple[int, int] | None = None
        self._busy = False

    def want(self, size: tuple[int, int]) -> None:
        """Record the size the terminal now has (UI thread)."""
        with self._lock:
            self._wanted = size

    def claim(self) -> tuple[int, int] | None:
        """A size for a new worker to apply, or None if one runs or none is due."""
        with self._lock:
            if self._busy or self._wanted is None or self._wanted == self._applied:
                return None
            self._busy = True
            return self._wanted

    def applied(self, size: tuple[int, int]) -> tuple[int, int] | None:
        """Note `size` as applied; returns a newer size to apply, or None (done)."""
        with self._lock:
            self._applied = size
            if self._wanted is not None and self._wanted != size:
                return self._wanted
            self._busy = False
            return None
