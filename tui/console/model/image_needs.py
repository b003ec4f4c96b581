"""Which hosts lack the images the deployed stacks need: the images view's MISSING ON.

Computed from what the console already holds, no extra read: the needed
images are those of the stacks' containers in the live store (as the stacks
view groups them), the hosts' images are the images view's listing, and the
hosts asked are those online whose listing answered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from corral.backends.engine import ContainerRow, ImageRow


@dataclass
class NeededImage:
    """An image a stack needs that no online host holds: a row of its own.

    Attributes:
        image: The reference the stack's containers name.
        missing_on: The online hosts (all of them) that lack it.
    """

    image: str
    missing_on: list[str] = field(default_factory=list)
    host: str = ""
    tags: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """The reference (no engine holds it by any other name)."""
        return self.image


def normal_reference(image: str) -> str | None:
    """`image` as an engine lists its tags (`busybox` is `busybox:latest`).

    None for an image ID or a digest reference: no tag names those.
    """
    bare = image.removeprefix("sha256:")
    if image.startswith("sha256:") or "@" in image or (
            len(bare) >= 12 and all(c in "0123456789abcdef" for c in bare)):
        return None
    name = image.rsplit("/", 1)[-1]
    return image if ":" in name else f"{image}:latest"


def needed_images(containers: Iterable[ContainerRow]) -> set[str]:
    """The images (as tags) the stacks' containers are made from."""
    needed = set()
    for row in containers:
        if row.stack:
            reference = normal_reference(row.image)
            if reference is not None:
                needed.add(reference)
    return needed


def missing_on(images: Iterable[ImageRow | NeededImage], needed: set[str],
               hosts: Iterable[str]) -> dict[str, list[str]]:
    """Each needed image some of `hosts` lack -> those hosts, in `hosts` order."""
    held: dict[str, set[str]] = {}
    for row in images:
        if isinstance(row, ImageRow):
            for tag in row.tags:
                held.setdefault(tag, set()).add(row.host)
    hosts = list(hosts)
    lacking = {image: [host for host in hosts if host not in held.get(image, set())]
               for image in sorted(needed)}
    return {image: where for image, where in lacking.items() if where}


def with_needs(records: dict[str, ImageRow | NeededImage], needed: set[str],
               hosts: Iterable[str]) -> tuple[dict[str, ImageRow | NeededImage],
                                              dict[str, list[str]]]:
    """The listing plus a `NeededImage` row for each needed image no host holds.

    Returns:
        The records (keyed `host/ref`, a needed image `-/image`) and `missing_on`.
    """
    listed = {key: row for key, row in records.items() if isinstance(row, ImageRow)}
    hosts = list(hosts)
    lacking = missing_on(listed.values(), needed, hosts)
    held = {tag for row in listed.values() for tag in row.tags}
    rows: dict[str, ImageRow | NeededImage] = dict(listed)
    for image, where in lacking.items():
        if image not in held:
            rows[f"-/{image}"] = NeededImage(image, where)
    return rows, lacking
