"""One thread per followed container: read its log stream, survive outages.

The reader asks the engine for `/containers/{id}/logs` with timestamps,
decodes the raw body itself (so stderr stays apart from stdout), and hands
lines to a blocking sink: when the consumer falls behind, the sink blocks
and so does the read, and TCP pushes back on the engine.

When the stream breaks (the SSH link dropped, the engine restarted), the
reader waits for the host and asks again from the oldest of the last few
thousand lines it delivered; lines it already delivered are dropped by
(timestamp, stream, text), so nothing is duplicated and nothing is missed.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from corral.backends.engine.events import since_param
from corral.backends.errors import BackendError, DockerApiError, NotFound
from corral.backends.logs.demux import NOTICE, LineDecoder, LogLine, parse_rfc3339_ns
from corral.backends.ssh.gate import HostGate
from corral.backends.ssh.niceness import lower_priority
from corral.backends.translate import translate_docker_error

#: Bytes asked of the socket per read: ~800 lines of 80 bytes.
READ_SIZE = 65536
#: After a short read, let lines pile up this long before reading again.
#: A live stream then costs ~100 reads a second instead of one per few lines:
#: every read takes the GIL, and each one the UI thread loses is a stall.
SETTLE = 0.01
#: Lines remembered for de-duplication after a reconnect.
RESUME_MEMORY = 1024


class StreamLost(BackendError):
    """The log stream broke before the engine ended it; the reader reconnects."""

    title = "Log stream lost"


class ContainerReader(threading.Thread):
    """Follows one container's log on a thread of its own (`start()` it).

    Args:
        gate: The container's host.
        container: The container's full ID.
        source: Index the lines get (`LogLine.source`).
        sink: Takes a list of lines (or a control tuple); blocks when the
            consumer is behind; returns False once the follow is stopping.
        stop: The whole follow is ending.
        since_ns: Only lines from this engine time on (nanoseconds).
        tail: Only the last N lines of the history (None: all).
        follow: Keep reading as the container writes, and across restarts.
    """

    def __init__(
        self,
        gate: HostGate,
        container: str,
        source: int,
        sink: Callable[[Any], bool],
        stop: threading.Event,
        *,
        since_ns: int | None = None,
        tail: int | None = None,
        follow: bool = True,
    ) -> None:
        super().__init__(name=f"corral-logs-{container[:12]}", daemon=True)
        self.gate = gate
        self.container = container
        self.source = source
        self.sink = sink
        self.stop = stop
        self.since_ns = since_ns
        self.tail = tail
        self.follow = follow
        self.finished = False
        self._recent: collections.deque[LogLine] = collections.deque(maxlen=RESUME_MEMORY)
        self._skip: collections.Counter | None = None
        self._skip_until = 0
        self._floor = 0
        self._socket: socket.socket | None = None
        self._wakeup = threading.Event()
        self._exit_seen: str | None = None

    @property
    def host(self) -> str:
        """The container's host."""
        return self.gate.session.name

    def wake(self) -> None:
        """The container started again (or was destroyed): look at it afresh."""
        self._wakeup.set()

    def abort(self) -> None:
        """Break the current read (stopping, or the host went offline)."""
        sock = self._socket
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._wakeup.set()

    # The thread ---------------------------------------------------------

    def run(self) -> None:
        """The thread: read until the container goes or the follow stops."""
        lower_priority()
        try:
            self._loop()
        finally:
            self.finished = True
            self.sink(("closed", self.source))

    def _loop(self) -> None:
        delays = _Backoff()
        generation = self.gate.generation
        while not self.stop.is_set():
            if not self.gate.wait_online(generation - 1, self.stop):
                return
            generation = self.gate.generation
            try:
                info = self.gate.session.call(
                    lambda client: client.api.inspect_container(self.container)
                )
                clean = self._stream_once(bool(info.get("Config", {}).get("Tty")))
            except NotFound:
                self._notice("container removed: end of its log")
                return
            except BackendError as exc:  # StreamLost too: wait and read again
                if self.stop.is_set():
                    return
                if isinstance(exc, DockerApiError):
                    self._notice(f"cannot read the log: {exc.message}")
                    return
                # Wait for a new connection; if the session stays up (the
                # engine restarted behind it) retry after a backoff instead.
                self.gate.wait_online(generation, self.stop, timeout=next(delays))
                continue
            delays = _Backoff()
            if not self.follow or self.stop.is_set() or not clean:
                return
            if not self._after_end():
                return

    def _after_end(self) -> bool:
        """The engine ended a followed stream: the container stopped or went.

        Returns:
            Whether to read again (it runs again, or may later).
        """
        # Cleared before asking, not after: a `destroy` or `start` event that
        # lands between the answer and the wait must still end the wait.
        self._wakeup.clear()
        try:
            info = self.gate.session.call(
                lambda client: client.api.inspect_container(self.container)
            )
        except NotFound:
            self._notice("container removed: end of its log")
            return False
        except BackendError:
            return True  # the host went away; the loop waits for it
        state = info.get("State", {})
        if state.get("Running"):
            return True
        finished = state.get("FinishedAt", "")
        if finished != self._exit_seen:
            self._exit_seen = finished
            ts = parse_rfc3339_ns(finished) or time.time_ns()
            code = state.get("ExitCode")
            self._notice(f"container stopped (exit code {code}); waiting for a restart", ts)
        self.sink(("closed", self.source))
        while not self._wakeup.wait(1.0):
            if self.stop.is_set():
                return False
        self.sink(("opened", self.source))
        return not self.stop.is_set()

    def _request_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "stdout": 1, "stderr": 1, "timestamps": 1, "follow": int(self.follow)
        }
        if self._recent:
            # Resume: from the oldest remembered line, dropping those seen.
            self._floor = self._recent[0].ts
            self._skip = collections.Counter((ln.ts, ln.stream, ln.text) for ln in self._recent)
            self._skip_until = max(ln.ts for ln in self._recent)
            params["since"] = since_param(self._floor)
            params["tail"] = "all"
            return params
        params["tail"] = "all" if self.tail is None else str(self.tail)
        if self.since_ns:
            params["since"] = since_param(self.since_ns)
        return params

    def _stream_once(self, tty: bool) -> bool:
        """Read one logs response to its end.

        Returns:
            True if the engine ended the stream, False if the follow stopped.

        Raises:
            StreamLost: The connection broke first.
            BackendError: The engine refused.
        """
        params = self._request_params()
        try:
            api = self.gate.session.stream_client().api
            # private docker-py API: pinned by tests/unit/test_dependency_internals.py
            response = api._get(
                api._url("/containers/{0}/logs", self.container), params=params, stream=True
            )
            api._raise_for_status(response)
        except Exception as exc:
            raise translate_docker_error(exc, self.host) from exc
        try:
            # urllib3/http.client internals: pinned by tests/unit/test_dependency_internals.py
            reader = response.raw._fp.fp
            self._socket = _socket_of(reader)
            if self.follow and self._socket is not None:
                self._socket.settimeout(None)  # a quiet container is not a dead link
            decoder = LineDecoder(self.source, tty)
            while not self.stop.is_set():
                data = reader.read1(READ_SIZE)
                if not data:
                    break
                lines = decoder.feed(data)
                if lines and not self._deliver(lines):
                    return False
                if decoder.done:
                    return True
                if len(data) < READ_SIZE // 4:
                    self.stop.wait(SETTLE)
        except (OSError, ValueError, AttributeError) as exc:
            if self.stop.is_set():
                return False
            raise StreamLost(str(exc)) from exc
        finally:
            self._socket = None
            with contextlib.suppress(Exception):
                response.close()
        if self.stop.is_set():
            return False
        raise StreamLost("the connection closed mid-stream")

    def _deliver(self, lines: list[LogLine]) -> bool:
        skip = self._skip
        if skip is not None:
            kept = []
            for line in lines:
                if skip is not None:
                    if line.ts > self._skip_until:
                        skip = self._skip = None
                    else:
                        key = (line.ts, line.stream, line.text)
                        if skip.get(key):
                            skip[key] -= 1
                            continue
                        if line.ts < self._floor:
                            continue
                kept.append(line)
            lines = kept
            if not lines:
                return True
        self._recent.extend(lines)
        return self.sink(lines)

    def _notice(self, text: str, ts: int | None = None) -> None:
        self.sink([LogLine(ts or time.time_ns(), self.source, NOTICE, text)])


class _Backoff:
    """0.5 s doubling to 5 s: retries when the session itself stayed up."""

    def __init__(self) -> None:
        self.delay = 0.5

    def __iter__(self) -> _Backoff:
        return self

    def __next__(self) -> float:
        delay, self.delay = self.delay, min(self.delay * 2, 5.0)
        return delay


def _socket_of(reader: Any) -> socket.socket | None:
    """The socket under an http.client response's buffered reader, if any."""
    raw = getattr(reader, "raw", None)
    # socket.SocketIO._sock: pinned by tests/unit/test_dependency_internals.py
    sock = getattr(raw, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None
