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
    if params:
        path = f"{path}?{urllib.parse.urlencode(params)}"
    conn = _UnixConnection(socket_path, timeout)
    try:
        conn.request("GET", path, headers={"Accept": "application/json"})
        response = conn.getresponse()
        body = response.read()
    except TimeoutError as exc:
        raise DockerUnavailable("the Docker engine did not answer in time", host=host) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise HostOffline("lost the connection to the Docker engine", host=host) from exc
    finally:
        conn.close()
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
