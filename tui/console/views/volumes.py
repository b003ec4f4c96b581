"""The volumes view: volumes of every host and the containers that use them."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding

from corral.backends.engine import VolumeRow
from corral.tui.console.actions_ui import action_bindings
from corral.tui.console.views.base import Column, ResourceView


class VolumesView(ResourceView):
    """Volumes of every host and the containers that use them."""

    BINDINGS: ClassVar[list[Binding]] = action_bindings("volume")
    NAME = "volumes"
    KIND = "volume"
    EMPTY = "No volumes on any online host."
    COLUMNS = (
        Column("host", "HOST"),
        Column("name", "NAME"),
        Column("driver", "DRIVER"),
        Column("mountpoint", "MOUNTPOINT"),
        Column("users", "USED BY"),
    )

    def cells(self, record: VolumeRow) -> tuple[Any, ...]:
        return (record.host, record.name, record.driver, record.mountpoint,
                ", ".join(record.users))
