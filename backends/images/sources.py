"""Which engine each pushed image is read from, when the caller names none.

`corral images push` and the console's push share this choice: the first
online inventory host holding the image, hosts that are not targets first
(reading from a target is as good, but only a host outside them can give the
image to every target).

Blocking docker-py calls: run on a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corral.backends.errors import BackendError, HostOffline
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession


@dataclass(frozen=True)
class ImageSources:
    """Where each image is read from.

    Attributes:
        hosts: Image -> the host to read it from.
        missing: Image -> why no host can give it.
    """

    hosts: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


#: Why an image has no source, when no online host holds it.
NO_HOLDER = "no online inventory host holds it"


def find_sources(fleet: Fleet, images: list[str], targets: list[str],
                 source: str | None = None) -> ImageSources:
    """The host each image is read from: `source` if given, else a host holding it.

    Args:
        fleet: The inventory's hosts.
        images: Image references to push.
        targets: The hosts they go to (asked last).
        source: A host to read every image from, if the caller chose one.

    Returns:
        The source of each image, or why there is none.

    Raises:
        HostOffline: `source` is given and offline.
    """
    if source is not None:
        check_online(fleet.session(source))
        return ImageSources({image: source for image in images}, {})
    order = [name for name in fleet.sessions if name not in targets] + \
            [name for name in fleet.sessions if name in targets]
    held = {result.host: result.value for result in fleet.query(
        lambda session: holds(session, images), hosts=order) if result.ok}
    found, missing = {}, {}
    for image in images:
        host = next((name for name in order if image in held.get(name, ())), None)
        if host is None:
            missing[image] = NO_HOLDER
        else:
            found[image] = host
    return ImageSources(found, missing)


def holds(session: HostSession, images: list[str]) -> set[str]:
    """Which of `images` the session's engine has.

    Raises:
        HostOffline: The host is offline.
    """
    check_online(session)
    held = set()
    for image in images:
        try:
            session.call(lambda client, name=image: client.api.inspect_image(name))
        except BackendError:
            continue
        held.add(image)
    return held


def check_online(session: HostSession) -> None:
    """Raise `HostOffline` (with the last error) unless the session is online."""
    if not session.online:
        raise HostOffline(session.status.error or "not connected", host=session.name)
