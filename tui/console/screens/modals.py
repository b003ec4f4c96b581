"""Modal screens: confirmation, inspect (YAML) and help."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from corral.tui.present.safe import visible, visible_lines


class ConfirmScreen(ModalScreen[bool]):
    """Ask before doing something destructive; dismisses with True to go ahead."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 80; max-width: 90%; height: auto; max-height: 80%;
        border: thick $error; padding: 1 2; background: $surface; }
    ConfirmScreen #objects { height: auto; max-height: 20; }
    ConfirmScreen Horizontal { height: auto; align: right middle; margin-top: 1; }
    ConfirmScreen Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Go ahead"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no", tooltip="Cancel"),
    ]

    def __init__(self, question: str, objects: list[str]):
        super().__init__()
        self.question = question
        self.objects = objects

    def compose(self) -> ComposeResult:
        with Vertical():
            # Names and stacks come from hosts: shown as written, controls visible.
            yield Label(visible_lines(self.question), id="question", markup=False)
            with VerticalScroll(id="objects"):
                yield Static("\n".join(f"  • {visible(name)}" for name in self.objects),
                             markup=False)
            with Horizontal():
                yield Button("No", id="no", variant="primary")
                yield Button("Yes", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class TextScreen(ModalScreen[None]):
    """A scrollable text (inspect YAML, help), closed with escape or q."""

    DEFAULT_CSS = """
    TextScreen { align: center middle; }
    TextScreen > VerticalScroll { width: 90%; height: 90%; border: thick $accent;
        background: $surface; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="text.close", tooltip="Close this view"),
    ]

    def __init__(self, title: str, body: object):
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = self.title_text
            yield Static(self.body)

    def action_dismiss(self) -> None:
        self.dismiss(None)


def yaml_screen(title: str, text: str) -> TextScreen:
    """An inspect view of YAML text, with `/` search."""
    from corral.tui.console.screens.text_search import SearchableTextScreen

    return SearchableTextScreen(title, text, "yaml")


def help_screen(title: str, rows: list[tuple[str, str, str, str]]) -> TextScreen:
    """The `?` view: (keys, description, binding id, tooltip) rows."""
    table = Table(expand=True, show_edge=False)
    for heading in ("KEYS", "ACTION", "ID (for keymap)", "WHAT IT DOES"):
        table.add_column(heading)
    for row in rows:
        table.add_row(*row)
    return TextScreen(title, table)
