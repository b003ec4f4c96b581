"""A DataTable that knows its column widths as soon as rows are added.

Textual's DataTable measures new cells on its own idle event, but caches each
rendered cell without its width. When the screen paints before the table's
idle (a busy app, a slow machine), cells are cached at the old width and stay
cut short ("corr" for "corral-lab/web:1") until something else changes. Measuring
while adding removes the race: the first paint already has the right widths.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.console import RenderableType
from rich.protocol import is_renderable
from rich.text import Text
from textual.geometry import Region
from textual.render import measure
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey


def cell_width(console: Any, cell: object) -> int:
    """Cells a one-line table cell takes, measured as DataTable renders it."""
    # Mirrors Textual's private default_cell_formatter and its use of
    # textual.render.measure: pinned by tests/unit/test_dependency_internals.py
    if isinstance(cell, Text):
        # What measuring a Text comes to (its widest line), without asking the
        # console for its options: that reads the terminal's size, a system
        # call, and a redraw measures thousands of cells.
        return max((cell_len(line) for line in cell.plain.splitlines()), default=0)
    renderable: RenderableType
    if isinstance(cell, str):
        renderable = Text.from_markup(cell, end="")
    elif isinstance(cell, float):
        renderable = f"{cell:.2f}"
    elif not is_renderable(cell):
        renderable = str(cell)
    else:
        renderable = cell  # type: ignore[assignment]
    return measure(console, renderable, 1)


class MeasuredTable(DataTable):
    """DataTable whose auto-width columns fit their cells from the first paint.

    A refill (`clear` then `add_row`) also lets columns shrink back to what the
    new rows need. After `update_cell(..., update_width=True)` calls that may
    have made a column narrower, call `fit_narrowed()` once (it measures the
    whole column, so it is not done per cell).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._narrowed: set[ColumnKey] = set()
        #: A row was added taller than one line (`_refresh_line` cannot count lines).
        self._tall_rows = False

    def clear(self, columns: bool = False) -> MeasuredTable:
        super().clear(columns)
        self._tall_rows = False
        for column in self.columns.values():
            if column.auto_width:
                column.content_width = column.label.cell_len
        return self

    def add_row(self, *cells: Any, height: int | None = 1, key: str | None = None,
                label: Any = None) -> RowKey:
        row_key = super().add_row(*cells, height=height, key=key, label=label)
        self._tall_rows |= height != 1
        for column, cell in zip(self.ordered_columns, cells, strict=False):
            self._fit(column.key, cell)
        return row_key

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: Any, *,
                    update_width: bool = False, repaint: bool = True) -> None:
        # DataTable's own width update measures the whole column again for each
        # updated cell narrower than its column (a CPU figure going from 12.5% to
        # 3.1%): on an idle console, most of its CPU. Widths are kept here instead:
        # widen at once, measure a narrowed column once per batch (`fit_narrowed`).
        # Only a cell that was as wide as its column can narrow it: the others
        # are not measured again.
        row_key = RowKey(row_key) if isinstance(row_key, str) else row_key
        column_key = ColumnKey(column_key) if isinstance(column_key, str) else column_key
        previous = self._data.get(row_key, {}).get(column_key)
        self._set_cell(row_key, column_key, value, repaint)
        if not update_width:
            return
        column = self.columns.get(column_key)
        before = column.content_width if column is not None else None
        if not self._fit(column_key, value):
            if cell_width(self.app.console, previous) >= (before or 0):
                self._narrowed.add(column_key)
        elif column is not None and column.content_width != before:
            self._widths_changed()

    def _set_cell(self, row: RowKey, column: ColumnKey, value: Any, repaint: bool = True) -> None:
        """Change one cell and repaint only its row (or nothing: the caller repaints).

        DataTable's `update_cell` refreshes the whole widget, so one changed
        CPU figure rendered every visible row again: on an idle console, most
        of its CPU. Its cache keys hold `_update_count`, so the row is drawn
        anew; the other rows stay as painted (pinned by
        tests/unit/test_dependency_internals.py).
        """
        if row not in self._row_locations or column not in self._column_locations:
            raise CellDoesNotExist(f"No cell exists for row_key={row!r}, column_key={column!r}.")
        self._data[row][column] = value
        self._update_count += 1
        if repaint:
            self._refresh_line(self._row_locations.get(row))

    def _refresh_line(self, index: int) -> None:
        """Repaint the row at `index` if it is on screen.

        DataTable's `refresh_row` finds a row's place by adding up the heights
        of every row above it, after listing them all again (its list is
        cached per update, and every update changes it): one pass over the
        whole table per changed cell, so a redraw that moved the SINCE of
        2,000 rows cost 2,000 × 2,000 steps. Rows added here are one line
        high, so the place is the index.
        """
        if self._tall_rows:
            self.refresh_row(index)
            return
        y = index + (self.header_height if self.show_header else 0) - self.scroll_offset.y
        if 0 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def fit_narrowed(self) -> None:
        """Shrink the columns updated cells may have made narrower to their widest cell."""
        console = self.app.console
        changed = False
        for key in self._narrowed:
            column = self.columns.get(key)
            if column is not None and column.auto_width:
                width = max([column.label.cell_len,
                             *(cell_width(console, cell) for cell in self.get_column(key))])
                changed |= width != column.content_width
                column.content_width = width
        self._narrowed.clear()
        if changed:
            self._widths_changed()

    def _widths_changed(self) -> None:
        """Have the table size itself again for the new column widths (on its idle)."""
        self._require_update_dimensions = True
        self.refresh()

    def _fit(self, column_key: ColumnKey | str, cell: object) -> bool:
        """Widen the column to `cell` if needed; False if the cell is narrower."""
        column = self.columns.get(column_key)  # type: ignore[call-overload]
        if column is None or not column.auto_width:
            return True
        width = cell_width(self.app.console, cell)
        if width < column.content_width:
            return False
        column.content_width = width
        return True
