"""Short, printable excerpts of untrusted text for error messages.

A message that quotes a file's line or a value must not carry a whole file
(a compose file that is really `/etc/shadow`) nor terminal control sequences
into the operator's terminal: it quotes at most `MAX_EXCERPT` characters,
with control characters made visible.
"""

from __future__ import annotations

import re

#: Characters never drawn as they are, besides C0 controls: DEL, C1 controls,
#: the Arabic letter mark, line/paragraph separators, bidi embeddings,
#: overrides and isolates (they reorder what follows), and lone surrogates
#: (bytes that were not UTF-8, decoded with `surrogateescape`). One set for
#: catalog errors here and host text in `tui/present/safe.py`.
UNSAFE_BEYOND_C0 = "\x7f-\x9f\u061c\u2028\u2029\u202a-\u202e\u2066-\u2069\udc80-\udcff"
#: Every character shown escaped (a regex character class body).
UNSAFE = "\x00-\x1f" + UNSAFE_BEYOND_C0
_UNSAFE_CHAR = re.compile(f"[{UNSAFE}]")

#: The longest excerpt of a value or line an error message quotes.
MAX_EXCERPT = 80

#: The longest message a catalog, inventory or configuration error carries.
MAX_MESSAGE = 400


def shown(char: str) -> str:
    """One unsafe character as printable text: `\\x1b`, `\\u202e`, `\\xff` for a
    byte that was not UTF-8."""
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def excerpt(text: object, limit: int = MAX_EXCERPT) -> str:
    """A short, printable excerpt of `text` for an error message.

    Control characters (newlines, escapes, DEL, C1, bidi overrides) are
    shown as `\\n`, `\\x1b`, `\\u202e`…, and anything past `limit` characters is cut with `…`.
    """
    pieces: list[str] = []
    length = 0
    for char in str(text)[: limit + 1]:
        if _UNSAFE_CHAR.match(char):
            piece = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char) or shown(char)
        else:
            piece = char
        if length + len(piece) > limit:
            return "".join(pieces) + "…"
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)


def quoted(value: object, limit: int = MAX_EXCERPT) -> str:
    """`repr`-like quoting of a value, through `excerpt`: `'abc'`, `'aaaa…'`."""
    if isinstance(value, str):
        return "'" + excerpt(value, limit) + "'"
    return excerpt(repr(value), limit)


def clip_message(message: str, limit: int = MAX_MESSAGE) -> str:
    """A message made safe to print on one line: control characters visible,
    at most `limit` characters."""
    return excerpt(message, limit)
