"""The console body: resource views beside log and shell panes.

Panes sit in rows. "Side by side" adds a pane to the last row, "stacked"
starts a new row below; rows and panes share space with `fr` units, so the
layout follows any terminal resize.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget


class Pane(Vertical):
    """A pane holding one log view or shell.

    The content draws its own frame, titled with the host and container it
    belongs to; the pane adds the keys to close and maximise it.

    A content that takes every key while focused (a shell: it needs ctrl+w
    and ctrl+o itself) sets `FRAME_FOCUS`; the pane is then focusable itself.
    Leaving the shell with ctrl+] focuses the pane's frame, where its keys
    work; `enter` goes back in. Moving through panes (tab) stops at the frame,
    never inside the shell, so no keystroke reaches a shell by accident.
    """

    ALLOW_MAXIMIZE = True
    DEFAULT_CSS = """
    Pane { width: 1fr; height: 1fr; }
    Pane:focus > * { border: heavy $accent; }
    """
    BINDINGS = [
        Binding("ctrl+w", "close_pane", "Close pane", id="pane.close",
                tooltip="Close this pane (a shell ends; its container keeps running)"),
        Binding("ctrl+o", "maximize_pane", "Maximise", id="pane.maximize",
                tooltip="Give this pane the whole screen, or restore the layout"),
        Binding("enter", "enter_content", "Into the shell", id="pane.enter",
                tooltip="Type into the shell again (ctrl+] leaves it)"),
    ]

    class Closed(Message):
        """The pane was closed."""

        def __init__(self, pane: Pane):
            super().__init__()
            self.pane = pane

    def __init__(self, content: Widget, title: str, **kwargs):
        super().__init__(**kwargs)
        self.content = content
        self.title = title
        if not content.border_title:
            content.border_title = title

        self.can_focus = bool(getattr(content, "FRAME_FOCUS", False))

    def compose(self) -> ComposeResult:
        yield self.content

    def on_mount(self) -> None:
        self.content.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "enter_content":
            return self.has_focus  # only from the frame: inside, enter is the content's
        return True

    def action_enter_content(self) -> None:
        """Focus the content again (the shell, after ctrl+] left it)."""
        self.content.focus()

    async def action_close_pane(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
        self.post_message(self.Closed(self))

    def action_maximize_pane(self) -> None:
        if self.screen.maximized is self:
            self.screen.minimize()
        else:
            self.screen.maximize(self, container=False)


class Workspace(Vertical):
    """Rows of panes; the first row starts with the resource views."""

    DEFAULT_CSS = """
    Workspace { height: 1fr; }
    Workspace > Horizontal { height: 1fr; }
    """

    def __init__(self, main: Widget, **kwargs):
        super().__init__(**kwargs)
        self.main = main

    def compose(self) -> ComposeResult:
        with Horizontal(classes="pane-row"):
            yield self.main

    @property
    def panes(self) -> list[Pane]:
        """Every open pane, in layout order."""
        return list(self.query(Pane))

    async def add_pane(self, content: Widget, title: str, stacked: bool) -> Pane:
        """Open a pane beside the last one, or in a new row below.

        Args:
            content: The log view or shell.
            title: What the pane shows, e.g. `logs lab1/web-1`.
            stacked: Start a new row instead of joining the last one.

        Returns:
            The pane.
        """
        pane = Pane(content, title)
        rows = list(self.query("Workspace > Horizontal"))
        if stacked or not rows:
            row = Horizontal(classes="pane-row")
            await self.mount(row)
        else:
            row = rows[-1]
        await row.mount(pane)
        return pane

    async def close_pane(self, pane: Pane) -> None:
        """Remove a pane, and its row if that leaves the row empty."""
        row = pane.parent
        await pane.remove()
        if row is not None and row is not self.main.parent and not row.children:
            await row.remove()
