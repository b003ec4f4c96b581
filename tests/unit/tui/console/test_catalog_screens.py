"""The `:catalog` view, an entry's detail and the questions form (Pilot, no lab needed)."""

from __future__ import annotations

from pathlib import Path

import yaml
from textual.widgets import Input, Select, Static, Switch, TextArea

from corral.backends.inventory.load import Inventory
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.screens.catalog import CatalogEntryScreen, CatalogScreen
from corral.tui.console.screens.catalog_form import CatalogForm, CatalogFormScreen
from corral.tui.console.screens.modals import TextScreen
from corral.tui.console.views.catalog import VersionsView
from corral.tui.console.widgets.question_field import QuestionField
from tests.support.catalog_pilot import (
    PASSWORD,
    CatalogApp,
    entries_loaded,
    entry_app,
    form_app,
    form_shown,
    readme_shown,
    screen_text,
)
from tests.support.catalog_tree import simple_entry, write_tree
from tests.support.pilot import until


def cells(view, key: str) -> list[str]:
    return [str(cell) for cell in view.get_row(key)]


def error_of(field: QuestionField) -> str:
    widget = field.query_one(".error", Static)
    return str(widget.render()) if widget.display else ""


def status_of(form: CatalogForm) -> str:
    return str(form.query_one("#form-status", Static).render())


# --- the entries list -------------------------------------------------------------------


async def test_list_shows_every_builtin_entry_with_category_version_description() -> None:
    async with CatalogApp().run_test(size=(120, 30)) as pilot:
        view = await entries_loaded(pilot)
        assert set(view.rows) == {"builtin:web", "builtin:webrtc-demo"}
        row = cells(view, "builtin:webrtc-demo")
        assert row[1:] == ["webrtc-demo", "Demo", "1.0.0", "builtin",
                           "A signalling web tier, media workers, a key-value store and a "
                           "log shipper"]
        assert cells(view, "builtin:web")[2:4] == ["Demo", "1.0.0"]


async def test_slash_searches_live_and_escape_clears_then_leaves() -> None:
    async with CatalogApp().run_test(size=(120, 30)) as pilot:
        view = await entries_loaded(pilot, 2)
        await pilot.press("slash", *"signal")
        assert view.row_count == 1 and "builtin:webrtc-demo" in view.rows  # while typing
        await pilot.press("enter")
        assert view.filter_text == "signal" and view.row_count == 1 and view.has_focus
        assert "filter /signal" in view.border_subtitle
        await pilot.press("slash", *"nothing-matches", "escape")
        assert view.filter_text == "signal" and view.row_count == 1  # cancel restores
        await pilot.press("escape")
        assert view.filter_text == "" and view.row_count == 2
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, CatalogScreen)


async def test_help_lists_the_views_keys_with_their_ids() -> None:
    async with CatalogApp().run_test(size=(120, 30)) as pilot:
        await entries_loaded(pilot, 2)
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, TextScreen)
        ids = [str(cell) for cell in pilot.app.screen.body.columns[2].cells]
        assert {"catalog.search", "catalog.back", "catalog.reload", "view.sort"} <= set(ids)
        assert "view.mark" not in ids  # marking means nothing here


async def test_console_catalog_command_lists_config_folders_and_reports_bad_ones(
        tmp_path: Path) -> None:
    extra = write_tree(tmp_path / "ops", simple_entry("extra"))
    missing = tmp_path / "gone"
    config = Config(catalogs=(str(extra), str(missing)))
    app = CorralApp(Inventory(hosts=(), path=tmp_path / "inventory.yaml"), SshSettings(), config)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("colon", *"catalog", "enter")
        view = await entries_loaded(pilot, 3)
        assert "ops:extra" in view.rows and cells(view, "ops:extra")[2] == "Test"
        messages = [n.message for n in app._notifications]
        assert any(str(missing) in m and "not found" in m for m in messages)
        await pilot.press("escape")
        assert not isinstance(app.screen, CatalogScreen)
        await pilot.press("colon", *"catalog ops", "enter")  # `:catalog TEXT` searches
        view = await entries_loaded(pilot, 1)
        assert list(view.rows) == ["ops:extra"] and view.filter_text == "ops"


