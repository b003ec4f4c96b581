"""Screens over the console where `:` works as it does on the console.

The catalog list, an entry's detail, the questions form and the plan are
pushed over the console; on each, `:` opens the same command line (`:hosts`,
`:stacks`, `:q`…). Switching view closes them, asking first when a form holds
unsaved answers (`leaving.leave_then`). The same line serves a screen's own
`/` search through the `filter_*` hooks.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

from corral.tui.console.keys_help import show_help
from corral.tui.console.screens.leaving import run_command
from corral.tui.console.views.registry import command_words
from corral.tui.console.widgets.command_line import CommandLine


class CommandScreen(Screen):
    """A screen with the console's `:` command line; subclasses yield `command_line()`."""

    BINDINGS = [
        # The console's own id: one keymap entry remaps `:` on every screen.
        Binding("colon", "command(':')", "Command", id="console.command",
                tooltip="Switch view: hosts, ps, stacks, volumes, images, events, catalog;"
                        " :q quits"),
    ]

    _focus_before: Widget | None = None

    def command_line(self) -> CommandLine:
        """The (hidden) command line to yield in `compose`."""
        return CommandLine(command_words(), id="command-line")

    def action_command(self, mode: str = ":") -> None:
        self._focus_before = self.focused
        self.query_one(CommandLine).open(mode, self.filter_start() if mode == "/" else "")

    def action_help(self) -> None:
        show_help(self)

    def _restore_focus(self) -> None:
        before, self._focus_before = self._focus_before, None
        if before is not None and before.is_attached and before.focusable:
            before.focus()

    def on_command_line_submitted(self, message: CommandLine.Submitted) -> None:
        message.stop()
        self._restore_focus()
        if message.mode == "/":
            self.filter_submitted(message.text)
        elif message.text.strip() == "help":
            self.action_help()
        else:
            run_command(self.app, message.text)

    def on_command_line_cancelled(self, message: CommandLine.Cancelled) -> None:
        message.stop()
        self._restore_focus()
        if self.query_one(CommandLine).mode == "/":
            self.filter_cancelled()

    # --- hooks for a screen's own `/` -------------------------------------------

    def filter_start(self) -> str:
        """The text the `/` line starts with."""
        return ""

    def filter_submitted(self, text: str) -> None:
        """The user pressed enter on the `/` line."""

    def filter_cancelled(self) -> None:
        """The user pressed escape on the `/` line."""
