"""Textual key events → the bytes an xterm sends for them.

Textual names keys (`up`, `ctrl+c`, `alt+x`, `f5`); a program in the
container expects the byte sequences of the `xterm-256color` terminal the
pane announces. Pure functions, no I/O, so every mapping is unit-tested.

Pilot (and some terminals) deliver `ctrl+c` with no character, so keys are
translated by name first and by character only for plain text.
"""

from __future__ import annotations

from textual.keys import key_to_character

ESC = b"\x1b"

#: Keys sent the same way whatever the modes.
_PLAIN = {
    "enter": b"\r",
    "tab": b"\t",
    "shift+tab": b"\x1b[Z",
    "backspace": b"\x7f",
    "ctrl+h": b"\x08",
    "escape": ESC,
    "space": b" ",
    "ctrl+@": b"\x00",
    "ctrl+space": b"\x00",
    "ctrl-at": b"\x00",
}

#: Cursor keys: final byte after `ESC [` (or `ESC O` in application mode).
_CURSOR = {"up": b"A", "down": b"B", "right": b"C", "left": b"D", "home": b"H", "end": b"F"}

#: F1–F4 are `ESC O P`…`ESC O S`.
_SS3_FUNCTION = {"f1": b"P", "f2": b"Q", "f3": b"R", "f4": b"S"}

#: Keys sent as `ESC [ n ~`.
_TILDE = {
    "insert": 2, "delete": 3, "pageup": 5, "pagedown": 6,
    "f5": 15, "f6": 17, "f7": 18, "f8": 19, "f9": 20, "f10": 21, "f11": 23, "f12": 24,
}

#: Ctrl with punctuation and digits: the legacy C0 codes xterm sends.
_CTRL_OTHER = {
    "at": 0x00, "space": 0x00, "2": 0x00,
    "left_square_bracket": 0x1B, "3": 0x1B,
    "backslash": 0x1C, "4": 0x1C,
    "right_square_bracket": 0x1D, "5": 0x1D,
    "circumflex_accent": 0x1E, "6": 0x1E,
    "underscore": 0x1F, "minus": 0x1F, "7": 0x1F, "slash": 0x1F,
    "question_mark": 0x7F, "8": 0x7F,
}

#: xterm's modifier parameter is 1 + the sum of these.
_MODIFIER_BITS = {"shift": 1, "alt": 2, "ctrl": 4, "meta": 8}


def encode_key(key: str, character: str | None, *, app_cursor: bool = False) -> bytes | None:
    """The bytes to send to the program for one key press.

    Args:
        key: Textual's key name (`event.key`).
        character: The character the key produced, if any (`event.character`).
        app_cursor: DECCKM is set (arrows then send `ESC O A`…).

    Returns:
        The bytes, or None for a key with no terminal meaning.
    """
    if key in _PLAIN:
        return _PLAIN[key]
    *modifiers, base = key.split("+")
    mods = set(modifiers)
    if base.startswith("f") and base[1:].isdigit() and 13 <= int(base[1:]) <= 24:
        # Terminals report shift+F1…F12 as F13…F24.
        base = f"f{int(base[1:]) - 12}"
        mods.add("shift")
    param = 1 + sum(_MODIFIER_BITS.get(mod, 0) for mod in mods)
    if base in _CURSOR:
        if param > 1:
            return b"\x1b[1;%d%s" % (param, _CURSOR[base])
        return (b"\x1bO" if app_cursor else b"\x1b[") + _CURSOR[base]
    if base in _SS3_FUNCTION:
        if param > 1:
            return b"\x1b[1;%d%s" % (param, _SS3_FUNCTION[base])
        return b"\x1bO" + _SS3_FUNCTION[base]
    if base in _TILDE:
        if param > 1:
            return b"\x1b[%d;%d~" % (_TILDE[base], param)
        return b"\x1b[%d~" % _TILDE[base]
    if "alt" in mods or "meta" in mods:
        # Alt sends ESC before what the key alone would send.
        rest = "+".join([m for m in modifiers if m not in ("alt", "meta")] + [base])
        if character is not None and len(character) == 1 and character.isprintable():
            return ESC + character.encode()
        inner = encode_key(rest, _character_of(rest), app_cursor=app_cursor)
        return ESC + inner if inner else None
    if "ctrl" in mods and mods <= {"ctrl", "shift"}:
        if len(base) == 1 and base.isascii() and base.isalpha():
            return bytes([ord(base.lower()) & 0x1F])
        if base in _CTRL_OTHER:
            return bytes([_CTRL_OTHER[base]])
        return None
    if character and (
        character.isprintable() or (len(character) == 1 and ord(character) < 0x20)
    ):
        return character.encode()
    return None


#: Punctuation by Textual key name. `key_to_character` finds most through
#: their Unicode names but not these (Unicode says SOLIDUS, HYPHEN-MINUS…);
#: `bar` and `vertical_line` are what bindings call `|`; `underscore` is `_`.
_PUNCTUATION = {
    "slash": "/", "minus": "-", "underscore": "_", "bar": "|", "vertical_line": "|", "plus": "+",
    "full_stop": ".", "comma": ",", "semicolon": ";", "apostrophe": "'",
    "quotation_mark": '"', "backslash": "\\", "grave_accent": "`",
    "left_square_bracket": "[", "right_square_bracket": "]",
}


def key_character(key: str, character: str | None) -> str | None:
    """The character a key types, when the event (or a binding's key name) lacks it.

    Args:
        key: Textual's key name.
        character: The event's character, if any.
    """
    if character is not None:
        return character
    if "+" in key:
        return None
    return _PUNCTUATION.get(key) or key_to_character(key)


def _character_of(key: str) -> str | None:
    if key.startswith("shift+") and len(key) == 7:
        return key[-1].upper()
    return key_to_character(key)


def encode_paste(text: str, *, bracketed: bool) -> bytes:
    """The bytes for pasted text.

    Line ends become CR (what the Enter key sends). In bracketed-paste mode
    the text is wrapped in `ESC[200~`…`ESC[201~` so the shell inserts it
    without running it line by line; an end marker inside the text is
    removed so a paste cannot break out of the brackets.
    """
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    if not bracketed:
        return text.encode()
    text = text.replace("\x1b[201~", "")
    return b"\x1b[200~" + text.encode() + b"\x1b[201~"
