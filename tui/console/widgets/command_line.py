"""The `:` command line and the `/` filter line, k9s style."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input


class CommandLine(Input):
    """A one-line prompt that appears for `:` (commands) or `/` (filter)."""

    DEFAULT_CSS = """
    CommandLine { display: none; border: none; height: 1; padding: 0 1; }
    /* Input's focused style adds a tall border that would hide the one line of text. */
    CommandLine:focus { border: none; }
    CommandLine.-active { display: block; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="command.cancel", tooltip="Close the prompt"),
        Binding("tab", "complete", "Complete", id="command.complete",
                tooltip="Take the suggested completion", show=False),
    ]

    class Submitted(Message):
        """The user pressed enter: `mode` is `:` or `/`."""

        def __init__(self, mode: str, text: str):
            super().__init__()
            self.mode = mode
            self.text = text

    class Cancelled(Message):
        """The user pressed escape."""

    def __init__(self, commands: list[str], **kwargs):
        super().__init__(**kwargs)
        self.commands = commands
        self.mode = ":"

    def open(self, mode: str, value: str = "") -> None:
        """Show the prompt for `mode` with `value` prefilled, and focus it."""
        self.mode = mode
        self.suggester = SuggestFromList(self.commands) if mode == ":" else None
        self.placeholder = "command (hosts, ps, stacks, volumes, images, events, catalog, q)" if (
            mode == ":"
        ) else "filter: regex, !regex to invert, empty to clear"
        self.border_title = mode
        self.value = value
        self.add_class("-active")
        self.focus()

    def close(self) -> None:
        """Hide the prompt."""
        self.remove_class("-active")
        self.value = ""

    async def action_submit(self) -> None:
        text = self.value.strip()
        self.close()
        self.post_message(self.Submitted(self.mode, text))

    def action_complete(self) -> None:
        # Input._suggestion, private: pinned by tests/unit/test_dependency_internals.py
        if self._suggestion:
            self.value = self._suggestion
            self.cursor_position = len(self.value)

    def action_cancel(self) -> None:
        self.close()
        self.post_message(self.Cancelled())
