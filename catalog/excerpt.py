"""Short, printable excerpts of untrusted text for error messages.

A message that quotes a file's line or a value must not carry a whole file
(a compose file that is really `/etc/shadow`) nor terminal control sequences
into the operator's terminal: it quotes at most `MAX_EXCERPT` characters,
with control characters made visible.
"""

from __future__ import annotations

#: The longest excerpt of a value or line an error message quotes.
MAX_EXCERPT = 80

#: The longest message a catalog, inventory or configuration error carries.
MAX_MESSAGE = 400


def excerpt(text: object, limit: int = MAX_EXCERPT) -> str:
    """A short, printable excerpt of `text` for an error message.

    Control characters (newlines, escapes, DEL, C1) are shown as `\\n`,
    `\\x1b`…, and anything past `limit` characters is cut with `…`.
    """
    shown = []
    length = 0
    for char in str(text)[: limit + 1]:
        code = ord(char)
        if code < 0x20 or 0x7F <= code < 0xA0 or char in "\u2028\u2029":
            piece = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char, f"\\x{code:02x}"
                                                                 if code < 0x100 else
                                                                 f"\\u{code:04x}")
        else:
            piece = char
        if length + len(piece) > limit:
            return "".join(shown) + "…"
        shown.append(piece)
        length += len(piece)
    return "".join(shown)


def quoted(value: object, limit: int = MAX_EXCERPT) -> str:
    """`repr`-like quoting of a value, through `excerpt`: `'abc'`, `'aaaa…'`."""
    if isinstance(value, str):
        return "'" + excerpt(value, limit) + "'"
    return excerpt(repr(value), limit)


def clip_message(message: str, limit: int = MAX_MESSAGE) -> str:
    """A message made safe to print on one line: control characters visible,
    at most `limit` characters."""
    return excerpt(message, limit)
