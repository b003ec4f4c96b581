"""A view given records of which a few were replaced updates only their rows when none
moves, and redraws (filters, sorts) otherwise (issue 17: a drain at 2,000 rows)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from textual.app import App, ComposeResult

from corral.tui.console.views.base import Column, ResourceView


@dataclass(frozen=True)
class Item:
    name: str
    state: str
    host: str = "lab1"


class ItemsView(ResourceView):
    NAME = "items"
    COLUMNS = (Column("name", "NAME"), Column("state", "STATE"))
    #: Set from outside, like the containers view's stale hosts.
    suffix = ""

    def cells(self, record: Item) -> tuple[Any, ...]:
        return (record.name, record.state + self.suffix)

    def shown_inputs(self) -> Any:
        return self.suffix


class ItemsApp(App):
    def compose(self) -> ComposeResult:
        yield ItemsView()


ITEMS = {f"i{n:02}": Item(f"item-{n:02}", "running") for n in range(20)}


def shown(view: ItemsView) -> list[tuple[str, str]]:
    """(name, state) of every row, in the table's order."""
    return [(str(view.get_row_at(index)[1]), str(view.get_row_at(index)[2]))
            for index in range(view.row_count)]


def counting_redraws(view: ItemsView) -> list[int]:
    """A list that grows by one each time the view filters and sorts every record."""
    calls: list[int] = []
    rows = view._rows

    def counted():
        calls.append(1)
        return rows()

    view._rows = counted  # type: ignore[method-assign]
    return calls


async def test_a_replaced_record_that_keeps_its_place_updates_its_row_alone() -> None:
    async with ItemsApp().run_test() as pilot:
        view = pilot.app.query_one(ItemsView)
        view.set_records(dict(ITEMS))
        await pilot.pause()
        redraws = counting_redraws(view)
        records = {**ITEMS, "i03": replace(ITEMS["i03"], state="exited")}
        view.set_records(records)
        assert redraws == []
        assert shown(view)[3] == ("item-03", "exited")
        assert shown(view) == [(r.name, r.state) for r in records.values()]

        # The same record again, or an equal copy: nothing to do, nothing redrawn.
        view.set_records(dict(records))
        view.set_records({**records, "i05": replace(records["i05"])})
        assert redraws == [] and shown(view)[5] == ("item-05", "running")


async def test_a_replaced_record_that_moves_or_leaves_redraws_every_row() -> None:
    async with ItemsApp().run_test() as pilot:
        view = pilot.app.query_one(ItemsView)
        view.sort_column = 1  # by state
        view.set_records(dict(ITEMS))
        await pilot.pause()
        redraws = counting_redraws(view)
        records = {**ITEMS, "i07": replace(ITEMS["i07"], state="exited")}
        view.set_records(records)
        assert redraws == [1]
        assert shown(view)[0] == ("item-07", "exited")  # sorted before "running"

        view.set_filter("!exited")
        records = {**records, "i02": replace(records["i02"], state="exited")}
        view.set_records(records)
        assert ("item-02", "running") not in shown(view) and view.row_count == 18

        # A record the filter hid comes back.
        view.set_records({**records, "i02": ITEMS["i02"]})
        assert ("item-02", "running") in shown(view) and view.row_count == 19


async def test_what_the_owner_set_besides_the_records_redraws_every_row() -> None:
    async with ItemsApp().run_test() as pilot:
        view = pilot.app.query_one(ItemsView)
        view.set_records(dict(ITEMS))
        await pilot.pause()
        view.suffix = " (stale)"
        view.set_records({**ITEMS, "i01": replace(ITEMS["i01"], state="exited")})
        assert {state for _, state in shown(view)} == {"running (stale)", "exited (stale)"}


async def test_a_hidden_view_defers_the_rows_until_shown() -> None:
    async with ItemsApp().run_test() as pilot:
        view = pilot.app.query_one(ItemsView)
        view.set_records(dict(ITEMS))
        await pilot.pause()
        view.display = False
        view.set_records({**ITEMS, "i04": replace(ITEMS["i04"], state="exited")})
        assert shown(view)[4] == ("item-04", "running")
        view.display = True
        view.catch_up()
        assert shown(view)[4] == ("item-04", "exited")


async def test_rows_arriving_above_leave_an_untouched_cursor_at_the_top() -> None:
    """The fastest host's rows come first; the others' sort above them. Until the cursor
    is moved the view stays at the top; after, the cursor keeps its row."""
    late = {f"a{n:02}": Item(f"a-{n:02}", "running", host="lab1") for n in range(40)}
    first = {key: replace(item, host="lab9") for key, item in ITEMS.items()}
    async with ItemsApp().run_test(size=(60, 12)) as pilot:
        view = pilot.app.query_one(ItemsView)
        view.focus()
        view.set_records(dict(first))
        await pilot.pause()
        view.set_records({**first, **late})
        await pilot.pause()
        assert (view.cursor_row, view.scroll_y) == (0, 0)
        assert view.current_key() == "a00"

        await pilot.press("x")  # a key that moves nothing chooses nothing
        view.set_records({**first, **late, "Z": Item("0-first", "running", host="lab0")})
        await pilot.pause()
        assert view.current_key() == "Z"

        await pilot.press("down")  # now the row under the cursor is the user's
        view.set_records({**first, **late, "Z": Item("0-first", "running", host="lab0"),
                          "Y": Item("0-before", "running", host="lab0")})
        await pilot.pause()
        assert view.current_key() == "a00" and view.cursor_row == 2


async def test_a_cursor_the_code_moved_stays_on_its_row() -> None:
    async with ItemsApp().run_test(size=(60, 12)) as pilot:
        view = pilot.app.query_one(ItemsView)
        view.set_records(dict(ITEMS))
        await pilot.pause()
        view.move_cursor(row=5)
        view.set_records({**ITEMS, "a": Item("0-first", "running")})
        await pilot.pause()
        assert view.current_key() == "i05" and view.cursor_row == 6
