"""The terminal emulator's state: a pyte screen with what pyte lacks.

pyte 0.8 has no alternate screen (`vi`, `top` and `less` would leave their
last frame behind), no scrollback unless one pays for the ~3× slower
`HistoryScreen`, answers queries into a no-op, and deletes the top rows on
any shrink even when the cursor sits at the top. `TerminalScreen` adds those
few things and nothing else; it knows nothing of Textual.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable

import pyte
from pyte import modes

#: Private modes that switch to the alternate screen: 1049 also saves and
#: restores the cursor, 1047 and 47 do not.
ALT_SCREEN_MODES = frozenset({47, 1047, 1049})
#: Private mode that saves (set) and restores (reset) the cursor.
SAVE_CURSOR_MODE = 1048
#: DECCOLM (132 columns): a pane cannot change its own width, so ignored.
COLUMN_MODE = 3

#: `32 in screen.mode` is DECCKM (pyte shifts private modes left by 5).
#: pyte internals (this shift, the `private=` keyword, the hooks overridden
#: below): pinned by tests/unit/test_dependency_internals.py
APP_CURSOR = 1 << 5
BRACKETED_PASTE = 2004 << 5

DEFAULT_HISTORY = 2000

Reply = Callable[[bytes], None]


class TerminalScreen(pyte.Screen):
    """A pyte screen with an alternate screen, scrollback and query answers.

    Args:
        columns: Width in cells.
        lines: Height in rows.
        history: Rows of scrollback kept (rows scrolled off the top of the
            main screen).
        reply: Called with the bytes a query asks the terminal to send back
            (cursor position, device status, device attributes).
    """

    def __init__(
        self,
        columns: int,
        lines: int,
        *,
        history: int = DEFAULT_HISTORY,
        reply: Reply | None = None,
    ):
        # Set before pyte's __init__, which calls reset().
        self.history: deque = deque(maxlen=history)
        self.reply: Reply = reply or (lambda data: None)
        self._main: tuple[dict, pyte.screens.Cursor] | None = None
        super().__init__(columns, lines)

    @property
    def in_alternate(self) -> bool:
        """Whether a full-screen program switched to the alternate screen."""
        return self._main is not None

    @property
    def app_cursor(self) -> bool:
        """Whether arrows must send `ESC O x` (DECCKM, set by vi and less)."""
        return APP_CURSOR in self.mode

    @property
    def bracketed_paste(self) -> bool:
        """Whether the program asked for pastes wrapped in `ESC[200~`…`ESC[201~`."""
        return BRACKETED_PASTE in self.mode

    def reset(self) -> None:
        """Full reset (RIS): also leaves the alternate screen."""
        self._main = None
        super().reset()

    def set_mode(self, *modes_: int, **kwargs) -> None:
        """Set modes, handling the alternate screen and cursor save."""
        if kwargs.get("private"):
            if ALT_SCREEN_MODES & set(modes_):
                self._enter_alternate()
            if SAVE_CURSOR_MODE in modes_:
                self.save_cursor()
            modes_ = tuple(m for m in modes_ if m not in _HANDLED_PRIVATE)
            if not modes_:
                return
        super().set_mode(*modes_, **kwargs)

    def reset_mode(self, *modes_: int, **kwargs) -> None:
        """Reset modes, handling the alternate screen and cursor restore."""
        if kwargs.get("private"):
            alternate = ALT_SCREEN_MODES & set(modes_)
            if alternate:
                self._leave_alternate(restore_cursor=1049 in alternate)
            if SAVE_CURSOR_MODE in modes_:
                self.restore_cursor()
            modes_ = tuple(m for m in modes_ if m not in _HANDLED_PRIVATE)
            if not modes_:
                return
        super().reset_mode(*modes_, **kwargs)

    def _enter_alternate(self) -> None:
        if self._main is not None:
            return
        self._main = (dict(self.buffer), copy.copy(self.cursor))
        self.buffer.clear()
        self.dirty.update(range(self.lines))

    def _leave_alternate(self, restore_cursor: bool) -> None:
        if self._main is None:
            return
        buffer, cursor = self._main
        self._main = None
        self.buffer.clear()
        self.buffer.update((y, line) for y, line in buffer.items() if y < self.lines)
        if restore_cursor:
            self.cursor = cursor
            self.ensure_hbounds()
            self.ensure_vbounds()
        self.dirty.update(range(self.lines))

    def index(self) -> None:
        """Line feed; a row scrolled off the top of the main screen joins the scrollback."""
        top, bottom = self.margins or (0, self.lines - 1)
        if self.cursor.y == bottom and top == 0 and self._main is None:
            self.history.append(self.buffer[0])
        super().index()

    def skip_to_blank(self, rows: list[str]) -> None:
        """Stand in for output taken out by `feed.collapse`.

        The rows above the cursor and then `rows` (the dropped lines, as
        text) join the scrollback, as if they had scrolled off; the screen
        is cleared and the cursor homed, ready for the screenful of lines
        that `collapse` keeps after every dropped span (they redraw the
        screen the dropped output would have left).
        """
        if self._main is None and self.margins is None:
            self.history.extend(self.buffer[y] for y in range(self.cursor.y))
            self.history.extend(rows)
        self.buffer.clear()
        self.cursor.x = self.cursor.y = 0
        self.dirty.update(range(self.lines))

    def erase_in_display(self, how: int = 0, *args, **kwargs) -> None:
        """Erase; `ESC[3J` also forgets the scrollback (what `clear` sends)."""
        if how == 3:
            self.history.clear()
        super().erase_in_display(how, *args, **kwargs)

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """Change the size, keeping the cursor's row in view.

        pyte drops rows from the top on any shrink; a terminal drops only
        as many as needed to keep the cursor visible (those join the
        scrollback), so a prompt at the top survives a smaller pane.
        """
        lines = lines or self.lines
        columns = columns or self.columns
        if lines == self.lines and columns == self.columns:
            return
        if lines < self.lines:
            drop = max(0, self.cursor.y - (lines - 1))
            if drop:
                if self._main is None:
                    self.history.extend(self.buffer[y] for y in range(drop))
                rows = {y - drop: line for y, line in self.buffer.items() if y >= drop}
                self.buffer.clear()
                self.buffer.update(rows)
                self.cursor.y -= drop
            for y in [y for y in self.buffer if y >= lines]:
                del self.buffer[y]
        if columns < self.columns:
            for line in self.buffer.values():
                for x in [x for x in line if x >= columns]:
                    del line[x]
        self.lines, self.columns = lines, columns
        self.tabstops = set(range(8, columns, 8))
        self.margins = None
        self.ensure_hbounds()
        self.ensure_vbounds()
        self.dirty.update(range(lines))

    def report_device_status(self, mode: int, **kwargs) -> None:
        """Answer `ESC[5n` (status: OK) and `ESC[6n` (cursor position).

        busybox sh asks `ESC[6n` at every prompt and waits for the answer.
        """
        if mode == 5:
            self.reply(b"\x1b[0n")
        elif mode == 6:
            # pyte parks the cursor one past the last column before a wrap;
            # a terminal reports the last column.
            x = min(self.cursor.x, self.columns - 1) + 1
            y = self.cursor.y + 1
            if modes.DECOM in self.mode and self.margins is not None:
                y -= self.margins.top
            self.reply(f"\x1b[{y};{x}R".encode())

    def write_process_input(self, data: str) -> None:
        """pyte's hook for answers (device attributes): send them back."""
        self.reply(data.encode())


_HANDLED_PRIVATE = ALT_SCREEN_MODES | {SAVE_CURSOR_MODE, COLUMN_MODE}


def make_stream(screen: TerminalScreen) -> pyte.ByteStream:
    """A byte stream parser feeding `screen` (UTF-8)."""
    return pyte.ByteStream(screen)

