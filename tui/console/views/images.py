"""The images view: images of every host and the containers created from them."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding

from corral.backends.engine import ImageRow
from corral.tui.console.actions_ui import action_bindings
from corral.tui.console.views.base import Column, ResourceView
from corral.tui.present.formatting import human_size


class ImagesView(ResourceView):
    """Images of every host and the containers created from them."""

    BINDINGS: ClassVar[list[Binding]] = action_bindings("image")
    NAME = "images"
    KIND = "image"
    EMPTY = "No images on any online host."
    COLUMNS = (
        Column("host", "HOST"),
        Column("tags", "TAGS"),
        Column("id", "ID"),
        Column("size", "SIZE"),
        Column("users", "USED BY"),
    )

    def cells(self, record: ImageRow) -> tuple[Any, ...]:
        return (record.host, ", ".join(record.tags) or "<none>", record.id,
                human_size(record.size), ", ".join(record.users))

    def sort_value(self, record: ImageRow, column: int) -> Any:
        return record.size if self.COLUMNS[column].key == "size" else super().sort_value(
            record, column
        )
