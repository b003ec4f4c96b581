"""Tables show whole cells even when the screen paints before the table's idle."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region

from corral.tui.console.widgets.measured_table import MeasuredTable

WIDTH = 80


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield MeasuredTable()

    def on_mount(self) -> None:
        table = self.query_one(MeasuredTable)
        table.add_column("TAGS", key="tags")
        table.add_column("ID", key="id")


async def filled(app: TableApp, pilot, count: int, ids=lambda n: "12.5%") -> MeasuredTable:
    """The table with `count` rows (`tag-NNN`, `ids(n)`), after its idle."""
    table = app.query_one(MeasuredTable)
    for n in range(count):
        table.add_row(f"tag-{n:03}", ids(n), key=str(n))
    await pilot.pause()
    return table


def painted(table: MeasuredTable, lines: int = 3) -> list[str]:
    """The table's first lines as text, as the screen would paint them now."""
    return [strip.text for strip in table.render_lines(Region(0, 0, WIDTH, lines))]


async def test_first_paint_before_idle_has_the_full_cells() -> None:
    app = TableApp()
    async with app.run_test(size=(WIDTH, 10)) as pilot:
        table = app.query_one(MeasuredTable)
        table.clear()
        table.add_row(Text("corral-lab/web:1"), "0123", key="a")
        painted(table)  # a paint that comes before the table's own idle
        await pilot.pause()
        header, row = painted(table)[:2]
        assert header.split() == ["TAGS", "ID"]
        assert header.index("ID") == row.index("0123")
        assert "corral-lab/web:1" in row


async def test_refill_shrinks_columns_and_updates_widen_them() -> None:
    app = TableApp()
    async with app.run_test(size=(WIDTH, 10)) as pilot:
        table = app.query_one(MeasuredTable)
        table.add_row("a-rather-long-tag", "1", key="a")
        table.clear()
        table.add_row("short", "1", key="b")
        assert table.columns["tags"].content_width == len("short")
        table.update_cell("b", "id", Text("a wider id"), update_width=True)
        painted(table)
        await pilot.pause()
        header, row = painted(table)[:2]
        assert header.index("ID") == row.index("a wider id")
        assert table.columns["id"].content_width == len("a wider id")


async def test_a_narrower_cell_shrinks_its_column_before_the_paint() -> None:
    app = TableApp()
    async with app.run_test(size=(WIDTH, 10)) as pilot:
        table = app.query_one(MeasuredTable)
        table.add_row("a-rather-long-tag", "1", key="a")
        table.add_row("mid-size", "2", key="b")
        await pilot.pause()
        table.update_cell("a", "tags", "tiny", update_width=True)
        table.fit_narrowed()
        assert table.columns["tags"].content_width == len("mid-size")
        painted(table)
        await pilot.pause()
        table.move_cursor(row=1)
        await pilot.pause()
        header, first, second = painted(table)
        assert header.index("ID") == first.index("1") == second.index("2")


async def test_updated_cells_leave_no_column_measuring_to_the_data_table() -> None:
    app = TableApp()
    async with app.run_test(size=(WIDTH, 10)) as pilot:
        table = await filled(app, pilot, 50)
        table.update_cell("3", "id", "3.1%", update_width=True)  # narrower than its column
        table.update_cell("4", "id", "100.0%", update_width=True)  # wider
        assert table._updated_cells == set()  # DataTable would re-measure the column per cell
        assert table.columns["id"].content_width == len("100.0%")
        table.update_cell("4", "id", "9.9%", update_width=True)
        table.fit_narrowed()
        assert table.columns["id"].content_width == len("12.5%")
        await pilot.pause()
        header, row = painted(table, 2)
        assert header.index("ID") == row.index("12.5%")


async def test_only_a_cell_as_wide_as_its_column_has_the_column_measured_again() -> None:
    app = TableApp()
    async with app.run_test(size=(WIDTH, 10)) as pilot:
        table = await filled(app, pilot, 50, lambda n: "100.0%" if n == 7 else "12.5%")
        table.update_cell("3", "id", "3.1%", update_width=True)  # the widest is elsewhere
        assert table._narrowed == set()
        table.update_cell("7", "id", "9.9%", update_width=True)  # the widest narrows
        assert table._narrowed == {"id"}
        table.fit_narrowed()
        assert table.columns["id"].content_width == len("12.5%")


async def test_updating_every_row_does_not_walk_the_table_per_cell(monkeypatch) -> None:
    app = TableApp()
    async with app.run_test(size=(WIDTH, 10)) as pilot:
        table = await filled(app, pilot, 300, lambda n: "1m")
        walks: list[int] = []
        original = MeasuredTable._get_row_region

        def counting(self, row_index):
            walks.append(row_index)
            return original(self, row_index)

        monkeypatch.setattr(MeasuredTable, "_get_row_region", counting)
        repainted: list[Region] = []
        refresh = table.refresh
        monkeypatch.setattr(table, "refresh", lambda *regions, **kw: (
            repainted.extend(regions), refresh(*regions, **kw))[1])
        for n in range(300):  # SINCE moving on every row: one pass over the table each before
            table.update_cell(str(n), "id", "2m")
        assert walks == []
        # One line per row on screen; rows below the window repaint nothing.
        lines = [region.y for region in repainted if region.height == 1]
        assert len(lines) == len(repainted) == table.size.height - table.header_height
        assert lines == list(range(table.header_height, table.size.height))
        await pilot.pause()
        assert "2m" in painted(table, 2)[1]
