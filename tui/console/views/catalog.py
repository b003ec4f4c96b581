"""Tables of the catalog screens: entries of every catalog, versions of one entry.

Both reuse the console's `ResourceView` (filter, sort, inspect, enter to
drill down); marking rows means nothing here, so it is switched off.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from corral.catalog.loader import Entry, Version
from corral.tui.console.views.base import Column, ResourceView


class _CatalogTable(ResourceView):
    """A resource view without marks: catalog rows are opened one at a time."""

    BY_HOST = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_mark":
            return False
        return super().check_action(action, parameters)


def _flagged(text: str, problems: list) -> Text:
    """`text`, prefixed with a red `!` when any problem blocks it."""
    if any(p.blocking for p in problems):
        return Text.assemble(("! ", "bold red"), text)
    return Text(text)


class EntriesView(_CatalogTable):
    """Every entry of every catalog folder; keys are `catalog:id`."""

    NAME = "catalog"
    KIND = "entry"
    EMPTY = "No catalog entries."
    COLUMNS = (
        Column("id", "ENTRY"),
        Column("category", "CATEGORY"),
        Column("version", "VERSION"),
        Column("catalog", "CATALOG"),
        Column("description", "DESCRIPTION"),
    )

    def cells(self, record: Entry) -> tuple[Any, ...]:
        return (
            _flagged(record.id, record.problems),
            record.category_label,
            record.version or "",
            record.catalog,
            record.description,
        )


class VersionsView(_CatalogTable):
    """The version folders of one entry; keys are folder names."""

    NAME = "versions"
    KIND = "version"
    EMPTY = "This entry has no versions."
    COLUMNS = (
        Column("folder", "FOLDER"),
        Column("version", "VERSION"),
        Column("default", "DEFAULT"),
        Column("questions", "QUESTIONS"),
        Column("description", "DESCRIPTION"),
    )

    def __init__(self, default_revision: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.default_revision = default_revision

    def cells(self, record: Version) -> tuple[Any, ...]:
        return (
            _flagged(record.revision, record.problems),
            record.version,
            "default" if record.revision == self.default_revision else "",
            str(len(record.info.questions)),
            record.info.description or "",
        )

    def sort_value(self, record: Version, column: int, cells: tuple[Any, ...]) -> Any:
        if column == 0:  # folders are numbers: 10 comes after 9
            revision = record.revision
            return (0, int(revision), "") if revision.isdigit() else (1, 0, revision)
        return super().sort_value(record, column, cells)
