"""Flood collapsing gives the same screen; the output queue holds floods back."""

from __future__ import annotations

import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from corral.tui.console.widgets.terminal.feed import (
    OutputQueue,
    Skipped,
    collapse,
    fold_colours,
    plain_rows,
)
from corral.tui.console.widgets.terminal.screen import TerminalScreen, make_stream

PLAIN = [
    b"y", b"hello world, a longer line", b"\x1b[31m", b"\x1b[0m", b"\x1b[1;32m", b"\x1b[7m",
    b"\x1b[K", b"\t", b"\x08", b"\r", b"\r\n", b"\r\n", b"\r\n", b"\r\n", "é".encode(),
    "漢字".encode(), b"\n", b"\x0b",
]
MODES = [
    b"\x1b[?1049h", b"\x1b[?1049l", b"\x1b[2;4r", b"\x1b[r", b"\x1b[?7l", b"\x1b[?7h",
    b"\x1b[4h", b"\x1b[4l", b"\x1b]0;title\x07", b"\x1b[2;3H", b"\x1b[2J", b"\x1bM", b"\x1b[3L",
]


def feed(rows: int, columns: int, prefix: bytes, pieces: list) -> TerminalScreen:
    """A screen after `prefix` then `pieces`, fed as `TerminalView` feeds them."""
    screen = TerminalScreen(columns, rows, history=10_000)
    stream = make_stream(screen)
    stream.feed(prefix)
    for piece in pieces:
        if isinstance(piece, Skipped):
            screen.skip_to_blank(plain_rows(piece, columns, 10_000))
            stream.feed(piece.colours)
        else:
            stream.feed(piece)
    return screen


def state(screen: TerminalScreen):
    cells = [[screen.buffer[y][x] for x in range(screen.columns)] for y in range(screen.lines)]
    return cells, (screen.cursor.x, screen.cursor.y), screen.cursor.attrs, screen.in_alternate


@settings(max_examples=300, deadline=None)
@given(
    rows=st.integers(2, 6),
    columns=st.integers(3, 12),
    prefix=st.lists(st.sampled_from(PLAIN + MODES), max_size=15),
    body=st.lists(st.sampled_from(PLAIN + MODES[:6]), min_size=20, max_size=300),
)
def test_collapsed_output_draws_the_same_screen(rows, columns, prefix, body) -> None:
    # Collapsing is only done without a scrolling region, as the view does.
    start = b"".join(prefix) + b"\x1b[r"
    data = b"".join(body)
    pieces = collapse(data, rows)
    if pieces is None:
        return
    assert state(feed(rows, columns, start, pieces)) == state(feed(rows, columns, start, [data]))


def test_a_yes_flood_collapses_to_one_screenful() -> None:
    pieces = collapse(b"$ yes\r\n" + b"y\r\n" * 100_000, rows=24)
    assert pieces is not None
    skipped = [piece for piece in pieces if isinstance(piece, Skipped)]
    assert [s.lines for s in skipped] == [100_000 - 24]
    kept = b"".join(piece for piece in pieces if isinstance(piece, bytes))
    assert kept == b"$ yes\r\n" + b"y\r\n" * 24


def test_cursor_movement_is_never_dropped() -> None:
    data = (b"x\r\n" * 30 + b"\x1b[5;5H") * 3
    pieces = collapse(data, rows=10)
    assert pieces is not None
    kept = b"".join(piece for piece in pieces if isinstance(piece, bytes))
    assert kept.count(b"\x1b[5;5H") == 3


def test_a_scrolling_region_stops_collapsing() -> None:
    assert collapse(b"\x1b[2;5r" + b"x\r\n" * 100, rows=10) is None


def test_short_output_is_left_alone() -> None:
    assert collapse(b"ls\r\n" * 20, rows=10) is None


def test_colours_fold_to_the_changes_since_the_last_reset() -> None:
    assert fold_colours(b"\x1b[1mA\x1b[32mB\x1b[0mC\x1b[31mD\x1b[4m") == b"\x1b[0m\x1b[31m\x1b[4m"
    assert fold_colours(b"\x1b[1mA\x1b[38;5;0mB") == b"\x1b[1m\x1b[38;5;0m"
    assert fold_colours(b"\x1b[1;0;32mx") == b"\x1b[1;0;32m"
    assert fold_colours(b"plain") == b""
    assert fold_colours(b"\x1b[31m" * 1000) is None


def test_dropped_lines_reach_the_scrollback_as_text() -> None:
    text = b"\x1b[32mok\x1b[0m one\r\n" + b"a" * 25 + b"\r\n" + b"50%\r100%\r\n" + b"\tx\r\n"
    assert plain_rows(Skipped(text, b""), columns=10, limit=100) == [
        "ok one", "a" * 10, "a" * 10, "a" * 5, "100%", "        x",
    ]
    assert plain_rows(Skipped(b"n\r\n" * 50, b""), columns=10, limit=3) == ["n", "n", "n"]


def test_queue_wakes_the_consumer_once_per_take() -> None:
    queue = OutputQueue()
    assert queue.put(b"a") is True
    assert queue.put(b"b") is False
    assert bytes(queue.take()) == b"ab"
    assert queue.put(b"c") is True


def test_queue_holds_the_reader_back_until_the_screen_catches_up() -> None:
    queue = OutputQueue(limit=10)
    queue.put(b"x" * 10)
    done = threading.Event()

    def reader() -> None:
        queue.put(b"more")
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    time.sleep(0.1)  # a duration, not a synchronisation: the reader must stay held back
    assert not done.is_set()
    queue.take()
    queue.consumed(10)
    assert done.wait(2)


def test_closing_the_queue_releases_a_blocked_reader() -> None:
    queue = OutputQueue(limit=1)
    queue.put(b"x")
    done = threading.Event()
    threading.Thread(target=lambda: (queue.put(b"y"), done.set()), daemon=True).start()
    queue.close()
    assert done.wait(2)
