"""The transfers pane: every push and pull of this console, live.

It only reads the console's `TransferLog`: closing it (escape) stops
nothing, and opening it again (`T` on the images view) shows where the
transfers are now.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from corral.tui.console.model.image_transfers import TransferLog

#: Seconds between two redraws of the lines (rates and ETAs move).
REDRAW_SECONDS = 0.5

_MARKS = {"running": ("…", "yellow"), "done": ("✓", "green"), "failed": ("✖", "red")}


def transfers_text(log: TransferLog, now: float | None = None) -> Text:
    """One line per transfer: a mark, then its progress or its outcome."""
    lines = log.lines(now)
    if not lines:
        return Text("No transfers yet: p (push) or f (pull) on the images view starts one.",
                    style="dim")
    text = Text()
    for index, (state, line) in enumerate(lines):
        mark, style = _MARKS[state]
        if index:
            text.append("\n")
        text.append(f"{mark} ", style=style)
        text.append(line, style="" if state == "running" else style)
    return text


class TransfersScreen(ModalScreen[None]):
    """The transfers, redrawn twice a second while open."""

    DEFAULT_CSS = """
    TransfersScreen { align: center middle; }
    TransfersScreen > VerticalScroll { width: 90%; height: 80%; border: thick $accent;
        background: $surface; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Close", id="transfers.close",
                tooltip="Close the pane; the transfers go on (T on the images view"
                        " shows them again)"),
    ]

    def __init__(self, log: TransferLog):
        super().__init__()
        self.transfers = log

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "transfers"
            yield Static(transfers_text(self.transfers), id="lines")

    def on_mount(self) -> None:
        self.redraw()
        self.set_interval(REDRAW_SECONDS, self.redraw)

    def redraw(self) -> None:
        """Show the transfers as they are now."""
        running = self.transfers.running
        scroll = self.query_one(VerticalScroll)
        scroll.border_subtitle = (f"{running} running · esc closes, they go on" if running
                                  else "esc closes")
        self.query_one("#lines", Static).update(transfers_text(self.transfers))

    def action_close(self) -> None:
        self.dismiss(None)
