"""Interactive `docker exec` over a host's tunnel: a raw socket, its size, its exit code.

`ExecStream.open` creates an exec on the host's engine and upgrades the
`/exec/ID/start` request to a raw byte stream (docker-py's
`exec_start(socket=True)`), which travels through the same SSH tunnel as
every other API call. With a TTY the stream carries the terminal's bytes
unframed; without one it carries docker's 8-byte frame headers (see
`exec_frames`).

Everything here blocks: call it from worker threads, never from the backend
loop (which must keep pumping the tunnel's bytes) nor from a UI thread. The
one exception is `ExecStream.write`, which never blocks, so a UI may send
keystrokes straight from its key handler.

Running anything in a container is a mutation: `ExecStream.open` passes the
gate (`backends/guard.py`) as `exec` (a command in the operator's terminal)
or `shell` (Corral's terminal pane), refused when Corral or the session is
read-only.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from corral.backends import guard
from corral.backends.errors import BackendError
from corral.backends.exec.process import PidReport, has_shell, shell_argv, terminate
from corral.backends.ssh.session import HostSession
from corral.backends.translate import translate_docker_error

#: The terminal type announced to programs in the pane (256 and true colours).
PANE_TERM = "xterm-256color"

#: Most bytes waiting to be written before `write` refuses more (a paste
#: larger than this is cut short rather than held in memory).
WRITE_LIMIT = 4 * 1024 * 1024

_READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class ExecRequest:
    """What to run in a container.

    Attributes:
        container: Container name or id.
        command: The program and its arguments; empty for the default shell
            (bash if the image has it, else sh).
        user: `user`, `uid` or `user:group` to run as; None for the image's.
        tty: Allocate a terminal (interactive use) or not (pipes, scripts).
        term: The `TERM` value set in the process's environment (TTY only).
        workdir: Working directory; None for the image's.
        verb: The gate's verb: `exec` (`corral exec`) or `shell` (a terminal pane).
    """

    container: str
    command: tuple[str, ...] = ()
    user: str | None = None
    tty: bool = True
    term: str = PANE_TERM
    workdir: str | None = None
    verb: str = "exec"

    @property
    def title(self) -> str:
        """A short description of the command, for a pane's title."""
        return " ".join(self.command) if self.command else "shell"