# --- the entry's detail -------------------------------------------------------------


async def open_entry(pilot, key: str) -> None:
    """Press enter on the entry `key` of the list and wait for its detail."""
    view = await entries_loaded(pilot, 2)
    view.move_cursor(row=view.get_row_index(key))
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, CatalogEntryScreen), "detail")


async def test_detail_shows_readme_versions_and_the_default() -> None:
    async with CatalogApp().run_test(size=(120, 40)) as pilot:
        await open_entry(pilot, "builtin:web")
        readme = await readme_shown(pilot, "A single `corral-lab/web:1` service")
        versions = pilot.app.screen.query_one(VersionsView)
        assert cells(versions, "0")[1:4] == ["0", "1.0.0", "default"]
        assert cells(versions, "1")[1:4] == ["1", "1.1.0", ""]
        assert versions.current_key() == "0"  # the default, not the highest folder
        info = str(pilot.app.screen.query_one("#entry-info", Static).render())
        assert "Web" in info and "builtin:web" in info and "License: MIT" in info
        assert readme.query("MarkdownH1")  # rendered, not shown as source
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, CatalogScreen)


async def test_detail_adds_the_highlighted_versions_readme() -> None:
    async with entry_app("webrtc-demo").run_test(size=(120, 40)) as pilot:
        readme = await readme_shown(pilot, "First release of the WebRTC demo.")
        assert "Every question type appears once" in readme.source
        assert "Version 1.0.0 (folder 0)" in readme.source
        await pilot.press("c")
        await form_shown(pilot)


# --- the questions form -------------------------------------------------------------


async def test_each_question_type_gets_its_widget_under_its_group() -> None:
    async with form_app().run_test(size=(120, 50)) as pilot:
        form = await form_shown(pilot)
        by_type = {f.question.type: f.control for f in form.fields.values()}
        assert set(by_type) == {"string", "int", "boolean", "password", "enum", "multiline",
                                "service", "certificate"}
        assert isinstance(by_type["string"], Input) and not by_type["string"].password
        # A plain Input: an integer Input would drop a "." typed without a word.
        assert isinstance(by_type["int"], Input) and by_type["int"].restrict is None
        assert isinstance(by_type["password"], Input) and by_type["password"].password
        assert isinstance(by_type["boolean"], Switch) and by_type["boolean"].value is True
        assert isinstance(by_type["enum"], Select) and by_type["enum"].value == "info"
        assert isinstance(by_type["multiline"], TextArea)
        assert "Be kind to each other." in by_type["multiline"].text
        for kind in ("service", "certificate"):
            assert isinstance(by_type[kind], Input)
            help_text = str(form.fields[by_kind(form, kind)].query_one(".help").render())
            assert "Rancher environment" in help_text
        groups = [str(s.render()) for s in form.query(".group")]
        assert groups == ["Signalling", "Media", "Key-value store", "Logging",
                          "Answers file (passwords are not saved)"]
        assert form.stack_name == "webrtc-demo"


def by_kind(form: CatalogForm, kind: str) -> str:
    return next(v for v, f in form.fields.items() if f.question.type == kind)


