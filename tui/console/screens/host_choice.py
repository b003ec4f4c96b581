"""Choosing the hosts an image action goes to (push to, pull on)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList

from corral.tui.present.safe import visible_lines


class HostChoiceScreen(ModalScreen[list[str] | None]):
    """The hosts to act on, some chosen already; dismisses with the chosen ones, or None.

    Args:
        question: What will happen (`Push team/app:1 to:`).
        hosts: The hosts to choose from, in inventory order.
        chosen: Those ticked at first.
        notes: Words after a host's name (`lacks it`).
    """

    DEFAULT_CSS = """
    HostChoiceScreen { align: center middle; }
    HostChoiceScreen > Vertical { width: 80; max-width: 90%; height: auto; max-height: 80%;
        border: thick $accent; padding: 1 2; background: $surface; }
    HostChoiceScreen SelectionList { height: auto; max-height: 16; margin-top: 1; }
    HostChoiceScreen #hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding("y", "go", "Go", id="host_choice.go",
                tooltip="Go ahead on the ticked hosts"),
        Binding("escape,n", "cancel", "Cancel", id="host_choice.cancel",
                tooltip="Close, doing nothing"),
    ]

    def __init__(self, question: str, hosts: list[str], chosen: list[str],
                 notes: dict[str, str] | None = None):
        super().__init__()
        self.question = question
        self.hosts = hosts
        self.chosen = set(chosen)
        self.notes = notes or {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(visible_lines(self.question), id="question", markup=False)
            yield SelectionList[str](
                *((f"{host}  {self.notes[host]}" if host in self.notes else host, host,
                   host in self.chosen) for host in self.hosts),
                id="hosts",
            )
            yield Label("space/enter: tick or untick · y: go · esc: cancel", id="hint")

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_go(self) -> None:
        picked = set(self.query_one(SelectionList).selected)
        chosen = [host for host in self.hosts if host in picked]
        if not chosen:
            self.notify("tick at least one host (space)", severity="warning")
            return
        self.dismiss(chosen)

    def action_cancel(self) -> None:
        self.dismiss(None)
