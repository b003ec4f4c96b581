"""Keys in and around the catalog form: what `q`, Tab, `?`, `:` and escape do (Pilot, no hosts).

Issue 12, items 3, 6, 13 and 14: a key must do what the footer and `?` say, a
keystroke must reach the field that has the focus, and typed answers are never
lost without a question.
"""

from __future__ import annotations

from textual import events
from textual.keys import _character_to_key
from textual.widgets import Button, Footer, Input, Static, Switch
from textual.widgets.input import Selection

from corral.backends.inventory.load import Inventory
from corral.backends.logs.target import LogTarget
from corral.backends.ssh.connect import SshSettings
from corral.catalog.loader import load_catalogs
from corral.tui.app import CorralApp
from corral.tui.console.keys_help import binding_rows
from corral.tui.console.screens.catalog import CatalogEntryScreen, CatalogScreen
from corral.tui.console.screens.catalog_form import CatalogForm, CatalogFormScreen
from corral.tui.console.screens.console import ConsoleScreen
from corral.tui.console.screens.modals import ConfirmScreen, TextScreen
from corral.tui.console.widgets.keys_footer import KeysFooter
from corral.tui.console.widgets.logs.view import LogPane
from corral.tui.console.widgets.question_field import QuestionField
from tests.support.catalog_pilot import PASSWORD, form_app, form_shown
from tests.support.log_pane import SOURCES
from tests.support.pilot import until


def console_app() -> CorralApp:
    return CorralApp(Inventory(hosts=()), SshSettings())


async def open_form(pilot, entry_id: str = "webrtc-demo") -> CatalogForm:
    """The console with the questions form of a built-in entry pushed over it."""
    await until(pilot, lambda: any(isinstance(s, ConsoleScreen) for s in pilot.app.screen_stack),
                "the console")
    entry = load_catalogs([]).find(entry_id)
    pilot.app.push_screen(CatalogFormScreen(entry, entry.find_version(None)))
    return await form_shown(pilot)


async def focus_text(pilot, field: QuestionField) -> None:
    """Focus a text field and wait until its Input has handled the focus (selecting its
    text): a key bound on the Input (`end`) runs at once, so on a loaded machine it could
    run ahead of that queued focus, whose selection the next typed key then replaced."""
    control = field.control
    assert isinstance(control, Input)
    control.focus()
    await until(pilot, lambda: control.has_focus
                and control.selection == Selection(0, len(control.value)), "the focus")


def error_of(field: QuestionField) -> str:
    widget = field.query_one(".error", Static)
    return str(widget.render()) if widget.display else ""


def type_fast(app, keys: list[str]) -> None:
    """Post every key at once, as a terminal delivers a burst of typing: no pause between."""
    for key in keys:
        name = key if len(key) > 1 else _character_to_key(key)
        app.post_message(events.Key(name, key if len(key) == 1 else None))


def help_rows(app) -> list[tuple[str, str, str]]:
    table = app.screen.body
    return list(zip(*(map(str, column._cells) for column in table.columns[:3]), strict=True))


# --- item 3: q inside a form --------------------------------------------------------------


async def test_q_in_the_form_is_text_or_nothing() -> None:
    app = console_app()
    async with app.run_test(size=(120, 50)) as pilot:
        form = await open_form(pilot)
        shipper = form.fields["ENABLE_LOG_SHIPPER"].control
        assert isinstance(shipper, Switch)
        shipper.focus()
        await pilot.press("q")
        assert app.return_code is None and isinstance(app.screen, CatalogFormScreen)
        form.query_one("#preview", Button).focus()
        await pilot.press("q")
        assert app.return_code is None and isinstance(app.screen, CatalogFormScreen)
        room = form.fields["ROOM_NAME"].control
        room.focus()
        await pilot.press("end", "q")
        assert form.fields["ROOM_NAME"].value == "lobbyq"
        # Nor does the form's help or footer offer it.
        shipper.focus()
        await pilot.press("f1")
        assert isinstance(app.screen, TextScreen)
        assert "app.quit" not in [row[2] for row in help_rows(app)]


async def test_leaving_a_form_with_typed_answers_asks_first() -> None:
    app = console_app()
    async with app.run_test(size=(120, 50)) as pilot:
        form = await open_form(pilot)
        await pilot.press("escape")  # nothing typed: leaves at once
        assert isinstance(app.screen, ConsoleScreen)

        form = await open_form(pilot)
        await focus_text(pilot, form.fields["ROOM_NAME"])
        await pilot.press("end", *"-2")
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmScreen)
        assert "not saved" in str(app.screen.query_one("#question").render())
        await pilot.press("n")
        assert isinstance(app.screen, CatalogFormScreen)
        assert form.fields["ROOM_NAME"].value == "lobby-2"

        await pilot.press("ctrl+q")  # quitting asks too
        assert isinstance(app.screen, ConfirmScreen) and app.return_code is None
        await pilot.press("n")
        assert isinstance(app.screen, CatalogFormScreen) and app.return_code is None

        form.fields["ENABLE_LOG_SHIPPER"].control.focus()  # `:` works where it is not text
        await pilot.press("colon", *"hosts", "enter")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen), "the console")
        assert app.screen.query_one("#views").current == "hosts"


