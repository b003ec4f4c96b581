"""The helper container through which a volume's files move, and who uses a volume.

The engine reads and writes files only in containers (`GET/PUT
/containers/{id}/archive`). So Corral creates a helper container with the
volume mounted, moves the bytes through its archive endpoints, and removes it
— even when the transfer fails. The helper is never started: an archive call
on a created container mounts its volumes for the call. It is made from an
image already on the host (one a container using the volume runs, else the
smallest image there): nothing is pulled. Its name (`corral-volume-helper-…`)
and label (`io.corral.volume-helper`: the volume) make a leftover (the link
cut between create and remove) easy to recognise: `docker ps -a --filter
label=io.corral.volume-helper`.

Everything here blocks: call it from worker threads.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from corral.backends import labels as L
from corral.backends.errors import ActionRefused, BackendError, NotFound
from corral.backends.ssh.session import HostSession

log = logging.getLogger(__name__)

#: Label on every helper container (value: the volume it mounts).
HELPER_LABEL = "io.corral.volume-helper"
#: Prefix of every helper container's name.
HELPER_PREFIX = "corral-volume-helper-"
#: Where the volume is mounted in the helper.
MOUNT = "/corral-volume"
#: The helper's command: never run, but the engine wants one for images that have none.
_COMMAND = ["true"]


@dataclass(frozen=True)
class VolumeState:
    """What a host says about one volume before anything moves.

    Attributes:
        host: The inventory name of the host.
        volume: The volume's name.
        exists: The engine knows it.
        labels: Its labels.
        writers: Running containers that mount it read-write.
        users: Every container (running or not) that mounts it, with its image id.
    """

    host: str
    volume: str
    exists: bool
    labels: dict[str, str]
    writers: tuple[str, ...]
    users: tuple[tuple[str, str], ...]

    @property
    def corral_owned(self) -> str | None:
        """What Corral keeps in it (`a stack record`, `audit entries`), if anything."""
        if L.RECORD in self.labels:
            return "a stack's record"
        if L.AUDIT in self.labels:
            return "Corral's audit entries"
        return None


def volume_state(session: HostSession, volume: str) -> VolumeState:
    """Read the volume and the containers that mount it (reads only).

    Raises:
        BackendError: The host is offline or the engine failed.
    """
    try:
        labels = session.call(lambda c: c.api.inspect_volume(volume)).get("Labels") or {}
        exists = True
    except NotFound:
        labels, exists = {}, False
    containers = session.call(
        lambda c: c.api.containers(all=True, filters={"volume": volume}))
    writers, users = [], []
    for container in containers:
        name = (container.get("Names") or [container.get("Id", "")[:12]])[0].lstrip("/")
        if (container.get("Labels") or {}).get(HELPER_LABEL) is not None:
            continue  # another transfer's helper: never started, writes through its archive
        users.append((name, container.get("ImageID") or container.get("Image") or ""))
        running = container.get("State") in ("running", "restarting", "paused")
        if running and any(mount.get("Type") == "volume" and mount.get("Name") == volume
                           and mount.get("RW", True) for mount in container.get("Mounts") or []):
            writers.append(name)
    return VolumeState(session.name, volume, exists, dict(labels), tuple(sorted(writers)),
                       tuple(users))


def refuse_writers(state: VolumeState, what: str) -> None:
    """Refuse to `what` while a running container writes the volume.

    Raises:
        ActionRefused: Naming the container(s) and the way past (`--live`).
    """
    if state.writers:
        raise ActionRefused(
            f"volume {state.volume} is mounted read-write by running "
            f"{'container' if len(state.writers) == 1 else 'containers'} "
            f"{', '.join(state.writers)}; refusing to {what} (stop "
            f"{'it' if len(state.writers) == 1 else 'them'} first, or pass --live "
            "to take the files as they are being written)",
            host=state.host,
        )


def helper_image(session: HostSession, state: VolumeState) -> str:
    """An image already on the host to create the helper from.

    One a container using the volume runs (surely present), else the
    host's smallest image.

    Raises:
        BackendError: The host has no image at all (nothing is pulled).
    """
    for _, image in state.users:
        if image:
            return image
    images = session.call(lambda c: c.api.images())
    if not images:
        raise BackendError(
            "no image on this host to make a volume helper container from (Corral "
            "pulls nothing for it); load any small image there first", host=session.name)
    return min(images, key=lambda image: (image.get("Size") or 0, image["Id"]))["Id"]


@contextlib.contextmanager
def helper_container(session: HostSession, state: VolumeState, *,
                     writable: bool) -> Iterator[str]:
    """A created (never started) container with the volume at `MOUNT`; removed afterwards.

    Args:
        session: The host.
        state: The volume, as read just before.
        writable: Mount it read-write (to put files), else read-only.

    Yields:
        The helper's id.

    Raises:
        BackendError: The engine refused to create it.
    """
    image = helper_image(session, state)
    name = f"{HELPER_PREFIX}{state.volume[:64]}-{secrets.token_hex(3)}"
    mode = "rw" if writable else "ro"
    created = session.call(lambda c: c.api.create_container(
        image,
        command=_COMMAND,
        name=name,
        labels={HELPER_LABEL: state.volume},
        network_disabled=True,
        host_config=c.api.create_host_config(
            binds={state.volume: {"bind": MOUNT, "mode": mode}},
            network_mode="none",
        ),
    ))
    try:
        yield created["Id"]
    finally:
        # v=False: the volume itself is never removed with its helper.
        try:
            session.call(lambda c: c.api.remove_container(created["Id"], force=True, v=False))
        except BackendError as exc:  # the link is gone: the label tells the leftover apart
            log.warning("%s: volume helper %s left behind: %s", session.name, name, exc)