class ExecStream:
    """One started exec: its raw socket, its size, its exit code.

    Reading is for one thread at a time; `write` may be called from any
    thread and never blocks (a helper thread finishes writes the socket
    could not take at once).
    """

    def __init__(
        self,
        session: HostSession,
        exec_id: str,
        sockio: Any,
        request: ExecRequest,
        report: PidReport | None = None,
    ):
        self.session = session
        self.exec_id = exec_id
        self.request = request
        # docker-py hands back the HTTP connection's SocketIO; the socket
        # under it is what select() and a non-blocking send need (docker-py's
        # own `_disable_socket_timeout` reaches it the same way).
        # Pinned by tests/unit/test_dependency_internals.py.
        self._sockio = sockio
        self._sock: socket.socket = getattr(sockio, "_sock", sockio)
        self._sock.setblocking(False)
        self._leftover = _buffered_bytes(sockio)
        self._connection = session.connection
        self._wlock = threading.Condition()
        self._pending = bytearray()
        self._writer: threading.Thread | None = None
        self._shut_input = False
        self._closed = False
        self._report = report
        self.error: str | None = None

    @classmethod
    def open(
        cls,
        session: HostSession,
        request: ExecRequest,
        size: tuple[int, int] | None = None,
    ) -> ExecStream:
        """Create and start an exec in a running container.

        Args:
            session: The container's host.
            request: What to run, as whom, with or without a TTY.
            size: `(rows, columns)` of the terminal, applied at once.

        With a TTY the process runs under a wrapper that reports its PID, so
        that `terminate` can end it (see `process.py`), unless the image
        has no `sh`.

        Raises:
            ActionRefused: Corral or the session is read-only; nothing ran.
            BackendError: The host is offline, the container does not exist
                or is not running, or the engine refused.
        """
        # The program only, never its arguments: a command line may carry a password.
        args = {"program": request.command[0] if request.command else "(shell)",
                "user": request.user or "", "tty": request.tty}
        with guard.mutating(request.verb, hosts=session.name, target=request.container,
                            args=args, readonly=session.readonly):
            return cls._open(session, request, size)

    @classmethod
    def _open(cls, session: HostSession, request: ExecRequest,
              size: tuple[int, int] | None) -> ExecStream:
        client = session.client
        environment = {"TERM": request.term} if request.tty else None
        try:
            wrap = request.tty and (
                not request.command or has_shell(client, request.container)
            )
            created = client.api.exec_create(
                request.container,
                shell_argv(request.command, report_pid=wrap),
                stdin=True,
                tty=request.tty,
                user=request.user or "",
                environment=environment,
                workdir=request.workdir,
            )
            sockio = session.stream_client().api.exec_start(
                created["Id"], tty=request.tty, socket=True
            )
        except Exception as exc:
            raise translate_docker_error(exc, session.name) from exc
        stream = cls(session, created["Id"], sockio, request, PidReport() if wrap else None)
        if size is not None:
            with contextlib.suppress(BackendError):
                stream.resize(*size)
        return stream

    def fileno(self) -> int:
        """The socket's descriptor, for select()."""
        return self._sock.fileno()

    def read(self, timeout: float | None) -> bytes | None:
        """Wait for output.

        Args:
            timeout: Seconds to wait; None waits until something happens.

        Returns:
            The bytes that arrived; `b""` once the stream has ended (the
            process exited, the connection dropped or `close` was called);
            None if nothing arrived in time.
        """
        data = self._receive(timeout)
        if self._report is None or data is None:
            return data
        if not data:
            return self._report.flush()
        return self._report.filter(data) or None

    def _receive(self, timeout: float | None) -> bytes | None:
        if self._leftover:
            data, self._leftover = self._leftover, b""
            return data
        if self._closed:
            return b""
        poller = select.poll()
        try:
            poller.register(self._sock, select.POLLIN)
            ready = poller.poll(None if timeout is None else timeout * 1000)
        except (OSError, ValueError):
            return b""
        if not ready:
            return None
        try:
            return self._sock.recv(_READ_SIZE)
        except BlockingIOError:
            return None
        except OSError as exc:
            self.error = exc.strerror or str(exc)
            return b""

    def write(self, data: bytes) -> bool:
        """Send input to the process without blocking the caller.

        Returns:
            False if the stream is closed or too much input is already
            waiting (the bytes are dropped).
        """
        with self._wlock:
            if self._closed or self._shut_input:
                return False
            if not self._pending:
                try:
                    sent = self._sock.send(data)
                except BlockingIOError:
                    sent = 0
                except OSError as exc:
                    self.error = exc.strerror or str(exc)
                    return False
                data = data[sent:]
                if not data:
                    return True
            if len(self._pending) + len(data) > WRITE_LIMIT:
                return False
            self._pending += data
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_pending, name=f"corral-exec-write-{self.exec_id[:8]}",
                    daemon=True,
                )
                self._writer.start()
            self._wlock.notify()
        return True

    @property
    def pending_input(self) -> int:
        """Bytes accepted by `write` and not yet sent."""
        return len(self._pending)

    def _write_pending(self) -> None:
        poller = select.poll()
        poller.register(self._sock, select.POLLOUT)
        while True:
            with self._wlock:
                while not self._pending and not self._closed:
                    self._wlock.wait()
                if self._closed:
                    return
            poller.poll(250)
            with self._wlock:
                try:
                    sent = self._sock.send(self._pending)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    self.error = exc.strerror or str(exc)
                    self._pending.clear()
                    return
                del self._pending[:sent]

    def close_input(self) -> None:
        """Signal end of input (the process reads EOF) once pending input is sent."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with self._wlock:
                if not self._pending or self._closed:
                    break
            time.sleep(0.01)
        with self._wlock:
            self._shut_input = True
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_WR)

    def resize(self, rows: int, columns: int) -> None:
        """Set the exec's terminal size (what `stty size` reports inside).

        Raises:
            BackendError: The host is offline or the engine refused.
        """
        self.session.call(
            lambda client: client.api.exec_resize(self.exec_id, height=rows, width=columns)
        )

    def exit_code(self, wait: float = 2.0) -> int | None:
        """The process's exit code, once the engine has it.

        Args:
            wait: Seconds to keep asking while the engine still reports the
                exec as running (it lags the end of the stream slightly).

        Returns:
            The exit code, or None if the process still runs after `wait`.

        Raises:
            BackendError: The host is offline or the engine refused.
        """
        deadline = time.monotonic() + wait
        while True:
            info = self.session.call(lambda client: client.api.exec_inspect(self.exec_id))
            if not info.get("Running") and info.get("ExitCode") is not None:
                return int(info["ExitCode"])
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    @property
    def connection_lost(self) -> bool:
        """Whether the host connection this stream rode on has gone.

        Distinguishes a dropped link (the stream ended because the tunnel
        closed) from a process that exited, without asking the engine.
        """
        if self._connection is not None:
            return self._connection.is_closed() or self.session.connection is not self._connection
        return not self.session.online

    @property
    def pid(self) -> int | None:
        """The process's PID in the container, if the wrapper reported it."""
        return self._report.pid if self._report is not None else None

    def terminate(self) -> None:
        """End the process if it still runs; blocking, best effort.

        Closing the stream does not end it: Docker keeps a TTY's process
        running. Needs the PID report (a TTY and `sh` in the image). Call it
        from the thread that reads, before `close`.
        """
        if self._report is None:
            return
        # The report may still be on its way (a process closed right after
        # it started); output read here is dropped, the stream is ending.
        deadline = time.monotonic() + 1.0
        while self._report.pid is None and time.monotonic() < deadline:
            if self.read(0.1) == b"":
                break
        pid = self._report.pid
        if pid is None:
            return
        with contextlib.suppress(Exception):
            client = self.session.client
            if client.api.exec_inspect(self.exec_id).get("Running"):
                terminate(client, self.request.container, pid)

    def close(self) -> None:
        """Close the socket; idempotent. The process keeps running (see `terminate`)."""
        with self._wlock:
            if self._closed:
                return
            self._closed = True
            self._wlock.notify_all()
        # shutdown() wakes a reader blocked in poll(); close() alone would not.
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self._sock.close()
        with contextlib.suppress(Exception):
            self._sockio.close()


