"""Key translation: Textual key events → the bytes an xterm sends."""

from __future__ import annotations

import pytest

from corral.tui.console.widgets.terminal.keys import encode_key, encode_paste

CASES = [
    # key, character, application cursor mode, bytes
    ("enter", "\r", False, b"\r"),
    ("tab", "\t", False, b"\t"),
    ("shift+tab", None, False, b"\x1b[Z"),
    ("backspace", "\x7f", False, b"\x7f"),
    ("escape", "\x1b", False, b"\x1b"),
    ("space", " ", False, b" "),
    ("up", None, False, b"\x1b[A"),
    ("down", None, False, b"\x1b[B"),
    ("right", None, False, b"\x1b[C"),
    ("left", None, False, b"\x1b[D"),
    ("up", None, True, b"\x1bOA"),
    ("left", None, True, b"\x1bOD"),
    ("home", None, False, b"\x1b[H"),
    ("end", None, False, b"\x1b[F"),
    ("home", None, True, b"\x1bOH"),
    ("ctrl+up", None, True, b"\x1b[1;5A"),
    ("shift+right", None, False, b"\x1b[1;2C"),
    ("alt+left", None, False, b"\x1b[1;3D"),
    ("ctrl+shift+left", None, False, b"\x1b[1;6D"),
    ("pageup", None, False, b"\x1b[5~"),
    ("pagedown", None, False, b"\x1b[6~"),
    ("insert", None, False, b"\x1b[2~"),
    ("delete", None, False, b"\x1b[3~"),
    ("ctrl+delete", None, False, b"\x1b[3;5~"),
    ("f1", None, False, b"\x1bOP"),
    ("f4", None, False, b"\x1bOS"),
    ("f5", None, False, b"\x1b[15~"),
    ("f10", None, False, b"\x1b[21~"),
    ("f12", None, False, b"\x1b[24~"),
    ("ctrl+f1", None, False, b"\x1b[1;5P"),
    ("ctrl+f5", None, False, b"\x1b[15;5~"),
    ("f13", None, False, b"\x1b[1;2P"),  # what terminals report for shift+F1
    ("f17", None, False, b"\x1b[15;2~"),
    # Pilot and some terminals deliver control keys without a character.
    ("ctrl+c", None, False, b"\x03"),
    ("ctrl+c", "\x03", False, b"\x03"),
    ("ctrl+a", None, False, b"\x01"),
    ("ctrl+z", None, False, b"\x1a"),
    ("ctrl+d", None, False, b"\x04"),
    ("ctrl+r", None, False, b"\x12"),
    ("ctrl+shift+a", None, False, b"\x01"),
    ("ctrl+@", None, False, b"\x00"),
    ("ctrl+space", None, False, b"\x00"),
    ("ctrl+backslash", None, False, b"\x1c"),
    ("ctrl+circumflex_accent", None, False, b"\x1e"),
    ("ctrl+underscore", None, False, b"\x1f"),
    ("alt+x", "x", False, b"\x1bx"),
    ("alt+x", None, False, b"\x1bx"),
    ("alt+shift+x", "X", False, b"\x1bX"),
    ("alt+shift+x", None, False, b"\x1bX"),
    ("alt+ctrl+c", None, False, b"\x1b\x03"),
    ("alt+backspace", None, False, b"\x1b\x7f"),
    ("a", "a", False, b"a"),
    ("A", "A", False, b"A"),
    ("shift+a", "A", False, b"A"),
    ("full_stop", ".", False, b"."),
    ("eacute", "é", False, "é".encode()),
]


@pytest.mark.parametrize(("key", "character", "app_cursor", "expected"), CASES)
def test_key_bytes(key: str, character: str | None, app_cursor: bool, expected: bytes) -> None:
    assert encode_key(key, character, app_cursor=app_cursor) == expected


@pytest.mark.parametrize("key", ["ctrl+f24x", "ctrl+comma", "<scroll-up>"])
def test_keys_without_terminal_meaning_are_left_alone(key: str) -> None:
    assert encode_key(key, None) is None


def test_paste_sends_line_ends_as_enter() -> None:
    assert encode_paste("ls\necho 1\r\n", bracketed=False) == b"ls\recho 1\r"


def test_bracketed_paste_is_wrapped_and_cannot_escape() -> None:
    data = encode_paste("a\n\x1b[201~rm -rf /\n", bracketed=True)
    assert data == b"\x1b[200~a\rrm -rf /\r\x1b[201~"
