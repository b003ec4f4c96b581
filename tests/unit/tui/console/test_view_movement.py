"""k9s movement in the resource views, number keys for hosts, the sort arrow (issue 12)."""

from __future__ import annotations

from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.screens.modals import TextScreen
from corral.tui.console.views.containers import ContainersView
from tests.support import fleet_data
from tests.support.still_console import SIZE, feed
from tests.support.still_data import StillData


def still_app() -> CorralApp:
    """The console on the made-up fleet (nothing connects)."""
    specs = tuple(HostSpec(name, SshTarget("127.0.0.1", "root", 9), labels=labels)
                  for name, (_, labels) in fleet_data.HOSTS.items())
    return CorralApp(Inventory(hosts=specs), SshSettings(), Config(),
                     data=StillData())  # type: ignore[arg-type]


def heading(view: ContainersView, key: str) -> str:
    return next(c.label.plain for c in view.columns.values() if c.key.value == key)


async def test_j_k_g_G_home_end_and_pages_move_the_cursor() -> None:
    app = still_app()
    async with app.run_test(size=SIZE) as pilot:
        await feed(pilot)
        view = app.screen.query_one(ContainersView)
        view.focus()
        last = view.row_count - 1
        assert view.cursor_row == 0
        for key, row in [("j", 1), ("j", 2), ("k", 1), ("G", last), ("g", 0), ("end", last),
                         ("home", 0)]:
            await pilot.press(key)
            assert view.cursor_row == row, key
        await pilot.press("pagedown")
        assert view.cursor_row > 0
        await pilot.press("pageup")
        assert view.cursor_row == 0


async def test_number_keys_keep_one_inventory_host() -> None:
    app = still_app()
    async with app.run_test(size=SIZE) as pilot:
        await feed(pilot)
        view = app.screen.query_one(ContainersView)
        view.focus()
        everything = view.row_count
        await pilot.press("2")
        assert {record.host for _, record in view.visible()} == {"lab2"}
        assert view.row_count == len(fleet_data.containers()["lab2"])
        assert "host lab2" in str(view.border_subtitle)
        await pilot.press("3")
        assert {record.host for _, record in view.visible()} == {"lab3"}
        await pilot.press("9")  # no ninth host: nothing changes, and it says so
        assert {record.host for _, record in view.visible()} == {"lab3"}
        assert any("no host 9" in n.message for n in app._notifications)
        await pilot.press("0")
        assert view.row_count == everything
        # The other views filter by host too.
        await pilot.press("colon", *"events", "enter")
        await pilot.press("1")
        events = app.screen.query_one("#events")
        assert {record.host for _, record in events.visible()} == {"lab1"}


async def test_the_sort_column_shows_an_arrow() -> None:
    app = still_app()
    async with app.run_test(size=SIZE) as pilot:
        await feed(pilot)
        view = app.screen.query_one(ContainersView)
        view.focus()
        assert heading(view, "host") == "HOST ▲"
        assert heading(view, "name") == "NAME"
        await pilot.press("O")
        assert heading(view, "host") == "HOST ▼"
        await pilot.press("o")
        assert heading(view, "host") == "HOST"
        assert heading(view, "name") == "NAME ▼"
        await pilot.pause()
        header = "".join(segment.text for segment in view.render_line(0))
        assert "NAME ▼" in header and "HOST ▲" not in header and "HOST ▼" not in header
        await pilot.press("colon", *"events", "enter")
        events = app.screen.query_one("#events")
        assert next(c.label.plain for c in events.columns.values()
                    if c.key.value == "time") == "TIME ▼"


async def test_movement_and_host_keys_are_in_help() -> None:
    app = still_app()
    async with app.run_test(size=SIZE) as pilot:
        await feed(pilot)
        app.screen.query_one(ContainersView).focus()
        await pilot.press("question_mark")
        assert isinstance(app.screen, TextScreen)
        ids = app.screen.body.columns[2]._cells
        for binding_id in ("view.down", "view.up", "view.top", "view.bottom", "view.page_up",
                           "view.page_down", "view.host_1", "view.host_9", "view.all_hosts"):
            assert binding_id in ids
