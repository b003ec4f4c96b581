"""The `:catalog` view: every catalog entry, one entry's detail, then its questions form.

`CatalogScreen` lists the entries of the configured catalog folders and the
built-in catalog with category, default version and description; `/`
searches them. Enter opens `CatalogEntryScreen`: the entry's facts, its
versions and its README rendered as Markdown (with the highlighted version's
own README). Enter on a version opens the questions form
(`catalog_form.CatalogFormScreen`). Nothing here touches the network: links
in a README are shown, never opened.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Header, Input, Markdown, Static

from corral.catalog.errors import CatalogError
from corral.catalog.loader import Catalog, CatalogSet, Entry, Version
from corral.tui.catalog_sources import load_sources
from corral.tui.console.screens.catalog_form import CatalogFormScreen
from corral.tui.console.screens.command_screen import CommandScreen
from corral.tui.console.screens.modals import yaml_screen
from corral.tui.console.views.base import ResourceView
from corral.tui.console.views.catalog import EntriesView, VersionsView
from corral.tui.console.widgets.command_line import CommandLine
from corral.tui.console.widgets.keys_footer import KeysFooter


class CatalogScreen(CommandScreen):
    """Every entry of every catalog folder, searchable.

    Args:
        folders: Extra catalog folders (the configuration file's `catalogs:`);
            ones that cannot be read are reported and skipped.
        builtin: Also list the catalog shipped with Corral.
        search: A search to start with (`:catalog TEXT`).
        bundles: Catalogs of the bundles the console opened (`corral --bundle FILE`),
            listed first.
    """

    DEFAULT_CSS = """
    CatalogScreen #entries { border: round $primary; height: 1fr; }
    """
    BINDINGS = [
        Binding("slash", "command('/')", "Search", id="catalog.search",
                tooltip="Search entries (regex; !regex inverts)"),
        Binding("escape", "back", "Back", id="catalog.back",
                tooltip="Clear the search, else go back to the console"),
        Binding("ctrl+r", "reload", "Reload", id="catalog.reload",
                tooltip="Read the catalog folders again"),
        Binding("question_mark,f1", "help", "Help", id="catalog.help",
                tooltip="Every key of this view"),
    ]

    class Loaded(Message):
        """Catalogs read on a worker thread, and what could not be read."""

        def __init__(self, catalogs: CatalogSet, warnings: list[str]):
            super().__init__()
            self.catalogs = catalogs
            self.warnings = warnings

    def __init__(self, folders: Sequence[str] = (), *, builtin: bool = True, search: str = "",
                 bundles: Sequence[Catalog] = ()):
        super().__init__()
        self.folders = tuple(folders)
        self.bundles = tuple(bundles)
        self.builtin = builtin
        self.search = search
        self.filter_before_search = ""

    def compose(self) -> ComposeResult:
        yield Header()
        entries = EntriesView(id="entries")
        entries.border_title = "catalog"
        yield entries
        yield self.command_line()
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "catalog"
        self.entries.filter_text = self.search
        self.action_reload()
        self.entries.focus()

    @property
    def entries(self) -> EntriesView:
        return self.query_one(EntriesView)

    @work(thread=True, exclusive=True, group="catalog")
    def read_catalogs(self) -> None:
        """Scan the folders off the UI thread: a git checkout can hold hundreds of entries."""
        try:
            catalogs, warnings = load_sources((), self.folders, builtin=self.builtin,
                                              bundles=self.bundles)
        except CatalogError as exc:  # the built-in catalog itself is broken
            catalogs, warnings = CatalogSet([]), [str(exc)]
        self.post_message(self.Loaded(catalogs, warnings))

    def on_catalog_screen_loaded(self, message: Loaded) -> None:
        self.entries.loading = False
        self.entries.set_records({f"{e.catalog}:{e.id}": e for e in message.catalogs.entries})
        for warning in message.warnings:
            self.notify(warning, title="Catalog", severity="warning", timeout=10)

    def action_reload(self) -> None:
        self.entries.loading = True
        self.read_catalogs()

    # --- search -------------------------------------------------------------

    def filter_start(self) -> str:
        self.filter_before_search = self.entries.filter_text
        return self.entries.filter_text

    @on(Input.Changed, "#command-line")
    def search_typed(self, event: Input.Changed) -> None:
        line = self.query_one(CommandLine)
        # Closing the line empties it: ignore that; `:` commands do not search.
        if line.has_class("-active") and line.mode == "/":
            self.entries.set_filter(event.value.strip())

    def filter_submitted(self, text: str) -> None:
        self.entries.set_filter(text)
        self.entries.focus()

    def filter_cancelled(self) -> None:
        self.entries.set_filter(self.filter_before_search)
        self.entries.focus()

    def action_back(self) -> None:
        if self.entries.filter_text:
            self.entries.set_filter("")
        else:
            self.dismiss()

    # --- drill-down ---------------------------------------------------------

    @on(ResourceView.Drill)
    def open_entry(self, message: ResourceView.Drill) -> None:
        message.stop()
        self.app.push_screen(CatalogEntryScreen(message.record))

    @on(ResourceView.InspectRequested)
    def inspect_entry(self, message: ResourceView.InspectRequested) -> None:
        message.stop()
        text = yaml.safe_dump(message.record.to_dict(), sort_keys=False, allow_unicode=True)
        self.app.push_screen(yaml_screen(f"entry {message.key}", text))


class CatalogEntryScreen(CommandScreen):
    """One entry: its facts, its versions and its README.

    Args:
        entry: The entry to show.
    """

    DEFAULT_CSS = """
    CatalogEntryScreen #entry-info { height: auto; padding: 0 1; }
    CatalogEntryScreen #entry-problems { height: auto; padding: 0 1; color: $warning; }
    CatalogEntryScreen #versions { border: round $primary; height: auto; max-height: 12; }
    CatalogEntryScreen #readme-box { border: round $primary; height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="catalog_entry.back",
                tooltip="Go back to the list of entries"),
        Binding("c", "configure", "Configure", id="catalog_entry.configure",
                tooltip="Answer the questions of the highlighted version"),
        Binding("question_mark,f1", "help", "Help", id="catalog_entry.help",
                tooltip="Every key of this view"),
    ]

    def __init__(self, entry: Entry):
        super().__init__()
        self.entry = entry

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.describe(), id="entry-info")
        yield Static("", id="entry-problems", markup=False)
        default = self.entry.default_version
        versions = VersionsView(default.revision if default else None, id="versions")
        versions.border_title = "versions"
        yield versions
        with VerticalScroll(id="readme-box") as box:
            box.border_title = "README"
            yield Markdown(id="readme", open_links=False)
        yield self.command_line()
        yield KeysFooter()

    def describe(self) -> Text:
        """The entry's facts from config.yml."""
        entry = self.entry
        text = Text.assemble((entry.name, "bold"), f"  {entry.catalog}:{entry.id}")
        if entry.description:
            text.append(f"\n{entry.description}")
        facts = [(label, value) for label, value in (
            ("Category", entry.category), ("Version", entry.version),
            ("Maintainer", entry.maintainer), ("License", entry.license)) if value]
        if facts:
            text.append("\n")
            for index, (label, value) in enumerate(facts):
                text.append(("   " if index else "") + f"{label}: ", "dim")
                text.append(str(value))
        if entry.project_url:
            text.append("\nProject: ", "dim")
            text.append(entry.project_url)
        return text

    def on_mount(self) -> None:
        self.sub_title = f"catalog {self.entry.id}"
        view = self.query_one(VersionsView)
        view.set_records({v.revision: v for v in self.entry.versions})
        default = self.entry.default_version
        if default is not None:
            view.move_cursor(row=view.get_row_index(default.revision), animate=False)
        self.show_version(default)
        view.focus()

    def show_version(self, version: Version | None) -> None:
        """Show the README of the entry and of `version`, and their problems."""
        parts = [self.entry.readme() or "_This entry has no README._"]
        if version is not None and (readme := version.readme()):
            parts.append(f"## Version {version.version} (folder {version.revision})\n\n"
                         + readme)
        self.query_one("#readme", Markdown).update("\n\n---\n\n".join(parts))
        problems = [*self.entry.problems, *(version.problems if version else [])]
        widget = self.query_one("#entry-problems", Static)
        widget.update("\n".join(str(p) for p in problems))
        widget.display = bool(problems)

    def highlighted(self) -> Version | None:
        view = self.query_one(VersionsView)
        key = view.current_key()
        return view.records.get(key) if key is not None else None

    @on(DataTable.RowHighlighted, "#versions")
    def version_highlighted(self) -> None:
        self.show_version(self.highlighted())

    @on(ResourceView.Drill)
    def version_chosen(self, message: ResourceView.Drill) -> None:
        message.stop()
        self.app.push_screen(CatalogFormScreen(self.entry, message.record))

    @on(ResourceView.InspectRequested)
    def inspect_version(self, message: ResourceView.InspectRequested) -> None:
        message.stop()
        text = yaml.safe_dump(message.record.to_dict(), sort_keys=False, allow_unicode=True)
        self.app.push_screen(yaml_screen(f"{self.entry.id} folder {message.key}", text))

    @on(Markdown.LinkClicked)
    def link_clicked(self, message: Markdown.LinkClicked) -> None:
        message.stop()
        self.notify(message.href, title="Link (Corral opens nothing)", timeout=8)

    def action_configure(self) -> None:
        version = self.highlighted()
        if version is not None:
            self.app.push_screen(CatalogFormScreen(self.entry, version))

    def action_back(self) -> None:
        self.dismiss()