def _buffered_bytes(sockio: Any) -> bytes:
    """Bytes the HTTP layer read past the upgrade's headers, if any.

    http.client reads the `101 UPGRADED` headers through a buffered reader
    that may already hold the first output bytes; they would be lost if
    reading went straight to the socket. Returns them without blocking (the
    socket is non-blocking by now, so `peek` only returns what is buffered).
    """
    try:
        # docker-py/urllib3 internals: pinned by tests/unit/test_dependency_internals.py
        reader = sockio._response.raw._fp.fp
        return bytes(reader.peek() or b"")
    except Exception:
        return b""


def exec_frames(buffer: bytearray) -> list[tuple[int, bytes]]:
    """Split complete frames off a non-TTY exec stream.

    Without a TTY the engine multiplexes stdout and stderr, each chunk behind
    an 8-byte header: stream (1 stdout, 2 stderr), three zero bytes, and the
    payload length (big-endian). Incomplete frames stay in `buffer`.

    Returns:
        `(stream, payload)` pairs in order.
    """
    frames = []
    while len(buffer) >= 8:
        length = int.from_bytes(buffer[4:8], "big")
        if len(buffer) < 8 + length:
            break
        frames.append((buffer[0], bytes(buffer[8 : 8 + length])))
        del buffer[: 8 + length]
    return frames
