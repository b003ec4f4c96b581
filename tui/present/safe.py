"""Text from hosts made safe to show on the operator's terminal.

Everything a host hands us — container, image, volume and network names,
labels, environment, log lines, events, engine error messages — is
untrusted. Written to a terminal as is, an escape sequence in a label could
retitle the window, write the clipboard (OSC 52), clear the screen, switch
to the alternate screen, or ask the terminal a question whose answer lands
on the operator's command line. So every string from a host is shown with
its control characters made visible, in one form everywhere: `\\x1b`,
`\\x07`, `\\x9b` (C0, DEL and C1 controls), `\\u202e` (bidirectional
overrides, which reorder what follows them), and a byte that is not UTF-8
as `\\xff`. The command line and the console both use this module.

Log lines are the one place colours are kept: `log_text` lets SGR
sequences (`ESC [ params m`) through and makes every other control visible.
"""

from __future__ import annotations

import re

from corral.catalog.excerpt import UNSAFE, UNSAFE_BEYOND_C0, shown

_CONTROL = re.compile(f"[{UNSAFE}]")
#: SGR: only digits, `;` and `:` between `ESC [` and `m` (colours, bold…).
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
#: In a log line: SGR kept (group 1), tabs kept, every other control shown (group 2).
_LOG_TOKENS = re.compile(r"(\x1b\[[0-9;:]*m)|([\x00-\x08\x0a-\x1f" + UNSAFE_BEYOND_C0 + "])")


def _shown_match(match: re.Match) -> str:
    return shown(match.group())


def visible(text: str) -> str:
    """`text` with every control character shown as `\\xNN` (or `\\uNNNN`).

    For one-line strings from a host: names, labels, image names, engine
    messages. Newlines and tabs are shown too (`\\x0a`, `\\x09`).
    """
    if text.isascii() and text.isprintable():
        return text
    return _CONTROL.sub(_shown_match, text)


def visible_lines(text: str) -> str:
    """Like `visible`, but newlines stay: for multi-line text (describe, YAML)."""
    if "\n" not in text:
        return visible(text)
    return "\n".join(visible(line) for line in text.split("\n"))


def _log_token(match: re.Match) -> str:
    sgr = match.group(1)
    return sgr if sgr else shown(match.group(2))


def log_text(text: str) -> str:
    """A log line safe to write to a terminal: SGR colours kept, every other control shown.

    A trailing carriage return (a CRLF line end) is dropped; one inside the
    line, which a terminal would use to overwrite what came before, is shown.
    Tabs stay.
    """
    if text.isascii() and text.isprintable():
        return text
    text = text.rstrip("\r")
    return _LOG_TOKENS.sub(_log_token, text)


def strip_sgr(text: str) -> str:
    """`text` without its SGR sequences (what a reader sees of a `log_text` line)."""
    return _SGR.sub("", text) if "\x1b[" in text else text


def has_unsafe(text: str) -> bool:
    """Whether `visible` would change `text`."""
    return not (text.isascii() and text.isprintable()) and _CONTROL.search(text) is not None
