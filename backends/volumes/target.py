"""`HOST/VOLUME`: how the command line names a volume on an inventory host."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: What the engine accepts as a volume name (`docker volume create`).
_VOLUME_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*\Z")


@dataclass(frozen=True)
class VolumeRef:
    """A named volume on one inventory host, written `HOST/VOLUME`.

    Attributes:
        host: The inventory name of the host.
        volume: The volume's name.
    """

    host: str
    volume: str

    def __str__(self) -> str:
        return f"{self.host}/{self.volume}"


def check_volume_name(name: str) -> str:
    """Return `name` if the engine would accept it as a volume name.

    Raises:
        ValueError: It would not; the message says why.
    """
    if not _VOLUME_NAME.match(name):
        raise ValueError(f"bad volume name {name!r}: letters, digits, '_', '.' and '-',"
                         " starting with a letter or digit")
    return name


def parse_volume_ref(text: str, *, default_volume: str | None = None) -> VolumeRef:
    """Read `HOST/VOLUME`; with `default_volume`, `HOST` alone is accepted too.

    Args:
        text: What the operator wrote.
        default_volume: The volume meant when only a host is given (`copy`'s
            destination keeps the source's name); None requires one.

    Raises:
        ValueError: The text is not of that form; the message says so.
    """
    host, slash, volume = text.strip().partition("/")
    if not slash and default_volume is not None:
        volume = default_volume
    if not host or not volume:
        form = "HOST[/VOLUME]" if default_volume is not None else "HOST/VOLUME"
        raise ValueError(f"bad volume {text!r}: expected {form}, e.g. lab1/data "
                         "(an inventory host, then a volume name)")
    return VolumeRef(host, check_volume_name(volume))
