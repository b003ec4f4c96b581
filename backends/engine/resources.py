"""Read-only views of an engine: host details, volumes, images, inspect.

Blocking docker-py calls: run them on worker threads.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field

from corral.backends import labels as L
from corral.backends.ssh.session import HostSession


@dataclass
class HostDetails:
    """What the hosts view shows beyond `HostFacts`.

    Attributes:
        name: Inventory name.
        engine: Engine version.
        os: Operating system as the engine reports it.
        kernel: Kernel version.
        cpus: CPUs the engine sees.
        memory: Memory in bytes.
        docker_root: The engine's data directory.
        storage_driver: e.g. overlay2.
        disk_used: Bytes the engine's images, containers and volumes use.
        disk_total: Size of the filesystem holding the Docker root, if known.
        disk_free: Free space on it, if known.
    """

    name: str
    engine: str = ""
    os: str = ""
    kernel: str = ""
    cpus: int = 0
    memory: int = 0
    docker_root: str = ""
    storage_driver: str = ""
    disk_used: int | None = None
    disk_total: int | None = None
    disk_free: int | None = None

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def host_details(
    session: HostSession, disk: tuple[int, int] | None = None
) -> HostDetails:
    """Engine facts from `/info` and `/system/df`.

    Args:
        session: The host's session.
        disk: (total, free) bytes of the Docker root's filesystem, if known
            (see `parse_df`); the engine API does not report it.

    Raises:
        BackendError: The host is offline or the engine failed.
    """
    info = session.call(lambda client: client.api.info())
    usage = session.call(lambda client: client.api.df())
    used = sum(image.get("Size", 0) or 0 for image in usage.get("Images") or [])
    used += sum(c.get("SizeRw", 0) or 0 for c in usage.get("Containers") or [])
    used += sum(
        (v.get("UsageData") or {}).get("Size", 0) or 0 for v in usage.get("Volumes") or []
    )
    return HostDetails(
        name=session.name,
        engine=info.get("ServerVersion", ""),
        os=info.get("OperatingSystem", ""),
        kernel=info.get("KernelVersion", ""),
        cpus=info.get("NCPU", 0),
        memory=info.get("MemTotal", 0),
        docker_root=info.get("DockerRootDir", ""),
        storage_driver=info.get("Driver", ""),
        disk_used=max(used, 0),
        disk_total=disk[0] if disk else None,
        disk_free=disk[1] if disk else None,
    )


def df_command(path: str) -> str:
    """The POSIX `df` call whose output `parse_df` reads."""
    return f"df -Pk {shlex.quote(path)}"


def parse_df(output: str) -> tuple[int, int] | None:
    """(total, free) bytes from `df -Pk` output, or None if unreadable."""
    lines = output.strip().splitlines()
    if len(lines) < 2:
        return None
    fields = lines[-1].split()
    try:
        return int(fields[1]) * 1024, int(fields[3]) * 1024
    except (IndexError, ValueError):
        return None


@dataclass
class VolumeRow:
    """One volume of one host, with the containers that mount it."""

    host: str
    name: str
    driver: str
    mountpoint: str
    labels: dict[str, str]
    users: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """What the engine knows it by."""
        return self.name

    @property
    def record_of(self) -> str | None:
        """The stack whose record this volume holds (see `deploy/record.py`), or None."""
        return record_of(self.labels)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def record_of(labels: dict[str, str] | None) -> str | None:
    """The stack a volume's labels say it is the record of, or None.

    Corral keeps each stack's definition in such volumes; they go only with
    their stack (`corral rm STACK`, or an upgrade settling).
    """
    return (labels or {}).get(L.RECORD) or None


@dataclass
class ImageRow:
    """One image of one host, with the containers created from it."""

    host: str
    id: str
    tags: list[str]
    size: int
    created: int
    users: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """What the engine knows it by: the tag, or the id if untagged."""
        return self.tags[0] if self.tags else self.id

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def _containers(session: HostSession) -> list[dict]:
    return session.call(lambda client: client.api.containers(all=True))


def _name(container: dict) -> str:
    return (container.get("Names") or ["/?"])[0].lstrip("/")


def list_volumes(session: HostSession) -> list[VolumeRow]:
    """The host's volumes, sorted by name, each with the containers using it.

    Raises:
        BackendError: The host is offline or the engine failed.
    """
    volumes = session.call(lambda client: client.api.volumes()).get("Volumes") or []
    users: dict[str, list[str]] = {}
    for container in _containers(session):
        for mount in container.get("Mounts") or []:
            if mount.get("Type") == "volume" and mount.get("Name"):
                users.setdefault(mount["Name"], []).append(_name(container))
    rows = [
        VolumeRow(
            host=session.name,
            name=volume["Name"],
            driver=volume.get("Driver", ""),
            mountpoint=volume.get("Mountpoint", ""),
            labels=volume.get("Labels") or {},
            users=sorted(users.get(volume["Name"], [])),
        )
        for volume in volumes
    ]
    return sorted(rows, key=lambda row: row.name)


def list_images(session: HostSession) -> list[ImageRow]:
    """The host's images, sorted by first tag, each with the containers using it.

    Raises:
        BackendError: The host is offline or the engine failed.
    """
    images = session.call(lambda client: client.api.images())
    users: dict[str, list[str]] = {}
    for container in _containers(session):
        users.setdefault(container.get("ImageID", ""), []).append(_name(container))
    rows = []
    for image in images:
        tags = [tag for tag in image.get("RepoTags") or [] if tag != "<none>:<none>"]
        for tag in tags or [None]:
            rows.append(
                ImageRow(
                    host=session.name,
                    id=image["Id"].removeprefix("sha256:")[:12],
                    tags=[tag] if tag else [],
                    size=image.get("Size", 0),
                    created=image.get("Created", 0),
                    users=sorted(users.get(image["Id"], [])),
                )
            )
    return sorted(rows, key=lambda row: (row.tags[0] if row.tags else "~", row.id))


INSPECTORS = {
    "container": lambda client, ref: client.api.inspect_container(ref),
    "volume": lambda client, ref: client.api.inspect_volume(ref),
    "image": lambda client, ref: client.api.inspect_image(ref),
}


def inspect(session: HostSession, kind: str, ref: str) -> dict:
    """The engine's full description of a container, volume or image.

    Raises:
        BackendError: The host is offline, or the object does not exist.
    """
    return session.call(INSPECTORS[kind], ref)
