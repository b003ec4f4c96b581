"""Console keys without hosts: command line, palette, help, keymap, read-only."""

from __future__ import annotations

from corral.backends.inventory.load import Inventory
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.screens.modals import TextScreen
from corral.tui.console.views.base import ResourceView
from corral.tui.console.widgets.command_line import CommandLine
from tests.support.pilot import until


def app_with(config: Config | None = None) -> CorralApp:
    return CorralApp(Inventory(hosts=()), SshSettings(), config)


def current(app: CorralApp) -> str:
    return app.screen.query_one("#views").current


async def test_colon_switches_views_by_name_and_alias() -> None:
    app = app_with()
    async with app.run_test() as pilot:
        for typed, expected in [("hosts", "hosts"), ("vol", "volumes"), ("ps", "containers"),
                                ("img", "images"), ("ev", "events"), ("st", "stacks")]:
            await pilot.press("colon", *typed, "enter")
            assert current(app) == expected
        await pilot.press("colon", *"nonsense", "enter")
        assert current(app) == "stacks"
        assert any("unknown command" in n.message for n in app._notifications)


async def test_no_hosts_opens_on_the_hosts_view_where_a_adds_one() -> None:
    app = app_with()
    async with app.run_test() as pilot:
        assert current(app) == "hosts"
        await pilot.press("a")
        assert type(app.screen).__name__ == "AddHostScreen"


async def test_escape_goes_back_through_the_views() -> None:
    app = app_with()
    async with app.run_test() as pilot:
        await pilot.press("colon", *"ps", "enter")
        await pilot.press("colon", *"hosts", "enter")
        await pilot.press("colon", *"images", "enter")
        await pilot.press("escape")
        assert current(app) == "hosts"
        await pilot.press("escape")
        assert current(app) == "containers"


async def test_command_line_completes_view_names() -> None:
    app = app_with()
    async with app.run_test() as pilot:
        await pilot.press("colon", *"vol")
        line = app.screen.query_one(CommandLine)
        await until(pilot, lambda: line._suggestion == "volumes", "the suggestion 'volumes'")
        await pilot.press("right", "enter")
        assert current(app) == "volumes"
        await pilot.press("colon", *"im")
        await until(pilot, lambda: line._suggestion == "images", "the suggestion 'images'")
        await pilot.press("tab", "enter")
        assert current(app) == "images"


async def test_help_lists_bindings_with_ids() -> None:
    app = app_with()
    async with app.run_test() as pilot:
        await pilot.press("colon", *"ps", "enter")
        await pilot.press("question_mark")
        assert isinstance(app.screen, TextScreen)
        ids = app.screen.body.columns[2]._cells
        for binding_id in ("containers.logs", "container.stop", "console.filter", "view.mark"):
            assert binding_id in ids


async def test_keymap_from_config_remaps_a_binding() -> None:
    app = app_with(Config(keymap={"console.help": "f1,ctrl+x"}))
    async with app.run_test() as pilot:
        await pilot.press("question_mark")
        assert not isinstance(app.screen, TextScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, TextScreen)
        # The help names the key that works, not the default one.
        table = app.screen.body
        row = table.columns[2]._cells.index("console.help")
        assert str(table.columns[0]._cells[row]) == "f1,^x"


async def test_readonly_hides_every_mutating_binding() -> None:
    app = app_with(Config(readonly=True))
    async with app.run_test() as pilot:
        assert "READ-ONLY" in app.title
        await pilot.press("a")
        assert type(app.screen).__name__ != "AddHostScreen"
        await pilot.press("colon", *"ps", "enter")
        view = app.screen.query_one("#containers", ResourceView)
        for action_id in ("container.start", "container.stop", "container.remove"):
            assert view.check_action("request_action", (action_id,)) is False
        await pilot.press("question_mark")
        ids = app.screen.body.columns[2]._cells
        assert "container.stop" not in ids and "containers.logs" in ids


async def test_palette_offers_the_views() -> None:
    app = app_with()
    async with app.run_test():
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "View volumes" in titles
