"""Untrusted log text: colours kept, everything else made harmless and visible."""

from __future__ import annotations

import pytest

from corral.backends.logs.demux import NOTICE, STDERR, STDOUT, LogLine
from corral.backends.logs.follow import LogSource
from corral.tui.console.widgets.logs.format import (
    LineLook,
    format_time,
    plain_text,
    sanitize,
    source_colour,
    text_width,
)


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("plain", "plain"),
        ("\x1b[31mred\x1b[0m", "\x1b[31mred\x1b[0m"),  # SGR survives
        ("\x1b[2J\x1b[Hwiped", r"\x1b[2J\x1b[Hwiped"),  # clear screen, cursor home
        ("\x1b]0;owned\x07title", r"\x1b]0;owned\x07title"),  # window title
        ("\x1b]52;c;ZXZpbA==\x07clip", r"\x1b]52;c;ZXZpbA==\x07clip"),  # clipboard write
        ("\x1b[?1049hscreen", r"\x1b[?1049hscreen"),  # alternate screen
        ("\x1b[cquery", r"\x1b[cquery"),  # device attributes query
        ("\x1bPqsixel\x1b\\after", r"\x1bPqsixel\x1b\after"),  # DCS
        ("bell\x07", r"bell\x07"),
        ("back\x08space", r"back\x08space"),
        ("\x9b31mC1", r"\x9b31mC1"),  # 8-bit CSI
        ("evil\u202etxt", r"evil\u202etxt"),  # right-to-left override
        ("progress 10%\rprogress 100%\r", r"progress 10%\x0dprogress 100%"),  # CR trick shown
        ("bad \udcff byte", r"bad \xff byte"),  # not UTF-8 (surrogateescape)
        ("a\tb", "a       b"),
    ],
)
def test_sanitize(raw: str, safe: str) -> None:
    assert sanitize(raw) == safe


def test_widths_count_what_shows() -> None:
    assert text_width("\x1b[1;32mok\x1b[0m") == 2
    assert plain_text("\x1b[1;32mok\x1b[0m done") == "ok done"
    assert text_width("日本") == 4
    assert text_width("a\tb") == 9


def test_colours_are_stable_per_source() -> None:
    assert source_colour("lab1/web-1") == source_colour("lab1/web-1")
    assert len({source_colour(f"lab{n}/web-{n}") for n in range(12)}) > 4


def test_a_line_shows_time_prefix_and_stream_mark() -> None:
    look = LineLook([LogSource("lab1", "abc", "web-1"), LogSource("lab2", "def", "web-22")])
    look.timestamps = look.prefix = True
    look.fit_labels()
    ts = 1_795_627_327_334_873_885
    out = look.render(LogLine(ts, 0, STDERR, "\x1b[33mwarn\x1b[0m \x1b[2Jx")).plain
    assert out == "2026-11-25T17:22:07.334Z lab1/web-1  ┃ warn \\x1b[2Jx"
    assert look.plain(LogLine(ts, 1, STDOUT, "hi")) == "2026-11-25T17:22:07.334Z lab2/web-22 │ hi"
    assert look.plain(LogLine(ts, 1, NOTICE, "stopped")).endswith("» stopped")
    assert format_time(ts) == "2026-11-25T17:22:07.334Z"
    assert look.lead_width == (24 + 1) + (11 + 1) + 2
