"""The images view: images of every host, the containers created from them, the hosts
that lack what the stacks need, and the image actions (push, pull, remove unused).

The actions are posted as messages; the screen asks where (push, pull) or
whether (remove) and runs them (`tui/console/images_ui.py`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from corral.backends.engine import ImageRow
from corral.tui.console.model.image_needs import NeededImage, with_needs
from corral.tui.console.views.base import Column, ResourceView
from corral.tui.present.formatting import human_size

Record = ImageRow | NeededImage


class ImagesView(ResourceView):
    """Images of every host, the containers created from them, and where needed ones lack."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("p", "transfer('push')", "Push", id="images.push",
                tooltip="Push the marked images (or the one under the cursor) to hosts you"
                        " choose, from a host that has each, only the layers each lacks"),
        Binding("f", "transfer('pull')", "Pull", id="images.pull",
                tooltip="Have the hosts you choose pull the marked images (or the one under"
                        " the cursor) from their registry"),
        Binding("ctrl+d", "remove_unused", "Remove unused", id="images.remove_unused",
                tooltip="Remove the marked images (or the one under the cursor) that no"
                        " container uses (asks first; those in use are kept)"),
        Binding("T,shift+t", "show_transfers", "Transfers", id="images.transfers",
                tooltip="The pushes and pulls of this console: running ones with bytes, rate"
                        " and ETA, ended ones with what they did"),
    ]
    MUTATING_ACTIONS = frozenset({"transfer", "remove_unused"})
    NAME = "images"
    KIND = "image"
    EMPTY = "No images on any online host."
    COLUMNS = (
        Column("host", "HOST"),
        Column("tags", "TAGS"),
        Column("id", "ID"),
        Column("size", "SIZE"),
        Column("users", "USED BY"),
        Column("missing", "MISSING ON"),
    )

    class TransferRequested(Message):
        """Push or pull (`kind`) `images`; `hosts` lack them (the targets to offer first)."""

        def __init__(self, kind: str, images: list[str], hosts: list[str]):
            super().__init__()
            self.kind = kind
            self.images = images
            self.hosts = hosts

    class RemoveRequested(Message):
        """Remove the image rows `rows` (those in use are to be kept)."""

        def __init__(self, rows: list[ImageRow]):
            super().__init__()
            self.rows = rows

    class TransfersRequested(Message):
        """Show the transfers."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        #: The hosts' images as listed, by `host/ref`.
        self.listing: dict[str, Record] = {}
        #: Images the deployed stacks need (as tags), and the online hosts asked.
        self.needed: set[str] = set()
        self.hosts: list[str] = []
        #: Each needed image -> the online hosts that lack it.
        self.missing: dict[str, list[str]] = {}

    def set_records(self, records: dict[str, Any]) -> None:
        self.listing = records
        self._derive()

    def set_needs(self, needed: set[str], hosts: list[str]) -> None:
        """Which images the stacks need and which hosts are online; redraw if it changed."""
        if (needed, hosts) != (self.needed, self.hosts):
            self.needed, self.hosts = set(needed), list(hosts)
            self._derive()

    def _derive(self) -> None:
        records, self.missing = with_needs(self.listing, self.needed, self.hosts)
        super().set_records(records)

    def missing_of(self, record: Record) -> list[str]:
        """The online hosts lacking the row's image, if the stacks need it."""
        if isinstance(record, NeededImage):
            return record.missing_on
        return self.missing.get(record.tags[0], []) if record.tags else []

    def cells(self, record: Record) -> tuple[Any, ...]:
        missing = ", ".join(self.missing_of(record))
        if isinstance(record, NeededImage):
            return (Text("(none)", style="dim"), record.image, "", "",
                    Text("on no online host", style="red"), Text(missing, style="red"))
        return (record.host, ", ".join(record.tags) or "<none>", record.id,
                human_size(record.size), ", ".join(record.users),
                Text(missing, style="yellow") if missing else "")

    def sort_value(self, record: Record, column: int, cells: tuple[Any, ...]) -> Any:
        if self.COLUMNS[column].key == "size":
            return getattr(record, "size", 0)
        return super().sort_value(record, column, cells)

    def action_transfer(self, kind: str) -> None:
        if self.refused():  # check_action already hides it; belt and braces
            return
        rows = [record for _, record in self.selected()]
        if not rows:
            return
        if kind == "pull":
            untagged = [row.id for row in rows if isinstance(row, ImageRow) and not row.tags]
            if untagged:
                self.notify(f"untagged images have no name to pull: {', '.join(untagged)}",
                            severity="warning")
                rows = [row for row in rows if not (isinstance(row, ImageRow) and not row.tags)]
                if not rows:
                    return
        images = list(dict.fromkeys(record.ref for record in rows))
        lacking = {host for record in rows for host in self.missing_of(record)}
        if not lacking and kind == "pull":  # pull again where they are
            lacking = {record.host for record in rows if isinstance(record, ImageRow)}
        hosts = [host for host in self.hosts if host in lacking]
        self.post_message(self.TransferRequested(kind, images, hosts))

    def action_remove_unused(self) -> None:
        if self.refused():
            return
        rows = [record for _, record in self.selected() if isinstance(record, ImageRow)]
        if rows:
            self.post_message(self.RemoveRequested(rows))
        else:
            self.notify("no image here to remove: none of those rows is on a host",
                        severity="warning")

    def action_show_transfers(self) -> None:
        self.post_message(self.TransfersRequested())