async def test_saved_answers_leave_without_a_question(tmp_path) -> None:
    app = console_app()
    async with app.run_test(size=(120, 50)) as pilot:
        form = await open_form(pilot)
        form.query_one("#answers-path", Input).value = str(tmp_path / "a.yaml")
        form.fields["ROOM_NAME"].control.value = "standup"
        await pilot.press("ctrl+s")
        await pilot.press("escape")
        assert isinstance(app.screen, ConsoleScreen)


# --- item 6: every keystroke reaches the focused field ---------------------------------------


async def test_keys_typed_fast_after_tab_reach_the_next_field() -> None:
    app = console_app()
    async with app.run_test(size=(120, 50)) as pilot:
        form = await open_form(pilot)
        password = form.fields["KV_PASSWORD"].control
        form.fields["KV_SERVICE"].control.focus()
        await pilot.pause()
        # End, Backspace and Tab run through bindings; the letters are taken by the field.
        type_fast(app, ["end", "x", "y", "backspace", "tab", *PASSWORD, "tab", "shift+tab",
                        "end", "left", "!"])
        await until(pilot, lambda: "!" in form.fields["KV_PASSWORD"].value,
                    "every key to be handled")
        await pilot.pause()
        assert form.fields["KV_SERVICE"].value == "kvx"
        assert form.fields["KV_PASSWORD"].value == PASSWORD[:-1] + "!" + PASSWORD[-1]
        assert app.focused is password


async def test_a_paste_lands_after_the_keys_typed_before_it() -> None:
    app = console_app()
    async with app.run_test(size=(120, 50)) as pilot:
        form = await open_form(pilot)
        await focus_text(pilot, form.fields["ROOM_NAME"])  # selects "lobby"
        type_fast(app, ["end", "-"])
        app.post_message(events.Paste("two"))
        await until(pilot, lambda: "two" in form.fields["ROOM_NAME"].value, "the paste")
        await pilot.pause()
        assert form.fields["ROOM_NAME"].value == "lobby-two"


async def test_a_key_whose_widget_goes_away_holds_back_nothing() -> None:
    app = console_app()
    async with app.run_test(size=(120, 50)) as pilot:
        form = await open_form(pilot)
        room = form.fields["ROOM_NAME"].control
        room.focus()
        await pilot.pause()
        type_fast(app, ["escape", "end", *"-x"])  # escape leaves the form (nothing typed)
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen), "the console")
        await pilot.pause()
        await pilot.press("colon", *"hosts", "enter")
        assert app.screen.query_one("#views").current == "hosts"


async def test_an_integer_field_keeps_what_is_typed_and_says_why_it_is_refused() -> None:
    async with form_app().run_test(size=(120, 50)) as pilot:
        form = await form_shown(pilot)
        field = form.fields["SIGNAL_SCALE"]
        field.control.value = ""
        field.control.focus()
        await pilot.press(*"1.5")
        assert field.value == "1.5"
        assert error_of(field) == "must be a whole number"
        assert field.control.has_class("-invalid")
        await pilot.press("ctrl+g")
        assert pilot.app.plans == []


# --- item 13: help and footer ---------------------------------------------------------------


async def test_help_lists_each_key_once_as_the_user_types_it() -> None:
    app = console_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for view in ("ps", "stacks", "hosts"):
            await pilot.press("colon", *view, "enter")
            await pilot.press("question_mark")
            assert isinstance(app.screen, TextScreen)
            keys = [key for row in help_rows(app) for key in row[0].split(",")]
            assert len(keys) == len(set(keys)), f"{view}: {sorted(keys)}"
            assert "bar" not in keys and "|" in keys and "_" in keys
            await pilot.press("escape")
        await pilot.press("colon", *"stacks", "enter", "question_mark")
        rows = {row[2]: row[0] for row in help_rows(app)}
        assert rows["stacks.scale_down"] == "-" and rows["console.stacked"] == "_"


async def test_help_in_a_log_pane_lists_slash_q_and_escape_once() -> None:
    app = console_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await until_console(pilot)
        pane = LogPane(None, LogTarget("service", "shop", service="cart"), follow=False)
        await screen.workspace.add_pane(pane, "logs shop/cart", False)
        pane.use_sources(SOURCES)
        await pilot.pause()
        focused = app.focused
        assert focused is not None and pane in focused.ancestors_with_self
        rows = binding_rows(focused, app)
        keys = [key for row in rows for key in row[0].split(",")]
        assert len(keys) == len(set(keys)), sorted(keys)
        for key in ("/", "q", "esc"):
            assert keys.count(key) == 1, key
        assert "app.quit" not in [row[2] for row in rows]  # q is the pane's, never "quit"


async def test_vertical_line_and_underscore_choose_where_panes_open() -> None:
    app = console_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await until_console(pilot)
        await pilot.press("underscore")
        assert screen.stacked
        await pilot.press("vertical_line")
        assert not screen.stacked


