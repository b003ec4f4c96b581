"""The one rule for text from hosts: control characters shown, SGR kept in log lines only."""

from __future__ import annotations

import json

import pytest

from corral.tui.cli.support import print_json, warn
from corral.tui.present.safe import log_text, strip_sgr, visible, visible_lines
from corral.tui.present.table import format_table

HOSTILE = (
    "\x1b]52;c;cm0gLXJmIH4=\x07"  # clipboard write (OSC 52)
    "\x1b]0;pwned\x1b\\"  # window title, ST-terminated
    "\x1b[2J\x1b[H"  # clear screen, cursor home
    "\x1b[?1049h"  # alternate screen
    "\x1b[c\x1b[6n"  # device attributes and cursor position queries
    "\x1bP+q544e\x1b\\"  # DCS (XTGETTCAP)
    "\x9b31m\x9d0;x\x9c"  # C1 CSI, OSC, ST
    "\x08\x7f\x1b"  # backspace, DEL, lone ESC
)


def _no_controls(text: str) -> bool:
    return not any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in text)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("web-1", "web-1"),
        ("ünïcode ✓ 日本", "ünïcode ✓ 日本"),
        ("a\x1b]0;t\x07b", r"a\x1b]0;t\x07b"),
        ("\x1b[31mred\x1b[0m", r"\x1b[31mred\x1b[0m"),  # names keep no colour
        ("tab\tnew\nline\r", r"tab\x09new\x0aline\x0d"),
        ("c1\x9b1m", r"c1\x9b1m"),
        ("evil\u202etxt.exe", r"evil\u202etxt.exe"),
        ("byte \udcff", r"byte \xff"),
    ],
)
def test_visible_shows_every_control_one_way(raw: str, shown: str) -> None:
    assert visible(raw) == shown


def test_visible_lines_keeps_newlines_only() -> None:
    assert visible_lines("a: 1\nb: \x1b[2J\n") == "a: 1\nb: \\x1b[2J\n"


def test_log_text_keeps_sgr_and_neutralises_everything_else() -> None:
    line = f"\x1b[1;31mred\x1b[0m {HOSTILE} \x1b[38:2:1:2:3mtrue\x1b[m\ttab\r"
    safe = log_text(line)
    assert safe.startswith("\x1b[1;31mred\x1b[0m ")
    assert safe.endswith("\x1b[38:2:1:2:3mtrue\x1b[m\ttab")  # trailing CR of a CRLF dropped
    assert strip_sgr(safe).count("\x1b") == 0
    assert _no_controls(strip_sgr(safe).replace("\t", ""))
    assert r"\x1b]52;c;cm0gLXJmIH4=\x07" in safe and r"\x1b[?1049h" in safe
    assert log_text("10%\r100%") == r"10%\x0d100%"  # a CR cannot hide what came before


def test_cli_tables_warnings_and_json_never_carry_controls(capsys) -> None:
    table = format_table(["NAME", "STACK"], [[f"evil{HOSTILE}", None]])
    assert _no_controls(table.replace("\n", ""))
    assert r"evil\x1b]52;c;" in table
    warn(f"lab1: engine said {HOSTILE}")
    assert _no_controls(capsys.readouterr().err.rstrip("\n"))
    # --json: JSON escapes controls itself (and every non-ASCII character).
    print_json({"name": f"evil{HOSTILE}"})
    out = capsys.readouterr().out
    assert _no_controls(out.replace("\n", "")) and json.loads(out)["name"] == f"evil{HOSTILE}"


def test_catalog_errors_and_lease_labels_use_the_same_unsafe_set() -> None:
    from corral.backends.deploy.lease import visible as lease_visible
    from corral.catalog.excerpt import excerpt

    hostile = "x\u202ey\u2066z\udcff\x9b"
    assert excerpt(hostile) == visible(hostile) == lease_visible(hostile)
