"""The boundary: asyncssh, docker-py and OS exceptions into Corral's errors.

The only module that knows third-party exception types. Kept apart from
`errors.py` so that the error classes import no I/O library (the planner,
which is pure, raises them).
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING

from corral.backends.errors import (
    AuthFailed,
    BackendError,
    DockerApiError,
    DockerUnavailable,
    HostOffline,
    HostUnreachable,
    NotFound,
    RegistryDenied,
    RegistryUnreachable,
)

#: What the engine says when it cannot get through to a registry (Go's net and
#: net/http errors, as docker 20.10+ words them). Matched case-insensitively.
REGISTRY_UNREACHABLE_TEXT = (
    "connection refused",
    "no route to host",
    "network is unreachable",
    "no such host",
    "i/o timeout",
    "tls handshake timeout",
    "connection reset by peer",
    "context deadline exceeded",
    "client.timeout exceeded",
    "temporary failure in name resolution",
    "server misbehaving",
)

if TYPE_CHECKING:
    import docker.errors

# asyncssh and docker-py are imported in the functions that need them: only
# on an error, and a command that never meets one imports neither for this.

#: What the engine says when a registry wants credentials it did not get (a basic-auth
#: registry asked without any: `no basic auth credentials`) or refuses the ones sent
#: (`unauthorized: authentication required`, Docker Hub's `incorrect username or
#: password`, a token server's `denied: requested access to the resource is denied`).
REGISTRY_DENIED_TEXT = (
    "no basic auth credentials",
    "unauthorized",
    "authentication required",
    "incorrect username or password",
    "access to the resource is denied",
    "pull access denied",
)


def translate_ssh_error(exc: BaseException, host: str, target: str) -> BackendError:
    """Turn an exception from opening an SSH connection into a BackendError.

    Args:
        exc: What asyncssh or the socket layer raised.
        host: Inventory name of the host.
        target: Where we tried to connect, for the message.

    Returns:
        The matching error; the caller raises it `from exc`.
    """
    if isinstance(exc, BackendError):
        return exc
    from corral.backends.sshlib import asyncssh
    if isinstance(exc, asyncssh.PermissionDenied):
        return AuthFailed(f"{target} refused every key offered ({exc.reason})", host=host)
    if isinstance(exc, (asyncssh.KeyImportError, asyncssh.KeyEncryptionError)):
        return AuthFailed(f"cannot use the identity file: {exc}", host=host)
    if isinstance(exc, asyncssh.DisconnectError):
        return HostUnreachable(f"{target} closed the connection: {exc.reason}", host=host)
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return HostUnreachable(f"{target} did not answer in time", host=host)
    if isinstance(exc, socket.gaierror):
        return HostUnreachable(f"cannot resolve {target}: {exc.strerror}", host=host)
    if isinstance(exc, ConnectionRefusedError):
        return HostUnreachable(f"{target} refused the connection", host=host)
    if isinstance(exc, OSError):
        return HostUnreachable(f"{target}: {exc.strerror or exc}", host=host)
    if isinstance(exc, asyncssh.Error):
        return HostUnreachable(f"{target}: {exc.reason}", host=host)
    return HostUnreachable(f"{target}: {exc}", host=host)


def translate_docker_error(exc: BaseException, host: str) -> BackendError:
    """Turn an exception from a docker-py call into a BackendError.

    Args:
        exc: What docker-py or requests raised.
        host: Inventory name of the host.

    Returns:
        The matching error; the caller raises it `from exc`.
    """
    if isinstance(exc, BackendError):
        return exc
    import docker.errors
    import requests.exceptions
    if isinstance(exc, docker.errors.NotFound):
        return NotFound(_engine_message(exc), host=host, status=404)
    if isinstance(exc, docker.errors.APIError):
        return DockerApiError(_engine_message(exc), host=host, status=exc.status_code)
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionError)):
        return HostOffline("lost the connection to the Docker engine", host=host)
    if isinstance(exc, (requests.exceptions.Timeout, TimeoutError)):
        return DockerUnavailable("the Docker engine did not answer in time", host=host)
    if isinstance(exc, docker.errors.DockerException):
        return DockerUnavailable(str(exc), host=host)
    return DockerUnavailable(f"{type(exc).__name__}: {exc}", host=host)


def _engine_message(exc: docker.errors.APIError) -> str:
    explanation = exc.explanation
    if isinstance(explanation, bytes):
        explanation = explanation.decode("utf-8", "replace")
    return str(explanation or exc).strip()


def translate_pull_error(exc: BaseException | str, host: str, registry: str, *,
                         image: str = "", credentials: str | None = None) -> BackendError:
    """Turn what a failed image pull raised, or the error text the engine streamed, into
    a BackendError: `RegistryUnreachable` when the engine could not get through to the
    registry, `RegistryDenied` when it refused the credentials (or wanted some),
    `NotFound` for an unknown image or tag, else `DockerApiError`.

    Args:
        exc: A docker-py exception, or the engine's error message from the stream.
        host: Inventory name of the host.
        registry: The registry the image lives in, for the message.
        image: The image reference, for the message (shown without its registry).
        credentials: Where the credentials sent came from (`user U, registries: at
            FILE:LINE`), or None when none were sent. Never the secret.

    Returns:
        The matching error; the caller raises it (`from exc` for an exception).
    """
    if isinstance(exc, BackendError):
        return exc
    import docker.errors
    if isinstance(exc, str):
        text, status = exc.strip(), None
    elif isinstance(exc, docker.errors.APIError):
        text, status = _engine_message(exc), exc.status_code
    else:
        return translate_docker_error(exc, host)
    lowered = text.lower()
    if any(marker in lowered for marker in REGISTRY_UNREACHABLE_TEXT):
        return RegistryUnreachable(f"registry {registry} unreachable: {text}",
                                   host=host, registry=registry)
    if any(marker in lowered for marker in REGISTRY_DENIED_TEXT):
        return _denied(host, registry, image, credentials,
                       maybe_missing="does not exist" in lowered)
    if "manifest unknown" in lowered or "not found" in lowered:
        return NotFound(text, host=host, status=status or 404)
    return DockerApiError(text, host=host, status=status)


def _denied(host: str, registry: str, image: str, credentials: str | None, *,
            maybe_missing: bool = False) -> RegistryDenied:
    """`registry R refused the credentials for IMAGE (…)`, or that it wants some."""
    shown = image.removeprefix(f"{registry}/") or "the image"
    if maybe_missing and credentials is None:  # Docker Hub says the same of both
        return RegistryDenied(
            f"registry {registry} has no image {shown}, or wants credentials for it and "
            f"none were found ('registries:' in the inventory or configuration, or "
            f"`docker login`)", host=host, registry=registry, image=shown)
    if credentials is not None:
        return RegistryDenied(f"registry {registry} refused the credentials for {shown} "
                              f"({credentials})", host=host, registry=registry,
                              image=shown, source=credentials)
    return RegistryDenied(
        f"registry {registry} wants credentials for {shown} and none were found (give "
        f"them under 'registries:' in the inventory or configuration, or `docker login`)",
        host=host, registry=registry, image=shown)
