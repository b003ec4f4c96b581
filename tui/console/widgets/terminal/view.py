"""A terminal widget: a pyte screen drawn with Textual's line API.

The widget knows nothing of Docker. Its parent hands it output through
`output` (an `OutputQueue`, filled by a reader thread that then posts
`TerminalView.Wake`) and gives it `writer`, a callable that takes the bytes
of keystrokes, pastes and query answers.

Two loops keep it responsive whatever the output rate:

* the feed pass parses output into the screen for at most `FEED_BUDGET`
  seconds, collapsing floods (see `feed.py`), then yields to the
  event loop and comes back;
* the paint pass runs at most `FPS` times a second and refreshes only the
  rows pyte marked dirty (plus the rows the cursor left and entered).

Keys are translated in `keys.py`; the one chord the widget keeps for
itself is `ctrl+]` (leave the terminal), chosen because no common shell
or full-screen program needs it (it is telnet's escape for that reason;
bash's rarely used character-search is the only binding it shadows).
Every other key the program can receive is the program's (see
`check_consume_key`): bindings of the panes and screens around it wait
until the focus has left the terminal.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from textual import events
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from corral.tui.console.widgets.terminal.feed import OutputQueue, Skipped, collapse, plain_rows
from corral.tui.console.widgets.terminal.keys import encode_key, encode_paste, key_character
from corral.tui.console.widgets.terminal.render import RowRenderer
from corral.tui.console.widgets.terminal.screen import DEFAULT_HISTORY, TerminalScreen, make_stream

#: Seconds of parsing per feed pass before the event loop gets a turn.
FEED_BUDGET = 0.008
#: Bytes parsed at a time within a pass (a few ms of pyte at worst).
FEED_SLICE = 512
#: Pause between feed passes while output is waiting.
FEED_GAP = 0.004
#: Unparsed output beyond which floods are collapsed; once a pass has run
#: out of budget, any backlog over `COLLAPSE_BEHIND` is.
COLLAPSE_AT = 16 * 1024
COLLAPSE_BEHIND = 2 * 1024
#: Most repaints per second.
FPS = 30
#: Rows moved per mouse-wheel notch in the scrollback.
WHEEL_ROWS = 3

Writer = Callable[[bytes], object]

#: Keys that keep their Corral meaning even while a terminal has the focus:
#: the priority quit chord (XON, which no interactive shell needs).
KEPT_KEYS = frozenset({"ctrl+q"})


class TerminalView(Widget, can_focus=True):
    """A VT/xterm terminal screen fed with bytes, sending keys to `writer`.

    Args:
        history: Rows of scrollback kept.
        name: Widget name.
        id: Widget id.
        classes: CSS classes.
    """

    DEFAULT_CSS = """
    TerminalView {
        height: 1fr;
        width: 1fr;
        background: $surface;
        color: $foreground;
    }
    """

    BINDINGS = [
        Binding(
            "ctrl+right_square_bracket", "leave", "Leave terminal", id="terminal.leave",
            tooltip="Move the focus out of the terminal; nothing is sent to the container",
            priority=True,
        ),
        Binding(
            "shift+pageup", "scroll_history(-1)", "Scroll back", id="terminal.scroll_back",
            tooltip="Show earlier output (scrollback)", priority=True, show=False,
        ),
        Binding(
            "shift+pagedown", "scroll_history(1)", "Scroll forward",
            id="terminal.scroll_forward",
            tooltip="Show later output; typing returns to the live screen",
            priority=True, show=False,
        ),
    ]

    class Wake(Message, bubble=False):
        """Output is waiting in `output` (posted by the reader thread)."""

    class Resized(Message):
        """The terminal's size in cells changed (also sent once at mount).

        Attributes:
            view: The terminal.
            rows: Height in rows.
            columns: Width in columns.
        """

        def __init__(self, view: TerminalView, rows: int, columns: int):
            super().__init__()
            self.view = view
            self.rows = rows
            self.columns = columns

    class FocusLeft(Message):
        """The user left the terminal with the leave chord."""

        def __init__(self, view: TerminalView):
            super().__init__()
            self.view = view

    def __init__(
        self,
        *,
        history: int = DEFAULT_HISTORY,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ):
        super().__init__(name=name, id=id, classes=classes)
        self.terminal = TerminalScreen(80, 24, history=history, reply=self._reply)
        self._parser = make_stream(self.terminal)
        #: Filled by the reader thread; see the module docstring.
        self.output = OutputQueue()
        #: Where keystrokes, pastes and query answers go.
        self.writer: Writer = lambda data: None
        #: False once the program has gone: keys then bubble to the parent.
        self.accepts_input = True
        #: Lines taken out of floods so far (they are in the scrollback as text).
        self.skipped_lines = 0
        self._unfed: deque[memoryview | Skipped] = deque()
        self._unfed_bytes = 0
        self._renderer = RowRenderer()
        self._strips: dict[int, Strip] = {}
        self._feed_timer = None
        self._paint_timer = None
        self._last_paint = 0.0
        self._cursor_cell: tuple[int, int] | None = None
        self._sized = False
        self._width = 80
        self._behind = False
        #: Rows scrolled back into the history (0: the live screen).
        self.history_offset = 0

    # ----- input -----------------------------------------------------------

    def _reply(self, data: bytes) -> None:
        self.writer(data)

    def send(self, data: bytes) -> None:
        """Send bytes to the program as if typed, returning to the live screen."""
        if self.history_offset:
            self.history_offset = 0
            self.refresh()
        self.output.hurry()
        self.writer(data)

    def on_key(self, event: events.Key) -> None:
        if not self.accepts_input:
            return
        data = encode_key(event.key, event.character, app_cursor=self.terminal.app_cursor)
        if data is None:
            return
        # Stop the key here so Tab, Ctrl-C and friends reach the program
        # instead of the app's focus and quit bindings.
        event.stop()
        event.prevent_default()
        self.send(data)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Whether a key goes to the program rather than to a binding.

        Textual drops the bindings of such keys from every node above the
        terminal, so the footer and the key dispatch agree with `on_key`:
        while a shell has the focus, `ctrl+w` is the shell's, and the footer
        does not claim it. Keys Corral keeps whatever has the focus
        (`KEPT_KEYS`) are never the program's.
        """
        if not self.accepts_input or key in KEPT_KEYS:
            return False
        typed = key_character(key, character)
        return encode_key(key, typed, app_cursor=self.terminal.app_cursor) is not None

    def on_paste(self, event: events.Paste) -> None:
        if not self.accepts_input:
            return
        event.stop()
        event.prevent_default()
        self.send(encode_paste(event.text, bracketed=self.terminal.bracketed_paste))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.action_scroll_history(-WHEEL_ROWS / max(1, self.terminal.lines))

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.action_scroll_history(WHEEL_ROWS / max(1, self.terminal.lines))

    def action_scroll_history(self, pages: float) -> None:
        """Move through the scrollback by `pages` screens (negative: back)."""
        if self.terminal.in_alternate:
            return
        rows = round(pages * max(1, self.terminal.lines - 1)) or (1 if pages > 0 else -1)
        offset = min(len(self.terminal.history), max(0, self.history_offset - rows))
        if offset != self.history_offset:
            self.history_offset = offset
            self.refresh()

    def action_leave(self) -> None:
        """Give the focus away without sending anything to the program.

        It goes to the nearest focusable frame around the terminal (the
        console's pane, where the pane's own keys work), else to the next
        widget, else nowhere.
        """
        screen = self.screen
        frame = next(
            (node for node in self.ancestors
             if isinstance(node, Widget) and node is not screen and node.focusable),
            None,
        )
        if frame is not None:
            frame.focus()
        else:
            screen.focus_next()
            if screen.focused is self:
                screen.set_focus(None)
        self.post_message(self.FocusLeft(self))

    # Textual runs these before its own `_on_focus` / `_on_blur`, which set
    # `has_focus`: paint afterwards, or the cursor stays drawn in a terminal
    # that lost the focus.
    def on_focus(self) -> None:
        self.call_later(self._request_paint)

    def on_blur(self) -> None:
        self.call_later(self._request_paint)

    # ----- output ----------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Queue output from the UI thread (tests, canned content)."""
        self.output.put(data, block=False)
        if self._feed_timer is None:
            self._feed_pass()

    def on_terminal_view_wake(self, message: Wake) -> None:
        message.stop()
        if self._feed_timer is None:
            self._feed_pass()

    def _schedule_feed(self, delay: float) -> None:
        if self._feed_timer is None:
            self._feed_timer = self.set_timer(delay, self._feed_pass, name="terminal-feed")

    def _feed_pass(self) -> None:
        self._feed_timer = None
        incoming = self.output.take()
        if incoming:
            self._unfed.append(memoryview(bytes(incoming)))
            self._unfed_bytes += len(incoming)
        # Collapsing loses colours in the scrollback, so output that pyte
        # keeps up with is never collapsed; only a backlog is.
        limit = COLLAPSE_BEHIND if self._behind else COLLAPSE_AT
        collapsed = self._collapse() if self._unfed_bytes > limit else False
        deadline = time.perf_counter() + FEED_BUDGET
        fed = 0
        while self._unfed:
            piece = self._unfed[0]
            if isinstance(piece, Skipped):
                self._unfed.popleft()
                self.terminal.skip_to_blank(
                    plain_rows(piece, self.terminal.columns, self.terminal.history.maxlen or 0)
                )
                self._parser.feed(piece.colours)
                self.skipped_lines += piece.lines
                continue
            chunk = piece[:FEED_SLICE]
            if len(piece) > FEED_SLICE:
                self._unfed[0] = piece[FEED_SLICE:]
            else:
                self._unfed.popleft()
            self._parser.feed(bytes(chunk))
            fed += len(chunk)
            if time.perf_counter() >= deadline:
                break
        self._unfed_bytes -= fed
        self.output.consumed(fed)
        self._behind = bool(self._unfed)
        self.output.flooding = collapsed or self._behind
        if fed or collapsed:
            self._request_paint()
        if self._unfed or self.output.pending:
            # After a collapse the screen is current: wait a frame so a
            # flood costs one pass per frame, not a busy loop; but right
            # after a keystroke (Ctrl-C) drain the backlog at full speed.
            slow = collapsed and not self.output.hurried
            self._schedule_feed(1 / FPS if slow else FEED_GAP)

    def _collapse(self) -> bool:
        """Collapse the unfed output after the last `Skipped`; True if anything went."""
        if self.terminal.margins is not None:
            return False
        tail: list[memoryview] = []
        while self._unfed and not isinstance(self._unfed[-1], Skipped):
            tail.append(self._unfed.pop())
        data = b"".join(reversed(tail))
        pieces = collapse(data, self.terminal.lines)
        if pieces is None:
            self._unfed.append(memoryview(data))
            return False
        kept = 0
        for piece in pieces:
            if isinstance(piece, Skipped):
                self._unfed.append(piece)
            else:
                self._unfed.append(memoryview(piece))
                kept += len(piece)
        dropped = len(data) - kept
        self._unfed_bytes -= dropped
        self.output.consumed(dropped)
        return True

    # ----- painting --------------------------------------------------------

    def _request_paint(self) -> None:
        if self._paint_timer is not None:
            return
        wait = self._last_paint + 1 / FPS - time.monotonic()
        if wait <= 0:
            self._paint()
        else:
            self._paint_timer = self.set_timer(wait, self._paint, name="terminal-paint")

    def _paint(self) -> None:
        self._paint_timer = None
        self._last_paint = time.monotonic()
        screen = self.terminal
        dirty, screen.dirty = screen.dirty, set()
        cursor = self._cursor_position()
        if cursor != self._cursor_cell:
            for cell in (cursor, self._cursor_cell):
                if cell is not None:
                    dirty.add(cell[1])
            self._cursor_cell = cursor
        for y in dirty:
            self._strips.pop(y, None)
        if self.history_offset:
            self.history_offset = min(self.history_offset, len(screen.history))
            self.refresh()
            return
        width = self._width
        rows = [y for y in dirty if 0 <= y < screen.lines]
        if len(rows) > screen.lines // 2:
            self.refresh()
        elif rows:
            self.refresh(*(Region(0, y, width, 1) for y in rows))

    def _cursor_position(self) -> tuple[int, int] | None:
        screen = self.terminal
        if screen.cursor.hidden or not self.has_focus or self.history_offset:
            return None
        return min(screen.cursor.x, screen.columns - 1), screen.cursor.y

    def on_resize(self, event: events.Resize) -> None:
        rows, columns = max(1, self.size.height), max(1, self.size.width)
        self._width = self.size.width
        if self._sized and (rows, columns) == (self.terminal.lines, self.terminal.columns):
            return
        self._sized = True
        self.terminal.resize(rows, columns)
        self._strips.clear()
        self.refresh()
        self.post_message(self.Resized(self, rows, columns))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._renderer.base = self.rich_style

    def on_mount(self) -> None:
        self._renderer.base = self.rich_style

    def render_line(self, y: int) -> Strip:
        screen = self.terminal
        width = self._width
        if self.history_offset:
            strip = self._history_strip(y)
        elif y >= screen.lines:
            return Strip.blank(width, self._renderer.base)
        else:
            strip = self._strips.get(y)
            if strip is None:
                cell = self._cursor_cell
                cursor_x = cell[0] if cell is not None and cell[1] == y else None
                strip = self._renderer.render(screen.buffer[y], screen.columns, cursor_x)
                self._strips[y] = strip
        if strip.cell_length != width:
            strip = strip.crop_extend(0, width, self._renderer.base)
        return strip

    def _history_strip(self, y: int) -> Strip:
        screen = self.terminal
        history = screen.history
        index = len(history) - self.history_offset + y
        if index < len(history):
            row = history[index]
            if isinstance(row, str):
                return self._renderer.text_row(row)
            return self._renderer.render(row, screen.columns)
        return self._renderer.render(screen.buffer[index - len(history)], screen.columns)

    # ----- for tests and benches -------------------------------------------

    @property
    def busy(self) -> bool:
        """Whether output is still waiting to reach the screen."""
        return bool(self._unfed) or self.output.pending

    @property
    def settled(self) -> bool:
        """Whether all output so far is on the screen and painted (no pass pending)."""
        return not self.busy and self._feed_timer is None and self._paint_timer is None

    def screen_lines(self) -> list[str]:
        """The live screen as text, one string per row (trailing spaces stripped)."""
        screen = self.terminal
        return [
            "".join(screen.buffer[y][x].data for x in range(screen.columns)).rstrip()
            for y in range(screen.lines)
        ]
