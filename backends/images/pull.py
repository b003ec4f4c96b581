"""Pull an image on a host: the engine's own pull, through the host's tunnel.

The host's engine fetches the layers from the registry itself; only its progress
messages cross the SSH tunnel. Credentials are the ones the caller passes for that
registry (`registries:` in the inventory or configuration, read by
`inventory.logins`), else the operator's, as docker-py reads them at each pull
(`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, `credsStore` and
`credHelpers`); they go in the `X-Registry-Auth` header, never in the mutation's
arguments, a message or an exception. A registry that refuses them, or wants some
and got none, is `RegistryDenied` (one line naming where the credentials came
from), not `RegistryUnreachable`: pushing instead would hide a wrong password.

A host that cannot reach the registry fails fast with `RegistryUnreachable`, so a
caller can push the image instead: from the engine's own error when the network
says no (refused, no route, no such host), or when the registry has not answered
within `reach_timeout` — an engine only starts its answer once the registry has
(the manifest), and behind a firewall that drops packets it would otherwise wait
out its own dial timeouts, a minute or more, before saying anything.

Blocking docker-py calls: run `pull_image` on a worker thread.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import docker
import docker.auth
import docker.errors
import docker.utils
import docker.utils.config
import requests.exceptions

from corral.backends import guard
from corral.backends.errors import RegistryCredentialsError, RegistryUnreachable
from corral.backends.inventory import RegistryLogin
from corral.backends.translate import translate_docker_error, translate_pull_error

#: Seconds the registry has to answer the engine (its manifest) before the host
#: counts as unable to reach it. A reachable registry answers in well under one.
REACH_TIMEOUT = 8.0
#: Seconds the engine has to answer a ping once the registry seemed silent: tells
#: a dead tunnel (the host is offline) from a silent registry.
PING_TIMEOUT = 3.0


class PullSession(Protocol):
    """What a pull needs of a host session (`backends.ssh.HostSession` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def client(self) -> docker.DockerClient: ...

    readonly: bool


@dataclass(frozen=True)
class LayerProgress:
    """One progress message of a pull, for one layer.

    Attributes:
        layer: The layer's short id as the engine names it (12 hex digits).
        status: The engine's words: `Pulling fs layer`, `Waiting`, `Downloading`,
            `Verifying Checksum`, `Download complete`, `Extracting`, `Pull complete`,
            `Already exists`.
        current: Bytes done in this status (downloaded, extracted), when told.
        total: Bytes of the layer in this status, when told.
    """

    layer: str
    status: str
    current: int | None = None
    total: int | None = None


#: `on_progress(progress)`, called on the pulling thread for every layer message.
ProgressCallback = Callable[[LayerProgress], None]
#: Registry address -> credentials: a `RegistryLogin`, or a docker-py auth config.
Credentials = Mapping[str, "RegistryLogin | Mapping[str, str]"]


class PullTally:
    """Bytes downloaded so far over every layer of a pull, from its progress messages.

    A layer counts from its first `Downloading` message (which carries its
    size) and whole once its download completes; layers the host already has
    count nothing.
    """

    def __init__(self) -> None:
        self._layers: dict[str, tuple[int, int]] = {}

    def add(self, event: LayerProgress) -> tuple[int, int | None]:
        """Count one message; returns (bytes done, bytes in all or None while unknown)."""
        if event.status == "Downloading" and event.total:
            self._layers[event.layer] = (event.current or 0, event.total)
        elif event.status in ("Download complete", "Pull complete") \
                and event.layer in self._layers:
            size = self._layers[event.layer][1]
            self._layers[event.layer] = (size, size)
        done = sum(current for current, _ in self._layers.values())
        return done, sum(size for _, size in self._layers.values()) or None


@dataclass
class PullResult:
    """What a finished pull did.

    Attributes:
        host: The inventory name of the host.
        image: The reference pulled (`REGISTRY/REPO:TAG`).
        image_id: The image's ID on the host afterwards (`sha256:...`).
        digest: The manifest digest the registry served, when the engine said.
        layers: Each layer's last status (`Pull complete`, `Already exists`).
        sizes: Each downloaded layer's size, as the engine announced it.
        seconds: Wall time of the pull.
    """

    host: str
    image: str
    image_id: str
    digest: str = ""
    layers: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def downloaded(self) -> int:
        """Bytes of the layers the engine downloaded (compressed, as announced)."""
        return sum(self.sizes.values())

    @property
    def up_to_date(self) -> bool:
        """True when the host had every layer already (nothing was downloaded)."""
        return all(status == "Already exists" for status in self.layers.values())


def split_reference(image: str) -> tuple[str, str, str]:
    """`(registry, repository, tag or digest)` of an image reference.

    `busybox` is `("docker.io", "busybox", "latest")`;
    `10.0.0.5:5000/team/app@sha256:…` keeps its digest as the tag.
    """
    repository, tag = docker.utils.parse_repository_tag(image)
    registry, _ = docker.auth.resolve_repository_name(repository)
    return registry, repository, tag or "latest"


def pull_image(
    session: PullSession,
    image: str,
    *,
    on_progress: ProgressCallback | None = None,
    credentials: Credentials | None = None,
    reach_timeout: float = REACH_TIMEOUT,
) -> PullResult:
    """Pull `image` on the session's host with the engine's own pull.

    Runs inside the mutation gate as `image.pull` (refused when Corral or the
    session is read-only, reported to the audit trail).

    Args:
        session: The host's session (online).
        image: The image reference (`REGISTRY/REPO:TAG`, `REPO@sha256:…`).
        on_progress: Called for each layer message (on this thread).
        credentials: Registry address -> a `RegistryLogin` (from `registries:`)
            or a docker-py auth config (`username`, `password` or
            `identitytoken`); for that registry it takes precedence over the
            operator's Docker configuration.
        reach_timeout: Seconds the registry has to answer before the host counts
            as unable to reach it.

    Returns:
        What the pull did; `image_id` is the image's ID on the host.

    Raises:
        ActionRefused: Corral or the session is read-only; nothing was asked.
        RegistryUnreachable: The host cannot reach the registry (said within
            about `reach_timeout` seconds, whatever the engine's own timeouts).
        RegistryDenied: The registry refused the credentials sent, or wanted
            some and none were found.
        RegistryCredentialsError: The operator's Docker credential helper failed.
        NotFound: The registry has no such image or tag.
        BackendError: The engine refused otherwise, or the host went offline.
    """
    registry, repository, tag = split_reference(image)
    with guard.mutating("image.pull", hosts=session.name, target=image,
                        args={"registry": registry}, readonly=session.readonly):
        return _pull(session, image, registry, repository, tag,
                     on_progress=on_progress, credentials=credentials,
                     reach_timeout=reach_timeout)


def _pull(session: PullSession, image: str, registry: str, repository: str, tag: str, *,
          on_progress: ProgressCallback | None,
          credentials: Credentials | None,
          reach_timeout: float) -> PullResult:
    started = time.monotonic()
    api = session.client.api
    result = PullResult(host=session.name, image=image, image_id="")
    auth = _auth(api, registry, credentials)
    for event in _events(session, api, image, registry, repository, tag, auth,
                         reach_timeout):
        error = event.get("error") or (event.get("errorDetail") or {}).get("message")
        if error:
            raise translate_pull_error(str(error), session.name, registry, image=image,
                                       credentials=auth.source if auth.header else None)
        _note(event, result, on_progress)
    reference = f"{repository}@{tag}" if tag.startswith("sha256:") else f"{repository}:{tag}"
    try:
        result.image_id = api.inspect_image(reference)["Id"]
    except Exception as exc:
        raise translate_docker_error(exc, session.name) from exc
    result.seconds = time.monotonic() - started
    return result


@dataclass(frozen=True)
class _Auth:
    """The `X-Registry-Auth` header of a pull (or None) and where it came from."""

    header: bytes | None = field(default=None, repr=False)
    source: str = ""


def _auth(api: docker.APIClient, registry: str, credentials: Credentials | None) -> _Auth:
    """The credentials for `registry`: the caller's, else the operator's Docker
    configuration, read now (a `docker login` since the session opened counts)."""
    given = (credentials or {}).get(registry)
    if isinstance(given, RegistryLogin):
        return _Auth(docker.auth.encode_header(given.auth_config()),
                     f"user {given.username}, registries: at {given.source}")
    if given:
        user = given.get("username")
        return _Auth(docker.auth.encode_header(dict(given)),
                     f"user {user}, as given" if user else "as given")
    try:
        configs = docker.auth.load_config(credstore_env=api.credstore_env)
        found = docker.auth.resolve_authconfig(configs, registry,
                                               credstore_env=api.credstore_env)
    except docker.errors.DockerException as exc:
        # A credential helper's failure: its words, never a secret (it has none to give).
        raise RegistryCredentialsError(
            f"registry {registry}: the Docker credentials could not be read: {exc}"
        ) from None
    if not found:
        return _Auth()
    where = docker.utils.config.find_config_file() or "the Docker configuration"
    user = found.get("username") or found.get("Username")
    return _Auth(docker.auth.encode_header(found),
                 f"user {user}, from {where}" if user else f"from {where}")


def _events(session: PullSession, api: docker.APIClient, image: str, registry: str,
            repository: str, tag: str, auth: _Auth,
            reach_timeout: float) -> Iterator[dict[str, Any]]:
    """The engine's decoded progress messages, once it has started answering."""
    # What docker-py's APIClient.pull sends; it is not called because it waits for
    # the engine without a timeout (`timeout=None`), a minute or more behind a
    # firewall that drops packets.
    headers = {}
    if auth.header:
        headers["X-Registry-Auth"] = auth.header
    params = {"fromImage": repository, "tag": tag}
    try:
        # private docker-py API: pinned by tests/unit/test_dependency_internals.py
        response = api._post(api._url("/images/create"), params=params, headers=headers,
                             stream=True, timeout=reach_timeout)
        api._raise_for_status(response)
    except (requests.exceptions.Timeout, TimeoutError) as exc:
        _check_engine(session, api)
        raise RegistryUnreachable(
            f"registry {registry} unreachable: no answer within {reach_timeout:g}s",
            host=session.name, registry=registry,
        ) from exc
    except Exception as exc:
        raise translate_pull_error(
            exc, session.name, registry, image=image,
            credentials=auth.source if auth.header else None) from exc
    try:
        # The registry answered: from here on, a long layer may keep the stream
        # quiet (extracting); a dead link is noticed by the SSH session itself.
        _no_timeout(response)
        try:
            yield from api._stream_helper(response, decode=True)
        except Exception as exc:
            raise translate_docker_error(exc, session.name) from exc
    finally:
        with contextlib.suppress(Exception):
            response.close()


def _check_engine(session: PullSession, api: docker.APIClient) -> None:
    """Raise the host's own error if its engine does not answer either."""
    try:
        api._get(api._url("/_ping"), timeout=PING_TIMEOUT).raise_for_status()
    except Exception as exc:
        raise translate_docker_error(exc, session.name) from exc


def _no_timeout(response: requests.Response) -> None:
    # urllib3/http.client internals: pinned by tests/unit/test_dependency_internals.py
    reader = getattr(getattr(response.raw, "_fp", None), "fp", None)
    sock = getattr(getattr(reader, "raw", None), "_sock", None)
    if isinstance(sock, socket.socket):
        sock.settimeout(None)


def _note(event: Mapping[str, Any], result: PullResult,
          on_progress: ProgressCallback | None) -> None:
    """Record one progress message in `result` and pass a layer's on."""
    status = str(event.get("status") or "")
    layer = str(event.get("id") or "")
    if status.startswith("Digest: "):
        result.digest = status.removeprefix("Digest: ").strip()
        return
    if not layer or status.startswith("Pulling from"):
        return  # image-level words ("Status: Downloaded newer image for …")
    detail = event.get("progressDetail") or {}
    current, total = detail.get("current"), detail.get("total")
    result.layers[layer] = status
    if status == "Downloading" and isinstance(total, int):
        result.sizes[layer] = total
    if on_progress is not None:
        on_progress(LayerProgress(layer, status, current, total))
