"""`ResourceView`: the filtered, sorted, markable table under every resource view.

A view holds records by key and derives its rows from them through its
`Column`s, filtered by `/` (a case-insensitive regex, `!` inverts) and sorted.
When the same rows come back in the same order only the changed cells are
updated; otherwise the table is refilled, keeping the cursor on its row. A
hidden view defers the work until it is shown. Enter, inspect and the mutating
actions (on the marked rows, or the one under the cursor) are posted as
messages; read-only mode hides and refuses the mutating ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from corral.tui.console.actions_ui import is_mutating
from corral.tui.console.widgets.measured_table import MeasuredTable
from corral.tui.present.safe import has_unsafe, visible

MARK = "✓"
#: After the heading of the column the rows are sorted by: ascending, descending.
SORT_ARROWS = (" ▲", " ▼")
#: Number keys 1..9 keep the rows of the n-th inventory host; 0 shows every host.
HOST_KEYS = 9


@dataclass(frozen=True)
class Column:
    """A column: its key, heading, and a fixed width for figures that change often.

    A fixed width keeps the layout still while live figures (CPU, memory)
    update, instead of re-measuring the whole table at each sample.
    """

    key: str
    label: str
    width: int | None = None


def compile_filter(text: str) -> tuple[re.Pattern[str] | None, bool]:
    """The view filter: a case-insensitive regex, `!` in front inverts it.

    Text that is not a valid regex is matched literally.
    """
    inverted = text.startswith("!")
    body = text[1:] if inverted else text
    if not body:
        return None, False
    try:
        return re.compile(body, re.IGNORECASE), inverted
    except re.error:
        return re.compile(re.escape(body), re.IGNORECASE), inverted


def safe_cell(cell: Any) -> Any:
    """A cell as the table may draw it: `Text` (never markup), control characters shown.

    Cells carry what hosts say (names, labels, images, event attributes):
    an escape sequence drawn as is would reach the operator's terminal.
    """
    if isinstance(cell, str):
        return Text(visible(cell))
    if isinstance(cell, Text) and has_unsafe(cell.plain):
        return Text(visible(cell.plain), style=cell.style, justify=cell.justify)
    return cell


class ResourceView(MeasuredTable):
    """Base of every resource view.

    Subclasses set `NAME`, `KIND`, `COLUMNS` and implement `cells()`.
    """

    NAME: ClassVar[str] = "resources"
    #: The kind of object a row is, for actions (`container`, `volume`…).
    KIND: ClassVar[str] = ""
    COLUMNS: ClassVar[tuple[Column, ...]] = ()
    #: What the view says when it has no rows at all.
    EMPTY: ClassVar[str] = "Nothing here."
    #: Whether rows belong to hosts (the number keys keep one host's rows).
    BY_HOST: ClassVar[bool] = True
    #: The view's own actions (Textual action names) that change a host, the
    #: inventory or what Corral acts on, or run something in a container:
    #: hidden and refused in read-only mode, like the engine actions.
    MUTATING_ACTIONS: ClassVar[frozenset[str]] = frozenset()

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("space", "toggle_mark", "Mark", id="view.mark", tooltip="Mark or unmark the row"),
        Binding("o", "sort_next", "Sort", id="view.sort", tooltip="Sort by the next column"),
        Binding(
            "O", "sort_reverse", "Reverse", id="view.sort_reverse", tooltip="Reverse the sort"
        ),
        Binding("y", "inspect", "Inspect", id="view.inspect",
                tooltip="Show everything about the row as YAML"),
        # k9s movement; DataTable's own arrow keys stay.
        Binding("j", "cursor_down", "Down", id="view.down", show=False,
                tooltip="Move to the next row (also down)"),
        Binding("k", "cursor_up", "Up", id="view.up", show=False,
                tooltip="Move to the previous row (also up)"),
        Binding("g,home", "scroll_top", "Top", id="view.top", show=False,
                tooltip="Move to the first row"),
        Binding("G,end", "scroll_bottom", "Bottom", id="view.bottom", show=False,
                tooltip="Move to the last row"),
        Binding("pageup", "page_up", "Page up", id="view.page_up", show=False,
                tooltip="Move one screen up"),
        Binding("pagedown", "page_down", "Page down", id="view.page_down", show=False,
                tooltip="Move one screen down"),
        *(Binding(str(n), f"host_filter({n})", f"Host {n}", id=f"view.host_{n}", show=False,
                  tooltip=f"Only the rows of inventory host {n}")
          for n in range(1, HOST_KEYS + 1)),
        Binding("0", "host_filter(0)", "All hosts", id="view.all_hosts", show=False,
                tooltip="The rows of every host again"),
    ]

    class Drill(Message):
        """The user pressed enter on a row."""

        def __init__(self, view: ResourceView, key: str, record: Any):
            super().__init__()
            self.view = view
            self.key = key
            self.record = record

    class ActionRequested(Message):
        """The user asked for a mutating action on some rows."""

        def __init__(self, view: ResourceView, action_id: str, rows: list[tuple[str, Any]]):
            super().__init__()
            self.view = view
            self.action_id = action_id
            self.rows = rows

    class HostFilterRequested(Message):
        """The user asked for the rows of the n-th inventory host (0: every host)."""

        def __init__(self, view: ResourceView, number: int):
            super().__init__()
            self.view = view
            self.number = number

    class InspectRequested(Message):
        """The user asked to inspect a row."""

        def __init__(self, view: ResourceView, key: str, record: Any):
            super().__init__()
            self.view = view
            self.key = key
            self.record = record

    def __init__(self, **kwargs: Any):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        #: Set by the console: hides and refuses every mutating action.
        self.readonly = False
        self.records: dict[str, Any] = {}
        self.marks: set[str] = set()
        self.filter_text = ""
        #: Only the rows of this host (number keys), or every host.
        self.host_filter: str | None = None
        self.sort_column = 0
        self.sort_reverse = False
        self._stale_rows = False
        self._shown_keys: list[str] = []
        self._shown_cells: dict[str, tuple[Any, ...]] = {}
        self._status_shown: str | None = None
        #: Each shown row's sort value, and `shown_inputs()`, at the last rebuild.
        self._shown_sort: dict[str, Any] = {}
        self._inputs_shown: Any = None
        #: (record, version, cells) by key: see `cells_version`.
        self._cells_cache: dict[str, tuple[Any, Any, tuple[Any, ...]]] = {}
        #: The cursor was moved (by a key, a click or the code), not by a
        #: refill. Until then it stays on the first row while hosts' rows
        #: arrive, and the view opens at the top of the list; from then on a
        #: refill keeps it on its row.
        self.cursor_chosen = False
        self._refilling = False

    @property
    def _column_keys(self) -> list[str]:
        return [column.key for column in self.COLUMNS]

    def on_mount(self) -> None:
        self.border_title = self.NAME
        self.add_column(" ", key="_mark", width=1)
        for index, column in enumerate(self.COLUMNS):
            self.add_column(self._heading(index), key=column.key, width=column.width)

    def _heading(self, index: int) -> str:
        """A column's heading, with an arrow when the rows are sorted by it."""
        label = self.COLUMNS[index].label
        return label + SORT_ARROWS[self.sort_reverse] if index == self.sort_column else label

    def _show_sort(self) -> None:
        """Move the sort arrow to the sort column; the next rebuild refills the table.

        A refill (`clear`) is what makes DataTable draw the header afresh.
        """
        for index, column in enumerate(self.COLUMNS):
            heading = self.columns.get(ColumnKey(column.key))
            if heading is not None:
                heading.label = Text(self._heading(index))
        self._shown_keys = []

    # --- what subclasses provide -------------------------------------------

    def cells(self, record: Any) -> tuple[Any, ...]:
        """The cells of one record's row, in `COLUMNS` order."""
        raise NotImplementedError

    def sort_value(self, record: Any, column: int, cells: tuple[Any, ...]) -> Any:
        """What sorts the rows by `column`; default: the text of its cell in `cells`."""
        cell = cells[column]
        return cell.plain if isinstance(cell, Text) else str(cell)

    def cells_version(self, key: str, record: Any) -> Any:
        """What a row's cells depend on besides its record, or None: compute them each time.

        A view that returns a version gets the cells it last computed for a key
        back while the record is the same object and the version compares
        equal, so one changed container among thousands costs one row's cells,
        not every row's (records are replaced, never changed in place).
        """
        return None

    # --- data ---------------------------------------------------------------

    def set_records(self, records: dict[str, Any]) -> None:
        """Replace every record and redraw (later, if the view is hidden).

        When the same keys come back and each replaced record keeps its row's
        place, only those rows are updated (see `_update_in_place`).
        """
        previous, self.records = self.records, records
        if records is previous or records.keys() != previous.keys():
            self.marks &= set(records)
            if self._cells_cache:
                self._cells_cache = {key: cached for key, cached in self._cells_cache.items()
                                     if key in records}
        elif self._update_in_place(previous):
            return
        self.redraw()

    def shown_inputs(self) -> Any:
        """What the rows depend on besides the records, filter and sort, set from outside.

        A view whose owner changes such state and then calls `set_records`
        returns it here, so that a change of it redraws every row.
        """
        return None

    def _update_in_place(self, previous: dict[str, Any]) -> bool:
        """Update only the rows of replaced records, if none of them moves.

        Filtering and sorting every row again for one changed container cost
        tens of milliseconds at 2,000 rows, on every drain. Taken only while
        the view shows up-to-date rows and nothing else they depend on
        changed; a replaced record must stay shown or hidden as it was and
        keep its sort value, else the caller redraws.

        Args:
            previous: The records before, with the same keys as now.

        Returns:
            Whether the rows are now up to date.
        """
        if (not self.display or self._stale_rows or not self._shown_keys
                or self.shown_inputs() != self._inputs_shown):
            return False
        pattern, inverted = compile_filter(self.filter_text)
        updates = []
        for key, record in self.records.items():
            if previous[key] is record:
                continue
            row = self._row_of(key, record, pattern, inverted)
            sort_value = self._shown_sort.get(key)
            if row is None and sort_value is None:
                continue  # hidden before and after
            if row is None or sort_value is None or row[1] != sort_value:
                return False
            updates.append((key, row[0]))
        for key, cells in updates:
            self._update_row(key, cells)
        self.fit_narrowed()
        return True

    def redraw(self) -> None:
        """Rebuild the rows now if the view is shown, else when it is shown."""
        if self.display:
            self.rebuild()
        else:
            self._stale_rows = True

    def catch_up(self) -> None:
        """Redraw if records arrived while the view was hidden."""
        if self._stale_rows:
            self.rebuild()

    def keep(self, record: Any) -> bool:
        """Whether a record passes the view's own filter (besides `/`)."""
        return True

    def hosts_of(self, record: Any) -> set[str]:
        """The hosts a record belongs to, for the number keys' host filter."""
        host = getattr(record, "host", None)
        return {host} if host else set()

    def _rows(self) -> list[tuple[str, Any, tuple[Any, ...], Any]]:
        """(key, record, cells, sort value) of the rows to show, filtered and sorted."""
        pattern, inverted = compile_filter(self.filter_text)
        rows = []
        for key, record in self.records.items():
            row = self._row_of(key, record, pattern, inverted)
            if row is not None:
                rows.append((key, record, *row))
        rows.sort(key=lambda row: (row[3], row[0]), reverse=self.sort_reverse)
        return rows

    def _row_of(self, key: str, record: Any, pattern: re.Pattern[str] | None,
                inverted: bool) -> tuple[tuple[Any, ...], Any] | None:
        """A record's (cells, sort value) if the filters let it through, else None.

        Its cells are computed once (and only if the view's own filter and the
        host filter keep it); plain strings become `Text` so the table does not
        parse them as markup (slow, and `[` in a label would be taken for a
        style), with control characters shown.
        """
        if not self.keep(record):
            return None
        if self.host_filter is not None and self.host_filter not in self.hosts_of(record):
            return None
        cells = self._cells_of(key, record)
        if pattern is not None:
            text = " ".join(cell.plain if isinstance(cell, Text) else str(cell)
                            for cell in cells)
            if bool(pattern.search(text)) == inverted:
                return None
        return cells, self.sort_value(record, self.sort_column, cells)

    def _cells_of(self, key: str, record: Any) -> tuple[Any, ...]:
        """A record's cells made safe to draw, reused while `cells_version` allows."""
        version = self.cells_version(key, record)
        if version is not None:
            cached = self._cells_cache.get(key)
            if cached is not None and cached[0] is record and cached[1] == version:
                return cached[2]
        cells = tuple(safe_cell(cell) for cell in self.cells(record))
        if version is not None:
            self._cells_cache[key] = (record, version, cells)
        return cells

    def visible(self) -> list[tuple[str, Any]]:
        """(key, record) of the rows the filters let through, sorted."""
        return [(key, record) for key, record, _, _ in self._rows()]

    def rebuild(self) -> None:
        """Bring the table in line with the records, keeping the cursor on its row.

        When the same rows stay in the same order (the usual case: a state
        or a figure changed), only the changed cells are updated; otherwise
        the table is refilled.
        """
        self._stale_rows = False
        self._inputs_shown = self.shown_inputs()
        rows = self._rows()
        keys = [key for key, _, _, _ in rows]
        self._shown_sort = {key: sort_value for key, _, _, sort_value in rows}
        if keys and keys == self._shown_keys:
            changed = [(key, cells) for key, _, cells, _ in rows
                       if self._shown_cells.get(key) != cells]
            # Past a screenful (the SINCE of every row moving), one repaint of
            # the table costs less than one per row.
            each = len(changed) <= self.size.height
            for key, cells in changed:
                self._update_row(key, cells, repaint=each)
            if not each:
                self.refresh()
            self.fit_narrowed()
        else:
            current = self.current_key() if self.cursor_chosen else None
            self._refilling = True
            try:
                self.clear()
                for key, _, cells, _ in rows:
                    self.add_row(MARK if key in self.marks else "", *cells, key=key)
                if current is not None and current in self.rows:
                    self.move_cursor(row=self.get_row_index(current), animate=False)
            finally:
                self._refilling = False
            self._shown_keys = keys
            self._shown_cells = {key: cells for key, _, cells, _ in rows}
        self.show_status()

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        if new != old and not self._refilling:
            self.cursor_chosen = True

    def _update_row(self, key: str, cells: tuple[Any, ...], repaint: bool = True) -> None:
        """Update the cells of a shown row that differ from what it shows.

        Args:
            key: The row's key.
            cells: Its cells now.
            repaint: Repaint the row; False when the caller repaints the table.
        """
        previous = self._shown_cells.get(key)
        if previous == cells:
            return
        for column, cell, old in zip(self._column_keys, cells, previous or (), strict=False):
            if cell != old:
                self.update_cell(key, column, cell, update_width=True, repaint=repaint)
        self._shown_cells[key] = cells

    def show_status(self) -> None:
        """Put `describe()` in the border, repainting only when it changed.

        Setting a border title repaints the whole table, even to the same text:
        on a big fleet that was most of the cost of one changed row.
        """
        status = self.describe()
        if status != self._status_shown:
            self._status_shown = status
            self.border_subtitle = status

    def describe(self) -> str:
        """A short status: counts, filter, marks."""
        parts = [f"{self.row_count}/{len(self.records)}"]
        if self.host_filter is not None:
            parts.append(f"host {self.host_filter}")
        if self.filter_text:
            parts.append(f"filter /{self.filter_text}")
        if self.marks:
            parts.append(f"{len(self.marks)} marked")
        return "  ".join(parts)

    def set_filter(self, text: str) -> None:
        """Keep only rows matching `text` (regex; `!` inverts); empty clears."""
        self.filter_text = text
        self.rebuild()

    def set_host_filter(self, host: str | None) -> None:
        """Keep only the rows of `host`; None shows every host."""
        self.host_filter = host
        self.rebuild()

    def action_host_filter(self, number: int) -> None:
        self.post_message(self.HostFilterRequested(self, number))

    # --- cursor and marks ---------------------------------------------------

    def current_key(self) -> str | None:
        """Key of the row under the cursor, if any."""
        if self.row_count == 0:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # the cursor can point past a table that just shrank
            return None

    def selected(self) -> list[tuple[str, Any]]:
        """The marked rows, or else the row under the cursor."""
        keys = [key for key, _ in self.visible() if key in self.marks]
        if not keys and (current := self.current_key()) is not None:
            keys = [current]
        return [(key, self.records[key]) for key in keys if key in self.records]

    def action_toggle_mark(self) -> None:
        key = self.current_key()
        if key is None:
            return
        self.marks ^= {key}
        self.update_cell(key, "_mark", MARK if key in self.marks else "")
        self.show_status()
        if self.cursor_row < self.row_count - 1:
            self.move_cursor(row=self.cursor_row + 1)

    def action_sort_next(self) -> None:
        self.sort_column = (self.sort_column + 1) % len(self.COLUMNS)
        self.notify(f"sorted by {self.COLUMNS[self.sort_column].label}", timeout=1.5)
        self._show_sort()
        self.rebuild()

    def action_sort_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._show_sort()
        self.rebuild()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "host_filter" and not self.BY_HOST:
            return False
        return not (self.readonly and self.mutates(action, parameters))

    def mutates(self, action: str, parameters: tuple[object, ...]) -> bool:
        """Whether a Textual action of this view changes something (read-only refuses it)."""
        return action in self.MUTATING_ACTIONS or is_mutating(action, parameters)

    def refused(self) -> bool:
        """In read-only mode, say so and return True (the key is hidden already)."""
        if self.readonly:
            self.notify("read-only: changes are disabled", severity="error")
        return self.readonly

    def action_request_action(self, action_id: str) -> None:
        if self.refused():  # check_action already hides it; belt and braces
            return
        rows = self.selected()
        if rows:
            self.post_message(self.ActionRequested(self, action_id, rows))

    def action_inspect(self) -> None:
        key = self.current_key()
        if key is not None and key in self.records:
            self.post_message(self.InspectRequested(self, key, self.records[key]))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value
        if key in self.records:
            self.post_message(self.Drill(self, key, self.records[key]))
