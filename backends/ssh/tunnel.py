"""A local UNIX socket that reaches a remote Docker engine over SSH.

The socket lives in a private directory (mode 0700) so no other local user
can borrow the operator's access to the engine, and it is never a TCP port.

Two ways to reach the engine, tried in order:

* stream-local forwarding (`direct-streamlocal@openssh.com`): asyncssh pumps
  bytes between the local socket and the remote one; fastest.
* `docker system dial-stdio` run over an SSH session, for servers that refuse
  stream-local forwarding (`AllowStreamLocalForwarding no`); each local
  connection gets its own remote process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import tempfile
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from corral.backends.errors import DockerUnavailable, TunnelRefused
from corral.backends.sshlib import asyncssh

FORWARD = "forward"
DIAL_STDIO = "dial-stdio"


# Names the process that made a socket directory, so a later Corral can remove
# the directory of one that was killed (SIGKILL, the OOM killer) before its
# clean-ups ran.
OWNER_FILE = ".corral-tunnel-owner"


def private_directory(prefix: str) -> str:
    """Create a 0700 directory for sockets, under $XDG_RUNTIME_DIR or /tmp.

    UNIX socket paths are limited to about 100 bytes, so the prefix is kept
    short and the runtime directory preferred over deep temp paths. The
    directories left by this user's killed Corral processes are removed first.
    """
    base = os.environ.get("XDG_RUNTIME_DIR")
    if not base or not os.path.isdir(base) or len(base) > 40:
        base = "/tmp"
    remove_orphaned_directories(base)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in prefix)[:24]
    directory = tempfile.mkdtemp(prefix=f"corral-{safe}-", dir=base)
    with open(os.path.join(directory, OWNER_FILE), "w", encoding="ascii") as owner:
        owner.write(f"{os.getpid()} {_boot_id()}\n")
    return directory


def remove_orphaned_directories(base: str) -> list[str]:
    """Remove socket directories under `base` whose Corral process is gone.

    Only directories of this user that carry the owner file are considered,
    and only when the owner ran on this boot and its pid is gone, or ran on
    an earlier boot. Anything unreadable or unexpected is left alone.

    Returns:
        The directories removed.
    """
    removed: list[str] = []
    boot = _boot_id()
    try:
        entries = list(os.scandir(base))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith("corral-"):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat().st_uid != os.getuid():
                continue
            with open(os.path.join(entry.path, OWNER_FILE), encoding="ascii") as owner:
                pid_text, _, owner_boot = owner.read(200).strip().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            continue
        if owner_boot == boot and (pid == os.getpid() or _alive(pid)):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot:
            return boot.read().strip()
    except OSError:
        return "unknown"


class DockerTunnel:
    """The local end of one host's path to its engine.

    Attributes:
        path: The local UNIX socket docker-py connects to.
        mode: `FORWARD` or `DIAL_STDIO`.
    """

    def __init__(self, directory: str, mode: str):
        self.directory = directory
        self.path = os.path.join(directory, "docker.sock")
        self.mode = mode
        self._closers: list[object] = []
        # Also at interpreter exit (or when dropped unclosed): a process that
        # ends without closing its fleet leaves no directory behind in /tmp.
        self._remove_directory = weakref.finalize(self, shutil.rmtree, directory, True)

    @property
    def base_url(self) -> str:
        """The URL docker-py takes for this socket."""
        return f"unix://{self.path}"

    def close(self) -> None:
        """Stop listening and remove the private directory."""
        for closer in self._closers:
            with contextlib.suppress(Exception):
                closer.close()  # type: ignore[attr-defined]
        self._closers.clear()
        self._remove_directory()


async def open_tunnel(
    conn: asyncssh.SSHClientConnection,
    *,
    name: str,
    remote_socket: str,
    socket_explicit: bool,
) -> DockerTunnel:
    """Open a tunnel to the engine behind `remote_socket`.

    Args:
        conn: An open SSH connection to the host.
        name: The host's inventory name, for messages and the directory name.
        remote_socket: The engine's socket path on the host.
        socket_explicit: Whether the inventory named the socket; if not, the
            dial-stdio fallback lets the host's own DOCKER_HOST decide.

    Returns:
        The tunnel, listening.

    Raises:
        DockerUnavailable: No engine answers by either path.
        TunnelRefused: Forwarding is refused and the host has no docker CLI.
    """
    command = _dial_stdio_command(remote_socket, socket_explicit)
    mode = await _choose_mode(conn, name, remote_socket, command)
    tunnel = DockerTunnel(private_directory(name), mode)
    try:
        if mode == FORWARD:
            listener = await conn.forward_local_path(tunnel.path, remote_socket)
            tunnel._closers.append(listener)
        else:
            server = await asyncio.get_running_loop().create_unix_server(
                lambda: _DialStdioBridge(conn, command), tunnel.path
            )
            tunnel._closers.append(server)
        os.chmod(tunnel.path, 0o600)
    except BaseException:
        tunnel.close()
        raise
    return tunnel


def _dial_stdio_command(remote_socket: str, socket_explicit: bool) -> str:
    """The remote command of the dial-stdio fallback; the host's own DOCKER_HOST
    decides unless the inventory named the socket."""
    if socket_explicit:
        return f"docker -H {shlex.quote('unix://' + remote_socket)} system dial-stdio"
    return "docker system dial-stdio"


async def _choose_mode(
    conn: asyncssh.SSHClientConnection, name: str, socket: str, command: str
) -> str:
    """Try a stream-local channel; if the server will not open one, try dial-stdio.

    OpenSSH answers "open failed" alike for a refused forward and a missing
    socket, so the fallback is tried on any refusal and its own failure
    explains which it was.
    """
    try:
        _, writer = await conn.open_unix_connection(socket)
    except asyncssh.ChannelOpenError as exc:
        forward_error = exc.reason or "refused"
    else:
        writer.close()
        return FORWARD
    problem = await _ping_over_dial_stdio(conn, command)
    if problem is None:
        return DIAL_STDIO
    if problem == _NO_DOCKER_CLI:
        raise TunnelRefused(
            f"cannot reach {socket}: stream-local forwarding failed ({forward_error}) and the "
            "host has no `docker` command for the dial-stdio fallback",
            host=name,
        )
    raise DockerUnavailable(f"no Docker engine answers at {socket}: {problem}", host=name)


_NO_DOCKER_CLI = "no docker CLI"
_PING = b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"


async def _ping_over_dial_stdio(conn: asyncssh.SSHClientConnection, command: str) -> str | None:
    """Ping the engine through one `docker system dial-stdio`; None if it answered."""
    try:
        process = await conn.create_process(command, encoding=None)
    except (asyncssh.Error, OSError) as exc:
        return f"cannot run `{command}`: {exc}"
    try:
        process.stdin.write(_PING)
        answer = await asyncio.wait_for(process.stdout.read(4096), 10)
        if answer.startswith(b"HTTP/1.1 200"):
            return None
        await asyncio.wait_for(process.wait_closed(), 5)
        if process.exit_status == 127:
            return _NO_DOCKER_CLI
        errors = (await process.stderr.read()).decode("utf-8", "replace").strip()
        lines = errors.splitlines()
        return lines[-1] if lines else f"`{command}` exited with {process.exit_status}"
    except (TimeoutError, asyncssh.Error, OSError):
        return f"`{command}` did not answer"
    finally:
        process.close()


async def serve_engine(
    conn: asyncssh.SSHClientConnection,
    path: str,
    *,
    name: str,
    remote_socket: str,
    socket_explicit: bool,
    on_open: Callable[[], None],
    on_close: Callable[[], None],
) -> tuple[asyncio.AbstractServer, str]:
    """Listen at `path` and join each local connection to the engine (a persisted tunnel).

    Like `open_tunnel`, but every local connection is counted (`on_open`,
    `on_close`), so that its owner can tell when the tunnel is idle.

    Returns:
        The listening server and its mode (`FORWARD` or `DIAL_STDIO`).

    Raises:
        DockerUnavailable: No engine answers by either path.
        TunnelRefused: Forwarding is refused and the host has no docker CLI.
    """
    command = _dial_stdio_command(remote_socket, socket_explicit)
    mode = await _choose_mode(conn, name, remote_socket, command)
    if mode == FORWARD:
        def bridge() -> _ChannelBridge:
            return _ChannelBridge(
                lambda factory: conn.create_unix_connection(factory, remote_socket),
                on_open, on_close)
    else:
        def bridge() -> _ChannelBridge:
            return _DialStdioBridge(conn, command, on_open, on_close)
    server = await asyncio.get_running_loop().create_unix_server(bridge, path)
    return server, mode


class _ChannelBridge(asyncio.Protocol):
    """Joins one local connection to one SSH channel that `open_remote` opens.

    Works at the protocol level (no streams) to keep the per-chunk cost low,
    and passes flow control both ways so neither side buffers without bound.
    """

    def __init__(
        self,
        open_remote: Callable[[Callable[[], _RemoteSide]], Awaitable[tuple[Any, Any]]],
        on_open: Callable[[], None] | None = None,
        on_close: Callable[[], None] | None = None,
    ):
        self.open_channel = open_remote
        self.on_close = on_close
        if on_open is not None:
            on_open()
        self.local: asyncio.Transport | None = None
        self.remote: asyncssh.SSHClientChannel | None = None
        self.pending: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.local = transport  # type: ignore[assignment]
        asyncio.get_running_loop().create_task(self._open_remote())

    async def _open_remote(self) -> None:
        try:
            channel, _ = await self.open_channel(lambda: _RemoteSide(self))
        except (asyncssh.Error, OSError):
            self._close_local()
            return
        if self.closed:
            channel.close()
            return
        self.remote = channel
        for chunk in self.pending:
            channel.write(chunk)
        self.pending.clear()

    def data_received(self, data: bytes) -> None:
        if self.remote is None:
            self.pending.append(data)
        else:
            self.remote.write(data)

    def eof_received(self) -> bool:
        if self.remote is not None:
            self.remote.write_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.remote is not None:
            self.remote.close()
        on_close, self.on_close = self.on_close, None
        if on_close is not None:
            on_close()

    def pause_writing(self) -> None:
        if self.remote is not None:
            self.remote.pause_reading()

    def resume_writing(self) -> None:
        if self.remote is not None:
            self.remote.resume_reading()

    def _close_local(self) -> None:
        if self.local is not None and not self.closed:
            self.local.close()


class _DialStdioBridge(_ChannelBridge):
    """Joins one local connection to one remote `docker system dial-stdio`."""

    def __init__(self, conn: asyncssh.SSHClientConnection, command: str,
                 on_open: Callable[[], None] | None = None,
                 on_close: Callable[[], None] | None = None):
        self.conn = conn
        self.command = command
        super().__init__(
            lambda factory: conn.create_session(factory, command, encoding=None),
            on_open, on_close)


class _RemoteSide(asyncssh.SSHClientSession):
    def __init__(self, bridge: _ChannelBridge):
        self.bridge = bridge

    def data_received(self, data: bytes, datatype: object) -> None:
        if datatype is None and self.bridge.local is not None:
            self.bridge.local.write(data)

    def eof_received(self) -> bool:
        if self.bridge.local is not None and self.bridge.local.can_write_eof():
            self.bridge.local.write_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.bridge._close_local()

    def pause_writing(self) -> None:
        if self.bridge.local is not None:
            self.bridge.local.pause_reading()

    def resume_writing(self) -> None:
        if self.bridge.local is not None:
            self.bridge.local.resume_reading()