async def until_console(pilot) -> ConsoleScreen:
    await until(pilot, lambda: isinstance(pilot.app.screen, ConsoleScreen), "the console")
    return pilot.app.screen


async def test_the_help_key_shows_in_every_footer_at_100_columns() -> None:
    app = console_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until_console(pilot)
        for view in ("ps", "stacks", "hosts"):
            await pilot.press("colon", *view, "enter")
            await pilot.pause()
            assert "? Help" in footer_line(app), view
        await pilot.press("colon", *"catalog", "enter")
        await until(pilot, lambda: isinstance(app.screen, CatalogScreen), "the catalog")
        await pilot.pause()
        assert "? Help" in footer_line(app)
        await open_form(pilot)
        await pilot.pause()
        assert "f1 Help" in footer_line(app)


def footer_line(app) -> str:
    """The keys the footer shows within the screen's width."""
    footer = app.screen.query_one(Footer)
    return " ".join(
        f"{key.key_display} {key.description}".strip() for key in footer.query("FooterKey")
        if key.region.right <= app.size.width and key.region.width > 0
    )


async def test_question_mark_is_text_in_a_field_and_f1_is_help() -> None:
    app = console_app()
    async with app.run_test(size=(120, 50)) as pilot:
        form = await open_form(pilot)
        await focus_text(pilot, form.fields["ROOM_NAME"])
        await pilot.press("end", "question_mark")
        assert form.fields["ROOM_NAME"].value == "lobby?"
        assert isinstance(app.screen, CatalogFormScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, TextScreen)
        rows = {row[2]: row[0] for row in help_rows(app)}
        assert "catalog_form.plan" in rows and "form.next" in rows
        # In a text field, ? and : are text: the help does not offer them there.
        assert rows["catalog_form.help"] == "f1" and "console.command" not in rows


async def test_colon_switches_views_from_the_catalog_screens() -> None:
    app = console_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until_console(pilot)
        await pilot.press("colon", *"catalog", "enter")
        await until(pilot, lambda: isinstance(app.screen, CatalogScreen), "the catalog")
        await pilot.press("colon", *"stacks", "enter")
        await until_console(pilot)
        assert app.screen.query_one("#views").current == "stacks"

        await pilot.press("colon", *"catalog", "enter")
        await until(pilot, lambda: isinstance(app.screen, CatalogScreen), "the catalog")
        entry = load_catalogs([]).find("web")
        app.push_screen(CatalogEntryScreen(entry))
        await until(pilot, lambda: isinstance(app.screen, CatalogEntryScreen), "the entry")
        await pilot.press("colon", *"ev", "enter")
        await until_console(pilot)
        assert app.screen.query_one("#views").current == "events"
        assert len(app.screen_stack) == 2  # the catalog screens are gone, not hidden


# --- item 14: preview and plan with bad answers ---------------------------------------------


def status_shown(app) -> str:
    """The form's status line if it is on screen, else ""."""
    status = app.screen.query_one("#form-status", Static)
    region = status.region
    visible = status.display and region.height > 0 and app.screen.region.contains_region(region)
    return str(status.render()) if visible else ""


async def test_preview_with_bad_answers_focuses_the_first_and_says_so_at_the_top() -> None:
    app = console_app()
    async with app.run_test(size=(100, 30)) as pilot:
        form = await open_form(pilot)
        form.fields["SIGNAL_SCALE"].control.value = "99"
        preview = form.query_one("#preview", Button)
        preview.focus()
        form.scroll_end(animate=False)
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CatalogFormScreen)
        first_bad = form.fields["SIGNAL_SCALE"].control
        assert app.focused is first_bad
        shown = status_shown(app)
        assert "Fix 2 answers" in shown and "Signalling containers: must be at most 10" in shown
        assert first_bad.region.height > 0 and app.screen.region.contains_region(
            first_bad.region)

        form.fields["SIGNAL_SCALE"].control.value = "3"
        form.scroll_end(animate=False)
        await pilot.pause()
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert app.focused is form.fields["KV_PASSWORD"].control
        assert "Fix 1 answer" in status_shown(app)


async def test_the_footer_is_rebuilt_once_per_change_of_keys_and_not_for_the_same_keys(
        monkeypatch) -> None:
    app = console_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await until_console(pilot)
        await pilot.pause()
        footer = screen.query_one(KeysFooter)
        rebuilt: list[str] = []
        recompose = footer.recompose

        async def counting():
            rebuilt.append(footer_line(app))
            await recompose()

        monkeypatch.setattr(footer, "recompose", counting)
        for _ in range(3):  # the same keys announced again (a focus coming back, a resume)
            screen.bindings_updated_signal.publish(screen)
        await pilot.pause()
        assert rebuilt == []
        # Other keys: the command line's, then the stacks view's; a rebuild each.
        await pilot.press("colon", *"stacks", "enter")
        await pilot.pause()
        await pilot.pause()
        assert len(rebuilt) == 2
        assert "? Help" in footer_line(app)
