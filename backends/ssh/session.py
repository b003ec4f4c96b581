"""One host's session: its SSH connection, its tunnel and its Docker client.

A `HostSession` lives on the backend loop. `connect()` makes one attempt;
`run()` keeps the host online, reconnecting with backoff, and reports every
state change to a callback. The Docker client is blocking (docker-py): call
it from a worker thread, never from the backend loop itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from corral.backends.errors import BackendError, HostKeyChanged, HostOffline
from corral.backends.inventory.load import HostSpec
from corral.backends.ssh import engine_http
from corral.backends.ssh.settings import SshSettings
from corral.backends.ssh.status import HostState, HostStatus, StatusListener

if TYPE_CHECKING:
    # Imported where used: a one-shot read over a persisted tunnel (`persist`)
    # needs neither asyncssh nor docker-py, and importing them costs more CPU
    # than the whole read.
    import asyncssh
    import docker

    from corral.backends.ssh.relay import StreamRelay
    from corral.backends.ssh.tunnel import DockerTunnel

T = TypeVar("T")

#: Seconds a Docker API call may take before it counts as failed.
API_TIMEOUT = 30.0
#: An engine that stops or restarts behind a live SSH connection (`systemctl
#: restart docker`, the first half of a reboot) closes nothing SSH can notice,
#: yet every call to it fails. While online, the session holds one request open
#: through the tunnel that the engine never answers (events of a type no engine
#: emits): it ends the moment the engine goes, and a ping then confirms.
ENGINE_WATCH_PATH = "/events?filters=" + urllib.parse.quote(
    json.dumps({"type": ["corral-engine-watch"]}))
#: Seconds between pings when that request cannot be held (or the engine ended it).
ENGINE_CHECK_SECONDS = 2.0
#: Seconds between pings of an engine reached without SSH (local, or a persisted tunnel).
SOCKET_CHECK_SECONDS = 5.0
#: Failed pings in a row that take the host offline.
ENGINE_CHECK_FAILURES = 2
#: Seconds one ping may take; longer counts as a failure.
ENGINE_PING_TIMEOUT = 5.0


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: `first`, doubling up to `limit`, with ±20% jitter, never past `limit`.

    The limit is low because a handful of hosts cost nothing to retry, and
    an operator waiting for a host that just came back should not wait long:
    4 s apart at most, plus a connect, puts a recovered host back online
    within 5 s (reconnect-now, `HostSession.hurry`, skips the wait altogether).
    """

    first: float = 0.5
    limit: float = 4.0

    def delays(self):
        """Yield successive delays forever."""
        delay = self.first
        while True:
            yield min(delay * random.uniform(0.8, 1.2), self.limit)
            delay = min(delay * 2, self.limit)


