"""The scrolling body of a log pane: draws only the rows on screen.

A line-API widget (like Textual's `Log`) over a `LogHistory`, so lines that
were spooled to disk scroll back like any other. Lines arrive in batches
(`add_lines`); each batch costs a width per line (and a regex per line when
filtered), never a render: rows are rendered when shown, and cached.
"""

from __future__ import annotations

import asyncio
import re
from array import array

from rich.style import Style
from textual import events
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollTo, ScrollUp
from textual.strip import Strip

from corral.backends.logs import LogHistory, LogLine
from corral.tui.console.widgets.logs.format import LineLook, plain_text, text_width
from corral.tui.console.widgets.logs.rows import RowMap

#: Lines scanned between yields to the event loop when re-filtering or searching.
SCAN_STEP = 20_000


class LogLines(ScrollView, can_focus=True):
    """The lines of a log view, with filter, search, wrap and autoscroll.

    Args:
        history: Where lines are kept.
        look: How lines are drawn.
    """

    DEFAULT_CSS = """
    LogLines { background: $surface; color: $text; overflow: auto auto; height: 1fr; }
    """

    class FollowChanged(Message):
        """Following the end started or stopped (the status line shows it)."""

    def __init__(self, history: LogHistory, look: LineLook, **kwargs) -> None:
        super().__init__(**kwargs)
        self.history = history
        self.look = look
        self.rows = RowMap()
        self.follow = True
        self._height_seen: int | None = None
        #: Following stopped because the user scrolled up (it resumes at the end).
        self.auto_paused = False
        #: Where following last left the view: below it only the user scrolls up
        #: (a busy machine may not have applied the last scroll to the end yet).
        self._followed_y = 0.0
        #: The user moved the view (keys, wheel, scrollbar) since following last
        #: saw the end: only then may a view off the end pause following. Layout
        #: (views switched, panes resized, scrollbars shown) moves it too.
        self._user_moved = False
        self.wrap = False
        self.filter: re.Pattern | None = None
        self.inverse = False
        self.search: re.Pattern | None = None
        self.current: int | None = None  # sequence number of the current match
        self._widths = array("I")
        self._widths_first = 0
        self._max_width = 0
        # Small: cached strips hold many GC-tracked objects (gen2 pauses grow with them).
        self._cache: LRUCache[int, list[Strip]] = LRUCache(256)
        self._generation = 0  # bumps to cancel a running re-filter or search
        self._base: Style | None = None

    # Adding and forgetting lines --------------------------------------------

    def add_lines(self, lines: list[LogLine]) -> None:
        """Append a batch (from the follower) and scroll if following."""
        if not lines:
            return
        at_end = self.is_vertical_scroll_end or (self.follow and self.scroll_y >= self._followed_y)
        start = self.history.end
        self.history.append(lines)
        widths = [text_width(line.text) for line in lines]
        self._widths.extend(min(width, 0xFFFFFFFF) for width in widths)
        self._max_width = max(self._max_width, max(widths))
        shown: list[int] = []
        heights: list[int] = []
        keep = self._keeper()
        if keep is None:
            if self.wrap:
                heights = [self._height(width) for width in widths]
        else:
            for offset, line in enumerate(lines):
                if keep(line):
                    shown.append(start + offset)
                    if self.wrap:
                        heights.append(self._height(widths[offset]))
        self.rows.append(self.history.end, shown, heights)
        dropped_rows = self._forget_dropped()
        self._resize_virtual()
        if self.follow and at_end:
            self._user_moved = False
        elif self.follow and self._user_moved:
            self._pause_for_user()
        elif not self.follow and self.auto_paused and at_end:
            self.follow, self.auto_paused = True, False  # and came back down
            self.post_message(self.FollowChanged())
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
            self._followed_y = self.scroll_y
        elif dropped_rows:
            y = max(0, self.scroll_y - dropped_rows)  # keep the same lines in view
            self.scroll_to(y=y, animate=False, immediate=True, force=True)
        self.refresh()

    def action_scroll_end(self) -> None:
        """End: jump to the newest line and follow again."""
        self.follow_end()

    # What the user does to move the view (the only moves that may pause following).

    def action_scroll_up(self) -> None:
        super().action_scroll_up()
        self._moved_up()

    def action_page_up(self) -> None:
        super().action_page_up()
        self._moved_up()

    def action_scroll_home(self) -> None:
        super().action_scroll_home()
        self._moved_up()

    def _moved_up(self) -> None:
        # A key's scroll is animated: pause now, or the next batch's scroll
        # to the end would win over it.
        self._user_moved = True
        if self.follow and self.scroll_target_y < self.max_scroll_y:
            self._pause_for_user()

    def _pause_for_user(self) -> None:
        """Stop following because the user scrolled up (it resumes at the end)."""
        self.follow, self.auto_paused = False, True
        self.post_message(self.FollowChanged())

    # Textual calls each class's handler in turn (Widget's scrolls after these).

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._user_moved = True

    def _on_scroll_to(self, message: ScrollTo) -> None:
        self._user_moved = True  # the scrollbar dragged

    def _on_scroll_up(self, message: ScrollUp) -> None:
        self._user_moved = True  # the scrollbar clicked above its thumb

    def follow_end(self) -> None:
        """Scroll to the newest line and keep following."""
        self.follow, self.auto_paused, self.current = True, False, None
        self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        self._followed_y = self.scroll_y
        self.post_message(self.FollowChanged())

    def _forget_dropped(self) -> int:
        first = self.history.first
        if first <= self._widths_first:
            return 0
        gone = first - self._widths_first
        del self._widths[:gone]
        self._widths_first = first
        return self.rows.drop_before(first)

    def clear(self) -> None:
        """Forget every line."""
        self.history.clear()
        self._widths = array("I")
        self._widths_first = self.history.first
        self._max_width = 0
        self.current = None
        self._reset_rows(list(range(0)) if self.filter else None)
        self._cache.clear()
        self.refresh()

    # Shape --------------------------------------------------------------------

    @property
    def content_width(self) -> int:
        """Columns available for text."""
        return max(1, self.scrollable_content_region.width)

    def _height(self, width: int) -> int:
        total = self.look.lead_width + width
        return max(1, -(-total // self.content_width))

    def _width_of(self, seq: int) -> int:
        return self._widths[seq - self._widths_first]

    def _resize_virtual(self) -> None:
        width = self.content_width if self.wrap else self.look.lead_width + self._max_width
        size = Size(width, self.rows.rows)
        if size == self.virtual_size:
            return
        # Setting `virtual_size` the usual way lays out the whole screen
        # again: ~100 ms a batch on a busy machine. Only the scrollbars
        # need to know, unless one of them appears or goes.
        bars = (self.show_vertical_scrollbar, self.show_horizontal_scrollbar)
        self.set_reactive(ScrollView.virtual_size, size)
        # Private Textual API: pinned by tests/unit/test_dependency_internals.py
        self._scroll_update(size)
        if bars != (self.show_vertical_scrollbar, self.show_horizontal_scrollbar):
            self.refresh(layout=True)

    def _reset_rows(self, seqs: list[int] | array | None) -> None:
        heights = None
        if self.wrap:
            shown = seqs if seqs is not None else range(self.history.first, self.history.end)
            heights = [self._height(self._width_of(seq)) for seq in shown]
        self.rows.reset(self.history.first, self.history.end, seqs, heights)
        self._cache.clear()
        self._resize_virtual()

    def relayout(self) -> None:
        """Recompute rows after the look, the wrap or the width changed."""
        anchor = self._anchor()
        seqs = None
        if self.rows.filtered:
            seqs = array("q", (self.rows.seq_at(i) for i in range(self.rows.lines)))
        self._reset_rows(seqs)
        self._restore(anchor)
        self.refresh()

    def on_resize(self) -> None:
        if self.wrap:
            self.relayout()
        else:
            self._cache.clear()
            self._resize_virtual()
        # A view made shorter (a prompt opened below it) that showed the
        # newest line still shows it: otherwise the next batch would take
        # the view for one the user scrolled up.
        height, self._height_seen = self._height_seen, self.size.height
        if (self.follow and height is not None and height > self.size.height
                and self.scroll_y >= self.virtual_size.height - height):
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)

    def _top_seq(self) -> int | None:
        located = self.rows.locate(int(self.scroll_y))
        return located[0] if located else None

    def _anchor(self) -> int | None:
        """What to keep in view across a relayout: None means the end."""
        if self.follow and self.is_vertical_scroll_end:
            return None
        return self._top_seq()

    def _restore(self, seq: int | None) -> None:
        if seq is None:
            if self.follow:
                self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        else:
            row = self.rows.row_of(self.rows.index_of(seq))
            self.scroll_to(y=row, animate=False, immediate=True, force=True)

    # Filter -------------------------------------------------------------------

    def _keeper(self):
        pattern, inverse = self.filter, self.inverse
        if pattern is None:
            return None
        search = pattern.search
        labels = [source.label for source in self.look.sources]

        def matches(line: LogLine) -> bool:
            if search(plain_text(line.text)):
                return True
            if line.source >= len(labels):
                labels[:] = [source.label for source in self.look.sources]
            return line.source < len(labels) and search(labels[line.source]) is not None

        if inverse:
            return lambda line: not matches(line)
        return matches

    async def set_filter(self, pattern: re.Pattern | None, inverse: bool) -> None:
        """Show only lines that match (or, inverse, do not); scans in steps."""
        self._generation += 1
        generation = self._generation
        anchor = self._anchor()
        self.filter, self.inverse = pattern, inverse
        keep = self._keeper()
        if keep is None:
            self._reset_rows(None)
            self._restore(anchor)
            self.refresh()
            return
        seqs = array("q")
        seq = self.history.first
        while seq < self.history.end:
            stop = min(self.history.end, seq + SCAN_STEP)
            seq = max(seq, self.history.first)
            for offset, line in enumerate(self.history.range(seq, stop)):
                if keep(line):
                    seqs.append(seq + offset)
            seq = stop
            await asyncio.sleep(0)
            if generation != self._generation:
                return
        # The loop re-read `history.end`, so lines that arrived meanwhile are in.
        first = self.history.first
        self._reset_rows(array("q", (s for s in seqs if s >= first)))
        self._restore(anchor)
        self.refresh()

    # Search -------------------------------------------------------------------

    def set_search(self, pattern: re.Pattern | None) -> None:
        """Highlight matches of `pattern` (None: no search)."""
        self.search = pattern
        self.current = None
        self._cache.clear()
        self.refresh()

    async def find(self, forward: bool = True) -> bool:
        """Jump to the next (or previous) shown line matching the search.

        Returns:
            Whether a match was found (the view then stops following).
        """
        if self.search is None or not self.rows.lines:
            return False
        self._generation += 1
        generation = self._generation
        search = self.search.search
        if self.current is not None:
            index = self.rows.index_of(self.current) + (1 if forward else -1)
        else:
            top = self._top_seq()
            index = self.rows.index_of(top) if top is not None else 0
            if not forward:
                index = min(self.rows.lines - 1, index + self.scrollable_content_region.height)
        while 0 <= index < self.rows.lines:
            if forward:
                low, high = index, min(self.rows.lines, index + SCAN_STEP)
            else:
                low, high = max(0, index - SCAN_STEP + 1), index + 1
            block = self._block(low, high)
            order = range(len(block)) if forward else range(len(block) - 1, -1, -1)
            for offset in order:
                line = block[offset]
                if line is not None and search(plain_text(line.text)):
                    self._jump(self.rows.seq_at(low + offset), low + offset)
                    return True
            index = high if forward else low - 1
            await asyncio.sleep(0)
            if generation != self._generation:
                return False
        return False

    def _block(self, low: int, high: int) -> list[LogLine | None]:
        """Shown lines `low .. high - 1`; one read per spool block when unfiltered."""
        if not self.rows.filtered:
            block = self.history.range(self.rows.seq_at(low), self.rows.seq_at(high - 1) + 1)
            if len(block) == high - low:
                return block
        return [self.history.get(self.rows.seq_at(position)) for position in range(low, high)]

    def _jump(self, seq: int, index: int) -> None:
        self.current = seq
        self.follow = False
        row = self.rows.row_of(index)
        height = self.scrollable_content_region.height
        self.scroll_to(y=max(0, row - height // 3), animate=False, immediate=True, force=True)
        self._cache.clear()
        self.refresh()

    # Drawing ------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def _strips(self, seq: int, base: Style) -> list[Strip]:
        strips = self._cache.get(seq)
        if strips is not None:
            return strips
        line = self.history.get(seq)
        if line is None:
            return [Strip.blank(0)]
        strip = self.look.strip(
            line, base, self.app.console, self.search, current=seq == self.current
        )
        if self.wrap:
            width = self.content_width
            cuts = list(range(width, strip.cell_length, width)) + [strip.cell_length]
            strips = strip.divide(cuts) if strip.cell_length > width else [strip]
        else:
            strips = [strip]
        self._cache[seq] = strips
        return strips

    def render_lines(self, crop):
        # `rich_style` walks the ancestors every time: once per pass is enough.
        self._base = self.rich_style
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self._base if self._base is not None else self.rich_style
        located = self.rows.locate(scroll_y + y)
        if located is None:
            return Strip.blank(width, base)
        seq, part = located
        strips = self._strips(seq, base)
        if part >= len(strips):
            return Strip.blank(width, base)
        start = 0 if self.wrap else scroll_x
        return strips[part].crop_extend(start, start + width, base).apply_offsets(start, y)