async def test_bad_answers_show_their_message_under_the_field() -> None:
    async with form_app().run_test(size=(120, 50)) as pilot:
        form = await form_shown(pilot)
        fields = form.fields
        assert error_of(fields["KV_PASSWORD"]) == "Key-value password is required"
        assert error_of(fields["ROOM_NAME"]) == ""

        fields["ROOM_NAME"].control.focus()
        await pilot.press("end", *"!X")  # typed, so the check runs on each key
        assert error_of(fields["ROOM_NAME"]) == \
            "contains characters that are not allowed: ! X"
        fields["SIGNAL_SCALE"].control.value = "11"
        fields["PUBLIC_PORT"].control.value = "80"
        fields["MOTD"].control.text = "x" * 501
        fields["ROOM_NAME"].control.value = ""
        await pilot.pause()
        assert error_of(fields["SIGNAL_SCALE"]) == "must be at most 10"
        assert error_of(fields["PUBLIC_PORT"]) == "must be at least 1024"
        assert error_of(fields["MOTD"]) == "must be at most 500 characters long"
        assert error_of(fields["ROOM_NAME"]) == "Room name is required"
        assert fields["SIGNAL_SCALE"].control.has_class("-invalid")

        form.query_one("#stack-name", QuestionField).control.value = "-bad name"
        await pilot.press("ctrl+g")
        assert pilot.app.plans == []
        assert status_of(form) == ("Fix 6 answers marked in red first; the cursor is on the "
                                   "first: Stack name: use letters, digits and -, starting "
                                   "with a letter or digit (at most 63)")
        assert "letters, digits" in error_of(form.query_one("#stack-name", QuestionField))

        fields["SIGNAL_SCALE"].control.value = "3"
        await pilot.pause()
        assert error_of(fields["SIGNAL_SCALE"]) == ""
        assert not fields["SIGNAL_SCALE"].control.has_class("-invalid")


async def test_the_password_is_masked_everywhere() -> None:
    async with form_app().run_test(size=(120, 60)) as pilot:
        form = await form_shown(pilot)
        field = form.fields["KV_PASSWORD"]
        field.control.focus()
        await pilot.press(*"bad 'password")
        assert error_of(field) == "contains characters that are not allowed"
        field.control.value = ""
        await pilot.press(*PASSWORD)
        assert field.value == PASSWORD and error_of(field) == ""
        form.scroll_to_widget(field, animate=False)
        await pilot.pause()
        shown = screen_text(pilot.app)
        assert "Key-value password" in shown and "•" * len(PASSWORD) in shown
        assert PASSWORD not in shown
        await pilot.press("ctrl+g")
        (plan,) = pilot.app.plans
        assert plan.answers.values["KV_PASSWORD"] == PASSWORD  # the data is there…
        assert PASSWORD not in repr(plan.answers) and PASSWORD not in repr(plan.stack)  # …masked
        assert PASSWORD not in status_of(form)


async def test_saved_answers_load_into_a_new_form_without_the_password(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    async with form_app(answers_path=str(path)).run_test(size=(120, 50)) as pilot:
        form = await form_shown(pilot)
        fields = form.fields
        fields["ROOM_NAME"].control.value = "standup"
        fields["SIGNAL_SCALE"].control.value = "4"
        fields["LOG_LEVEL"].control.value = "debug"
        fields["MOTD"].control.text = "line one\nline two"
        fields["ENABLE_LOG_SHIPPER"].control.value = False
        fields["KV_PASSWORD"].control.value = PASSWORD
        await pilot.pause()
        await pilot.press("ctrl+s")
        assert status_of(form) == f"Saved 10 answers to {path} (passwords are not saved)."
    text = path.read_text()
    assert PASSWORD not in text and "KV_PASSWORD" not in text
    assert yaml.safe_load(text)["MOTD"] == "line one\nline two"

    async with form_app(answers_path=str(path)).run_test(size=(120, 50)) as pilot:
        form = await form_shown(pilot)
        assert form.fields["ROOM_NAME"].value == "lobby"
        await pilot.press("ctrl+o")
        values = {k: f.value for k, f in form.fields.items()}
        assert values["ROOM_NAME"] == "standup" and values["SIGNAL_SCALE"] == "4"
        assert values["LOG_LEVEL"] == "debug" and values["MOTD"] == "line one\nline two"
        assert values["ENABLE_LOG_SHIPPER"] == "false" and values["KV_PASSWORD"] == ""
        assert error_of(form.fields["KV_PASSWORD"]) == "Key-value password is required"
        assert status_of(form).startswith(f"Loaded 10 answers from {path}.")


async def test_loading_reports_what_it_could_not_use(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text("LOG_LEVEL: verbose\nNOPE: 1\nROOM_NAME: daily\n")
    async with form_app(answers_path=str(path)).run_test(size=(120, 50)) as pilot:
        form = await form_shown(pilot)
        await pilot.press("ctrl+o")
        assert form.fields["ROOM_NAME"].value == "daily"
        assert form.fields["LOG_LEVEL"].value == "info"
        assert status_of(form) == (f"Loaded 1 answers from {path}. Not loaded: LOG_LEVEL (must "
                                   "be one of: debug, info, warn, error). No such question: NOPE.")
        form.query_one("#answers-path", Input).value = str(tmp_path / "missing.yaml")
        await pilot.press("ctrl+o")
        assert "missing.yaml" in status_of(form) and form.query_one("#form-status").has_class(
            "-error")


async def test_preview_renders_the_stack_with_the_password_masked() -> None:
    async with form_app().run_test(size=(120, 50)) as pilot:
        form = await form_shown(pilot)
        form.fields["KV_PASSWORD"].control.value = PASSWORD
        form.fields["SIGNAL_SCALE"].control.value = "3"
        await pilot.pause()
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(pilot.app.screen, TextScreen), "the preview")
        text = pilot.app.screen.body.code
        stack = yaml.safe_load(text)
        assert stack["name"] == "webrtc-demo" and stack["version"] == "1.0.0"
        services = {s["name"]: s for s in stack["services"]}
        assert {"signal", "media", "kv"} <= set(services)
        assert services["signal"]["scale"] == 3
        assert services["kv"]["environment"]["KV_PASSWORD"] == "********"
        assert PASSWORD not in text and PASSWORD not in screen_text(pilot.app)
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, CatalogFormScreen)


