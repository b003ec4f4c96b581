"""Plain reads of the Docker API over a UNIX socket, without docker-py.

A one-shot read (`corral ps`) needs two requests: the engine's version and
one list. docker-py costs more CPU to import than those requests take, so
they are made with the standard library's HTTP client; errors become the
same `BackendError`s docker-py's would (see `translate.translate_docker_error`).
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.parse
from typing import Any

from corral.backends.errors import (
    BackendError,
    DockerApiError,
    DockerUnavailable,
    HostOffline,
    NotFound,
)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("docker", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def get_json(socket_path: str, path: str, *, host: str, timeout: float,
             params: dict[str, object] | None = None) -> Any:
    """GET `path` from the engine behind `socket_path` and decode its JSON.

    Args:
        socket_path: The engine's socket (a tunnel's local end, or the local engine's).
        path: The API path, with its version prefix if any (`/v1.41/containers/json`).
        host: The host's inventory name, for errors.
        timeout: Seconds for connecting and for each read.
        params: Query parameters.

    Raises:
        NotFound: The engine answered 404.
        DockerApiError: Any other error status, with the engine's message.
        HostOffline: The socket refused or dropped the connection.
        DockerUnavailable: No answer in time, or an answer that is not JSON.
    """
    conn = _UnixConnection(socket_path, timeout)
    try:
        return _exchange(conn, _with_query(path, params), host)
    finally:
        conn.close()


def ping(socket_path: str, *, timeout: float) -> bool:
    """Whether the engine behind `socket_path` answers `GET /_ping` with 200 within `timeout`.

    On a connection of its own (not a kept one): an engine that just restarted
    must not be judged by a connection it closed.
    """
    conn = _UnixConnection(socket_path, timeout)
    try:
        conn.request("GET", "/_ping")
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except (OSError, http.client.HTTPException):  # TimeoutError is an OSError
        return False
    finally:
        conn.close()


class KeptConnections:
    """Connections to one engine socket kept open between GETs (HTTP keep-alive).

    Through a tunnel every new connection is a new SSH channel (a round trip and
    the tunnel's own work); reads repeated every few seconds, such as the
    console's CPU and memory figures, reuse them instead. Thread-safe: each
    caller takes an idle connection or makes one, and gives it back after.

    Args:
        socket_path: The engine's socket.
        host: The host's inventory name, for errors.
        timeout: Seconds for connecting and for each read.
        keep: Idle connections kept at most (the rest are closed after use).
    """

    def __init__(self, socket_path: str, *, host: str, timeout: float, keep: int = 4):
        self.socket_path = socket_path
        self.host = host
        self.timeout = timeout
        self.keep = keep
        self._idle: list[_UnixConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def get_json(self, path: str, params: dict[str, object] | None = None) -> Any:
        """GET `path` as `get_json` does, on a kept connection.

        A kept connection the engine (or the tunnel) closed meanwhile is
        replaced once: GETs are safe to send again.

        Raises:
            BackendError: As `get_json`.
        """
        target = _with_query(path, params)
        conn, kept = self._take()
        try:
            return self._exchange_keeping(conn, target)
        except HostOffline:
            if not kept:
                raise
        return self._exchange_keeping(self._new(), target)

    def close(self) -> None:
        """Close the idle connections; those in use close when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _exchange_keeping(self, conn: _UnixConnection, path: str) -> Any:
        """One GET on `conn`; `conn` is kept after an answer, closed after a failure
        (its state is unknown: a timeout mid-answer)."""
        try:
            result = _exchange(conn, path, self.host)
        except BaseException:
            conn.close()
            raise
        self._give_back(conn)
        return result

    def _new(self) -> _UnixConnection:
        return _UnixConnection(self.socket_path, self.timeout)

    def _take(self) -> tuple[_UnixConnection, bool]:
        """An idle connection (True) or a new one (False)."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._new(), False

    def _give_back(self, conn: _UnixConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.keep:
                self._idle.append(conn)
                return
        conn.close()


def _with_query(path: str, params: dict[str, object] | None) -> str:
    return f"{path}?{urllib.parse.urlencode(params)}" if params else path


def _exchange(conn: _UnixConnection, path: str, host: str) -> Any:
    """Send one GET on `conn`, read the whole answer and decode it."""
    try:
        conn.request("GET", path, headers={"Accept": "application/json"})
        response = conn.getresponse()
        body = response.read()
    except TimeoutError as exc:
        raise DockerUnavailable("the Docker engine did not answer in time", host=host) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise HostOffline("lost the connection to the Docker engine", host=host) from exc
    if response.status >= 400:
        raise _status_error(response.status, body, host)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise DockerUnavailable(f"the Docker engine's answer to {path} is not JSON",
                                host=host) from exc


def _status_error(status: int, body: bytes, host: str) -> BackendError:
    try:
        message = str(json.loads(body).get("message", "")).strip()
    except (ValueError, AttributeError):
        message = body.decode("utf-8", "replace").strip()
    message = message or f"{status} {http.client.responses.get(status, 'error')}"
    if status == 404:
        return NotFound(message, host=host, status=404)
    return DockerApiError(message, host=host, status=status)
