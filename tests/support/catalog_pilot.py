"""Driving the catalog screens with Pilot, without hosts: the catalogs are local files.

Shared by `tests/unit/tui/console/test_catalog_screens.py` and the catalog snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Markdown, TextArea

from corral.catalog.loader import load_catalogs
from corral.tui.console.screens.catalog import CatalogEntryScreen, CatalogScreen
from corral.tui.console.screens.catalog_form import CatalogForm, CatalogFormScreen
from corral.tui.console.views.catalog import EntriesView
from tests.support.pilot import until

#: A password typed in tests: it must never show on screen or in a file.
PASSWORD = "Tr0ub4dor&3"


class CatalogApp(App):
    """Hosts one catalog screen and records every plan request.

    Args:
        make_screen: Builds the first screen (default: the entries list).
    """

    TITLE = "Corral"

    def __init__(self, make_screen: Callable[[], Screen] | None = None):
        super().__init__()
        self.make_screen = make_screen or CatalogScreen
        self.plans: list[CatalogForm.PlanRequested] = []

    def on_mount(self) -> None:
        self.push_screen(self.make_screen())

    def on_catalog_form_plan_requested(self, message: CatalogForm.PlanRequested) -> None:
        self.plans.append(message)


def entry_app(entry_id: str) -> CatalogApp:
    """An app showing the built-in entry `entry_id`."""
    entry = load_catalogs([]).find(entry_id)
    return CatalogApp(lambda: CatalogEntryScreen(entry))


def form_app(entry_id: str = "webrtc-demo", answers_path: str | None = None) -> CatalogApp:
    """An app showing the questions form of a built-in entry's default version."""
    entry = load_catalogs([]).find(entry_id)
    version = entry.find_version(None)
    return CatalogApp(lambda: CatalogFormScreen(entry, version, answers_path=answers_path))


async def entries_loaded(pilot: Pilot, count: int | None = None) -> EntriesView:
    """The entries view once the worker has read the catalogs."""
    await until(pilot, lambda: isinstance(pilot.app.screen, CatalogScreen), "the catalog view")
    view = pilot.app.screen.query_one(EntriesView)
    await until(pilot, lambda: view.row_count > 0 and (count is None or view.row_count == count)
                and not view.loading, "the catalog entries")
    return view


async def readme_shown(pilot: Pilot, text: str) -> Markdown:
    """The entry screen's README once it holds `text` and has drawn its blocks."""
    readme = pilot.app.screen.query_one("#readme", Markdown)
    await until(pilot, lambda: text in readme.source and len(readme.children) > 0,
                f"the README to show {text!r}")
    await pilot.pause()
    return readme


async def form_shown(pilot: Pilot) -> CatalogForm:
    """The questions form once mounted."""
    await until(pilot, lambda: isinstance(pilot.app.screen, CatalogFormScreen)
                and bool(pilot.app.screen.query(CatalogForm)), "the form", timeout=30)
    form = pilot.app.screen.query_one(CatalogForm)
    await until(pilot, lambda: bool(form.fields) and all(f.is_mounted
                                                        for f in form.fields.values()),
                "the form fields", timeout=30)
    return form


def still(screen: Screen, inputs: Sequence[type] = (Input, TextArea)) -> None:
    """Stop every cursor blinking, for byte-stable pictures."""
    for kind in inputs:
        for widget in screen.query(kind):
            widget.cursor_blink = False


def screen_text(app: App) -> str:
    """Everything the terminal shows now, as text (from an SVG screenshot)."""
    svg = app.export_screenshot()
    return svg.replace("&#160;", " ")