class HostSession:
    """Connection, tunnel and Docker client for one inventory host.

    Args:
        spec: The inventory host.
        settings: SSH settings shared by every session.
        on_status: Called on the backend loop at every state change.
        backoff: Reconnect delays for `run()`.
        readonly: Refuse every mutating action (see `backends/engine/actions.py`).
        stream_relay: Carry long streams through a relay process (see `relay`).
        persist_seconds: Reuse a persisted tunnel to the engine, and leave one
            behind for this many idle seconds (see `persist`); 0: never.
    """

    def __init__(
        self,
        spec: HostSpec,
        settings: SshSettings,
        *,
        on_status: StatusListener | None = None,
        backoff: Backoff | None = None,
        readonly: bool = False,
        stream_relay: bool = False,
        persist_seconds: float = 0.0,
    ):
        self.spec = spec
        self.readonly = readonly
        self.stream_relay = stream_relay
        #: Read through a persisted tunnel when one is live, and hand this
        #: host to one when closing (`persist`); 0: never. Only for sessions
        #: that read the engine's API and nothing else (no SSH commands).
        self.persist_seconds = persist_seconds
        self.settings = settings
        self.backoff = backoff or Backoff()
        self._listeners: list[StatusListener] = [on_status] if on_status else []
        self._conn: asyncssh.SSHClientConnection | None = None
        self._tunnel: DockerTunnel | None = None
        self._client: docker.DockerClient | None = None
        self._relay: StreamRelay | None = None
        self._client_lock = threading.Lock()
        #: The engine's API version.
        self._api_version: str | None = None
        #: Plain GETs' connections to where the engine answers (`socket_path`: a
        #: tunnel's local socket, the local engine's, or a persisted tunnel's),
        #: kept open between reads; None while not connected.
        self._kept: engine_http.KeptConnections | None = None
        #: The persisted tunnel this session reads through (`persist`), if any.
        self.persisted: str | None = None
        self._hurry: asyncio.Event | None = None
        self.version: dict[str, Any] = {}
        #: The engine's identity (`engine_identity.engine_id`), noted by whoever
        #: last read its `docker info`; kept while offline (None: never read).
        self.engine_id: str | None = None
        self.status = HostStatus(spec.name, HostState.OFFLINE, None, time.time())

    @property
    def name(self) -> str:
        """The host's inventory name."""
        return self.spec.name

    @property
    def online(self) -> bool:
        """Whether the engine can be called right now."""
        return self.status.state is HostState.ONLINE

    @property
    def connection(self) -> asyncssh.SSHClientConnection | None:
        """The SSH connection, for exec and health checks; None if local or offline."""
        return self._conn

    @property
    def tunnel(self) -> DockerTunnel | None:
        """The local end of the engine tunnel; None if local or offline."""
        return self._tunnel

    @property
    def client(self) -> docker.DockerClient:
        """The Docker client (blocking; use from a worker thread).

        Raises:
            HostOffline: The session is not online.
        """
        if not self.online or (self._client is None and self._kept is None):
            reason = self.status.error or f"not connected ({self.status.state.value})"
            raise HostOffline(reason, host=self.name)
        with self._client_lock:
            if self._client is None:
                kept = self._kept
                if kept is None:  # dropped meanwhile
                    raise HostOffline(self.status.error or "not connected", host=self.name)
                self._client = self._make_client(kept.socket_path, self._api_version)
            return self._client

    @property
    def has_client(self) -> bool:
        """Whether this session's docker-py client was made (so docker-py is loaded)."""
        return self._client is not None

    def get_json(self, path: str, **params: object) -> Any:
        """GET an API path of this host's engine, without docker-py (blocking).

        Args:
            path: The path after the version prefix (`/containers/json`).
            **params: Query parameters.

        Raises:
            BackendError: The host is offline, or the engine failed.
        """
        kept = self._kept
        if kept is None or not self.online:
            reason = self.status.error or f"not connected ({self.status.state.value})"
            raise HostOffline(reason, host=self.name)
        return kept.get_json(f"/v{self._api_version}{path}", params)

    def stream_client(self) -> docker.DockerClient:
        """The Docker client for long byte streams (logs, exec); blocking.

        Goes through this host's stream relay (a child process, see
        `relay`) when one can run, else it is `client`.

        Raises:
            HostOffline: The host is not online.
        """
        client = self.client
        relay = self._relay
        streamed = relay.client() if relay is not None else None
        return streamed if streamed is not None and self.online else client

    def add_listener(self, listener: StatusListener) -> None:
        """Also report state changes to `listener`."""
        self._listeners = [*self._listeners, listener]

    def remove_listener(self, listener: StatusListener) -> None:
        """Stop reporting to `listener` (no error if it was not added)."""
        self._listeners = [known for known in self._listeners if known != listener]

    def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a docker-py function with this host's errors translated.

        Args:
            method: A callable taking the DockerClient first.
            *args: Passed on.
            **kwargs: Passed on.

        Raises:
            BackendError: Translated from docker-py's exceptions.
        """
        client = self.client
        try:
            return method(client, *args, **kwargs)
        except Exception as exc:
            from corral.backends.translate import translate_docker_error
            raise translate_docker_error(exc, self.name) from exc

    async def run_command(self, command: str, timeout: float = 10.0) -> tuple[int, str]:
        """Run a shell command on the host over SSH (on the backend loop).

        Returns:
            The exit status and standard output.

        Raises:
            HostOffline: No SSH connection (offline, or the local host).
        """
        from corral.backends.sshlib import asyncssh
        conn = self._conn
        if conn is None:
            raise HostOffline("no SSH connection to run a command on", host=self.name)
        try:
            result = await asyncio.wait_for(conn.run(command, check=False), timeout)
        except (asyncssh.Error, OSError, TimeoutError) as exc:
            raise HostOffline(f"running {command!r} failed: {exc}", host=self.name) from exc
        output = result.stdout if isinstance(result.stdout, str) else ""
        return result.exit_status or 0, output

    async def connect(self) -> None:
        """Make one attempt to bring the session online.

        Raises:
            BackendError: Why the attempt failed; the status says so too.
        """
        # Keep the last failure visible while retrying ("connecting, last: …").
        last_error = self.status.error if self.status.state is HostState.OFFLINE else None
        await self._drop()
        self._set(HostState.CONNECTING, last_error)
        try:
            if self.spec.is_local:
                socket_path, mode = self.spec.socket, "local"
            elif self.persist_seconds and await self._reuse_persisted():
                socket_path, mode = self.persisted, "persisted"
            else:
                from corral.backends.ssh.connect import open_connection
                from corral.backends.ssh.tunnel import open_tunnel
                self._conn = await open_connection(self.spec, self.settings)
                self._tunnel = await open_tunnel(
                    self._conn,
                    name=self.name,
                    remote_socket=self.spec.socket,
                    socket_explicit=self.spec.socket_explicit,
                )
                socket_path, mode = self._tunnel.path, self._tunnel.mode
            if mode != "persisted":
                # The first /version's bytes this very loop must pump: a thread.
                self.version = await asyncio.to_thread(self._read_version, socket_path)
            self._api_version = self.version["ApiVersion"]
            self._kept = engine_http.KeptConnections(socket_path, host=self.name,
                                                     timeout=API_TIMEOUT)
        except BaseException as exc:
            await self._drop()
            error = exc if isinstance(exc, BackendError) else None
            if isinstance(exc, asyncio.CancelledError):
                # Abandoned for a fresh attempt (reconnect now) or closing:
                # the reason the host is down is still the last one known.
                self._set(HostState.OFFLINE, last_error or "cancelled")
                raise
            if error is None:
                error = BackendError(f"{type(exc).__name__}: {exc}", host=self.name)
            self._set(HostState.OFFLINE, error.message,
                      key_changed=isinstance(error, HostKeyChanged))
            raise error from exc
        if self.stream_relay and not self.spec.is_local:
            from corral.backends.ssh.relay import StreamRelay, relays_enabled
            if relays_enabled():
                self._relay = StreamRelay(self.spec, self.settings, self._api_version,
                                          API_TIMEOUT)
        self._set(HostState.ONLINE, tunnel=mode)

    def _read_version(self, socket_path: str) -> dict[str, Any]:
        version = engine_http.get_json(socket_path, "/version", host=self.name,
                                       timeout=API_TIMEOUT)
        if not isinstance(version, dict) or not version.get("ApiVersion"):
            raise BackendError("the Docker engine did not say its API version", host=self.name)
        return version

    async def _reuse_persisted(self) -> bool:
        """Read the engine's version through this host's persisted tunnel, if one is live.

        A tunnel that is gone, refuses or does not answer within a few seconds
        is left for a direct connection (and a dead one's files are removed).
        """
        from corral.backends.ssh import persist
        path = persist.live_socket(self.spec, self.settings)
        if path is None:
            return False
        try:
            self.version = await asyncio.to_thread(
                lambda: engine_http.get_json(path, "/version", host=self.name,
                                             timeout=persist.REUSE_TIMEOUT))
        except BackendError:
            persist.forget(path)
            return False
        if not isinstance(self.version, dict) or not self.version.get("ApiVersion"):
            return False
        self.persisted = path
        return True

    def _make_client(self, socket_path: str, api_version: str | None) -> docker.DockerClient:
        import docker
        try:
            return docker.DockerClient(base_url=f"unix://{socket_path}",
                                       version=api_version or "auto", timeout=API_TIMEOUT)
        except Exception as exc:
            from corral.backends.translate import translate_docker_error
            raise translate_docker_error(exc, self.name) from exc

    async def run(self) -> None:
        """Keep the session online until cancelled, reconnecting with backoff.

        Errors that retrying cannot fix (refused host key, failed
        authentication) leave the host offline until `hurry` asks for
        another attempt (the operator fixed the cause).
        """
        hurry = self._hurry = asyncio.Event()
        delays = self.backoff.delays()
        while True:
            hurry.clear()
            attempt = asyncio.ensure_future(self.connect())
            try:
                hurried = not await _first_of(attempt, hurry)
            except BaseException:
                attempt.cancel()
                with contextlib.suppress(BaseException):
                    await attempt
                raise
            if hurried:
                # An attempt can hang for the whole connect timeout on a
                # link that drops packets: start a fresh one now.
                attempt.cancel()
                with contextlib.suppress(asyncio.CancelledError, BackendError):
                    await attempt
                continue
            error = attempt.exception()
            if isinstance(error, BackendError):
                await self._pause(None if not error.retryable else next(delays))
                continue
            if error is not None:
                raise error
            delays = self.backoff.delays()
            reason = await self._wait_lost()
            await self._drop()
            self._set(HostState.OFFLINE, reason)
            await self._pause(next(delays))

    def hurry(self) -> bool:
        """Reconnect now instead of after the backoff (on the backend loop).

        An attempt in progress is abandoned for a fresh one; an online
        session is left alone.

        Returns:
            Whether a reconnection was started (False if online, or if no
            `run()` loop keeps this session online).
        """
        hurry = self._hurry
        if hurry is None or self.online:
            return False
        hurry.set()
        return True

    async def _pause(self, delay: float | None) -> None:
        """Sleep `delay` seconds (None: until hurried), or less if hurried."""
        hurry = self._hurry
        if hurry is None:
            await asyncio.sleep(delay or 0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(hurry.wait(), delay)

    async def _wait_lost(self) -> str:
        """Wait until the SSH connection (or the engine behind it) goes away."""
        if self._conn is None:
            while True:  # the local engine (or a persisted tunnel): only the socket to watch
                await asyncio.sleep(SOCKET_CHECK_SECONDS)
                if not await asyncio.to_thread(self._ping):
                    if self.persisted:
                        return "the Docker engine stopped answering through the persisted tunnel"
                    return "the local Docker engine stopped answering"
        conn = self._conn
        closed = asyncio.ensure_future(conn.wait_closed())
        engine = asyncio.ensure_future(self._watch_engine())
        try:
            await asyncio.wait((closed, engine), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (closed, engine):
                task.cancel()
        if engine.done() and not engine.cancelled() and not closed.done():
            return engine.result()
        from corral.backends.ssh.connect import lost_reason
        from corral.backends.ssh.linkwatch import loss_message
        reason = lost_reason(conn)
        # Say what the operator can act on: the host went silent (for how long, if known).
        silent = loss_message(reason, self.settings)
        if silent is not None:
            return silent
        return "the SSH connection was lost" + (f" ({reason})" if reason else "")

    async def _watch_engine(self) -> str:
        """Return once the engine behind the tunnel has gone (see `ENGINE_WATCH_PATH`)."""
        failures = 0
        while True:
            ended = await self._hold_watch_request()
            if ended:  # the engine closed it: gone, or only restarting its API?
                answered = await asyncio.to_thread(self._ping, ENGINE_PING_TIMEOUT)
                failures = 0 if answered else ENGINE_CHECK_FAILURES
            else:  # cannot hold the request: fall back to pinging
                await asyncio.sleep(ENGINE_CHECK_SECONDS)
                answered = await asyncio.to_thread(self._ping, ENGINE_PING_TIMEOUT)
                failures = 0 if answered else failures + 1
            if failures >= ENGINE_CHECK_FAILURES:
                return "the Docker engine stopped answering (restarted or stopped?)"
            if ended:
                await asyncio.sleep(ENGINE_CHECK_SECONDS)  # never a tight loop

    async def _hold_watch_request(self) -> bool:
        """Hold the engine-watch request open until it ends.

        Returns:
            True once the engine (or the path to it) ended an accepted request;
            False if it could not be sent or was refused.
        """
        tunnel = self._tunnel
        if tunnel is None:
            return False
        writer = None
        try:
            reader, writer = await asyncio.open_unix_connection(tunnel.path)
            writer.write(f"GET {ENGINE_WATCH_PATH} HTTP/1.1\r\nHost: docker\r\n\r\n".encode())
            await writer.drain()
            status = await reader.readline()
            if b" 200 " not in status:
                return False
            while await reader.read(4096):
                pass  # no event ever matches; a chunk here is harmless
            return True
        except (OSError, asyncio.IncompleteReadError):
            return writer is not None
        finally:
            if writer is not None:
                writer.close()

    def _ping(self, timeout: float | None = None) -> bool:
        """Whether the engine answers a ping now (blocking: a worker thread).

        A plain request on the engine's socket (the tunnel's local end, or the
        local engine's), not docker-py's client: a session that has read only
        through plain GETs has none, and its engine must not be judged gone
        for that.
        """
        kept = self._kept
        if kept is None:  # not connected
            return False
        return engine_http.ping(kept.socket_path, timeout=timeout or API_TIMEOUT)

    async def close(self) -> None:
        """Close the client, the tunnel and the connection."""
        await self._drop()
        self._set(HostState.OFFLINE, "closed")

    async def _drop(self) -> None:
        self.persisted = None
        kept, self._kept = self._kept, None
        if kept is not None:
            kept.close()
        with self._client_lock:
            client, self._client = self._client, None
        tunnel, self._tunnel = self._tunnel, None
        conn, self._conn = self._conn, None
        relay, self._relay = self._relay, None
        if relay is not None:
            relay.close()
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        if tunnel is not None:
            tunnel.close()
        if conn is not None:
            from corral.backends.ssh.connect import close_connection
            close_connection(conn)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), 2)

    def _set(
        self,
        state: HostState,
        error: str | None = None,
        tunnel: str | None = None,
        *,
        key_changed: bool = False,
    ) -> None:
        self.status = HostStatus(self.name, state, error, time.time(), tunnel, key_changed)
        for listener in self._listeners:
            listener(self.status)


async def _first_of(task: asyncio.Future, event: asyncio.Event) -> bool:
    """Wait for `task` or `event`; True if the task finished first (or both did)."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait((task, waiter), return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    return task.done()
