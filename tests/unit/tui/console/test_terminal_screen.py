"""The emulator's screen: query answers, alternate screen, scrollback, resize."""

from __future__ import annotations

import pytest

from corral.tui.console.widgets.terminal.screen import TerminalScreen, make_stream


def screen_with_replies(columns: int = 20, lines: int = 5, **kwargs):
    replies: list[bytes] = []
    screen = TerminalScreen(columns, lines, reply=replies.append, **kwargs)
    return screen, make_stream(screen), replies


def rows(screen: TerminalScreen) -> list[str]:
    return [line.rstrip() for line in screen.display]


def history_text(screen: TerminalScreen) -> list[str]:
    return [
        (row if isinstance(row, str) else "".join(c.data for _, c in sorted(row.items()))).rstrip()
        for row in screen.history
    ]


@pytest.mark.parametrize(
    ("size", "output", "answers"),
    [
        # busybox sh asks where the cursor is at every prompt.
        ((20, 5), b"/ # \x1b[6n\x1b[3;7H\x1b[6n", [b"\x1b[1;5R", b"\x1b[3;7R"]),
        # After a full line the cursor waits in the last column.
        ((10, 5), b"0123456789\x1b[6n", [b"\x1b[1;10R"]),
        # Device status, then primary device attributes.
        ((20, 5), b"\x1b[5n\x1b[c", [b"\x1b[0n", b"\x1b[?6c"]),
        # In origin mode rows count from the top of the scrolling region.
        ((20, 10), b"\x1b[3;8r\x1b[?6h\x1b[2;1H\x1b[6n", [b"\x1b[2;1R"]),
    ],
)
def test_queries_are_answered(size: tuple[int, int], output: bytes, answers: list[bytes]) -> None:
    screen, stream, replies = screen_with_replies(*size)
    stream.feed(output)
    assert replies == answers


def test_alternate_screen_restores_the_shell_screen_and_cursor() -> None:
    screen, stream, _ = screen_with_replies()
    stream.feed(b"$ vi notes\r\n")
    before = rows(screen)
    cursor = (screen.cursor.x, screen.cursor.y)
    stream.feed(b"\x1b[?1049h\x1b[H\x1b[2Jfile contents\r\n~\r\n~")
    assert screen.in_alternate
    assert rows(screen)[0] == "file contents"
    stream.feed(b"\x1b[?1049l")
    assert not screen.in_alternate
    assert rows(screen) == before
    assert (screen.cursor.x, screen.cursor.y) == cursor


def test_alternate_screen_without_cursor_save() -> None:
    screen, stream, _ = screen_with_replies()
    stream.feed(b"prompt")
    stream.feed(b"\x1b[?47hfull screen\x1b[?47l")
    assert rows(screen)[0] == "prompt"


def test_scrollback_keeps_rows_scrolled_off_but_not_the_alternate_screens() -> None:
    screen, stream, _ = screen_with_replies(lines=3)
    stream.feed(b"".join(b"line %d\r\n" % n for n in range(6)))
    assert history_text(screen) == ["line 0", "line 1", "line 2", "line 3"]
    stream.feed(b"\x1b[?1049h" + b"x\r\n" * 10 + b"\x1b[?1049l")
    assert len(screen.history) == 4


def test_scrollback_is_bounded_and_cleared_by_erase_saved_lines() -> None:
    screen, stream, _ = screen_with_replies(lines=2, history=5)
    stream.feed(b"n\r\n" * 50)
    assert len(screen.history) == 5
    stream.feed(b"\x1b[3J")
    assert len(screen.history) == 0


def test_shrinking_keeps_a_prompt_at_the_top() -> None:
    screen, stream, _ = screen_with_replies(lines=10)
    stream.feed(b"/ # ")
    screen.resize(4, 20)
    assert rows(screen)[0] == "/ #"
    assert screen.cursor.y == 0


def test_shrinking_drops_top_rows_into_the_scrollback_to_keep_the_cursor() -> None:
    screen, stream, _ = screen_with_replies(lines=6)
    stream.feed(b"a\r\nb\r\nc\r\nd\r\n$ ")
    screen.resize(3, 20)
    assert rows(screen) == ["c", "d", "$"]
    assert history_text(screen) == ["a", "b"]
    assert screen.cursor.y == 2


def test_modes_the_widget_reads() -> None:
    screen, stream, _ = screen_with_replies()
    assert not screen.app_cursor and not screen.bracketed_paste
    stream.feed(b"\x1b[?1h\x1b[?2004h")
    assert screen.app_cursor and screen.bracketed_paste
    stream.feed(b"\x1b[?1l\x1b[?2004l")
    assert not screen.app_cursor and not screen.bracketed_paste


def test_132_column_mode_is_ignored() -> None:
    screen, stream, _ = screen_with_replies(columns=20)
    stream.feed(b"\x1b[?3h")
    assert screen.columns == 20


def test_colours_and_attributes_reach_the_cells() -> None:
    screen, stream, _ = screen_with_replies()
    stream.feed(b"\x1b[1;31mR\x1b[0;4;38;5;208mO\x1b[0;7;38;2;1;2;3mT")
    red, orange, true = (screen.buffer[0][x] for x in range(3))
    assert (red.fg, red.bold) == ("red", True)
    assert (orange.fg, orange.underscore) == ("ff8700", True)
    assert (true.fg, true.reverse) == ("010203", True)