async def test_plan_posts_the_rendered_stack() -> None:
    async with form_app().run_test(size=(120, 50)) as pilot:
        form = await form_shown(pilot)
        form.fields["KV_PASSWORD"].control.value = PASSWORD
        form.query_one("#stack-name", QuestionField).control.value = "demo"
        form.query_one("#plan").scroll_visible(animate=False)
        await pilot.pause()
        await pilot.click("#plan")
        (plan,) = pilot.app.plans
        assert plan.stack_name == "demo" and plan.stack.name == "demo"
        assert plan.entry.id == "webrtc-demo" and plan.version.revision == "0"
        assert plan.answers.values["LOG_LEVEL"] == "info"
        assert status_of(form) == "Planning stack demo…"
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, CatalogFormScreen)


async def test_entries_list_opens_the_form_from_a_version() -> None:
    async with CatalogApp().run_test(size=(120, 40)) as pilot:
        await open_entry(pilot, "builtin:web")
        await pilot.press("down", "enter")
        form = await form_shown(pilot)
        assert form.version.version == "1.1.0" and set(form.fields) == {"PUBLISH", "PORT",
                                                                          "SCALE"}
        assert isinstance(form.fields["PUBLISH"].control, Switch)


async def test_the_form_can_drop_rancher_only_features_like_the_flag() -> None:
    from textual.widgets import Checkbox

    from corral.catalog.loader import load_catalog
    from tests.unit.catalog.test_rancher_corpus import CORPUS

    entry = next(e for e in load_catalog(CORPUS).entries if e.id == "agent-role")
    version = entry.versions[0]
    app = CatalogApp(lambda: CatalogFormScreen(entry, version))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(pilot.app.screen.query(CatalogForm)), "the form")
        form = pilot.app.screen.query_one(CatalogForm)
        await pilot.pause()
        form.action_plan()
        await until(pilot, lambda: bool(pilot.app.plans), "the first plan")
        assert not pilot.app.plans[-1].stack.deployable
        form.query_one("#without-rancher", Checkbox).value = True
        await pilot.pause()
        form.action_plan()
        await until(pilot, lambda: len(pilot.app.plans) == 2, "the second plan")
        stack = pilot.app.plans[-1].stack
        assert stack.deployable and len(stack.dropped) == 2
