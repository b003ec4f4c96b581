"""The images a host holds, each with the containers that use it.

Blocking docker-py calls: run on a worker thread.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from corral.backends.ssh.session import HostSession


@dataclass
class HostImage:
    """One image on one host.

    Attributes:
        host: The inventory name of the host.
        image_id: The image's ID (`sha256:...`).
        tags: Its `repo:tag` names (empty for an untagged image).
        size: Its size in bytes, as the engine reports it (shared layers counted).
        created: When it was built, seconds since the epoch.
        used_by: Names of the containers (running or not) made from it.
    """

    host: str
    image_id: str
    tags: list[str] = field(default_factory=list)
    size: int = 0
    created: int = 0
    used_by: list[str] = field(default_factory=list)

    @property
    def short_id(self) -> str:
        """The first 12 hex digits of the ID, as `docker images` shows it."""
        return self.image_id.removeprefix("sha256:")[:12]

    @property
    def unused(self) -> bool:
        """No container, running or stopped, is made from it."""
        return not self.used_by

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def list_images(session: HostSession) -> list[HostImage]:
    """The top-level images of `session`'s host (as `docker images`), with their users.

    Args:
        session: The host's session (online).

    Returns:
        One entry per image, newest first.

    Raises:
        BackendError: The engine did not answer, translated.
    """
    rows = session.call(lambda client: client.api.images())
    containers = session.call(lambda client: client.api.containers(all=True))
    users: dict[str, list[str]] = {}
    for container in containers:
        names = container.get("Names") or [container.get("Id", "")[:12]]
        users.setdefault(container.get("ImageID") or "", []).append(names[0].lstrip("/"))
    images = [
        HostImage(
            host=session.name,
            image_id=row["Id"],
            tags=[tag for tag in (row.get("RepoTags") or []) if tag != "<none>:<none>"],
            size=int(row.get("Size") or 0),
            created=int(row.get("Created") or 0),
            used_by=sorted(users.get(row["Id"], [])),
        )
        for row in rows
    ]
    images.sort(key=lambda image: (-image.created, image.tags, image.image_id))
    return images
