"""`HOST/CONTAINER`: how the command line and the console name a container."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContainerTarget:
    """A container on one inventory host, written `HOST/CONTAINER`.

    Attributes:
        host: The inventory name of the host.
        container: A container name or (a prefix of) its id.
    """

    host: str
    container: str

    def __str__(self) -> str:
        return f"{self.host}/{self.container}"


def parse_container_target(text: str) -> ContainerTarget:
    """Read `HOST/CONTAINER` (container name or id).

    Raises:
        ValueError: The text is not of that form; the message says so.
    """
    host, slash, container = text.strip().partition("/")
    if not slash or not host or not container or "/" in container:
        raise ValueError(
            f"bad target {text!r}: expected HOST/CONTAINER, e.g. lab1/web-1 "
            "(an inventory host, then a container name or id)"
        )
    return ContainerTarget(host, container)
