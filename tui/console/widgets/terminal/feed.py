"""Output from the reader thread to the screen, bounded, with floods collapsed.

pyte parses 0.2–0.4 MB/s; `yes` writes far faster. Two things keep the
pane responsive and Ctrl-C prompt under such a flood:

* `OutputQueue` bounds what has been read but not yet shown: the reader
  thread blocks once `limit` bytes are outstanding, so the backlog stays in
  the tunnel instead of in memory.
* `collapse` drops output that would scroll off the screen before anyone
  could see it: within a run of plain lines (text, CR, LF, colours) longer
  than two screens, only the last screenful decides what the screen shows.
  Escape sequences that move the cursor or change modes are never dropped:
  output is only ever skipped where the result is provably the same screen.
  The dropped lines still reach the scrollback, as plain text.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

#: Escapes whose effect reaches beyond the rows they are drawn on: all but
#: colours (SGR) and erase-in-line. (One pattern per kind: an alternation
#: would lose the regex engine's fast scan for the ESC byte, 8x slower.)
_UNSAFE_ESCAPE = re.compile(rb"\x1b(?!\[[0-9;]*[mK])")
#: Charset shifts and the C1 (UTF-8) forms of CSI and OSC: as unsafe.
_UNSAFE_BYTES = (b"\x0e", b"\x0f", b"\xc2\x9b", b"\xc2\x9d")
_SGR = re.compile(rb"\x1b\[[0-9;]*m")
_SET_MARGINS = re.compile(rb"\x1b\[[0-9;]*r")


@dataclass(frozen=True)
class Skipped:
    """Output `collapse` took out of the stream.

    Attributes:
        text: The dropped lines (each ends with CRLF), for the scrollback.
        colours: The colour changes (SGR) they made, in order, to replay.
    """

    text: bytes
    colours: bytes

    @property
    def lines(self) -> int:
        """How many lines were dropped."""
        return self.text.count(b"\n")


def collapse(data: bytes | bytearray, rows: int) -> list[bytes | Skipped] | None:
    """Take out output that cannot affect the final screen.

    Take a stretch of "plain" output (text, control characters that move
    the cursor, colour changes, erase-in-line) from just after one CRLF to
    just after another (the cursor is at column 0 at both ends) holding at
    least `2 × rows` line feeds. Whatever the screen and cursor were before
    it, those line feeds bring the cursor to the bottom row and then scroll
    every earlier row away: the screen after the stretch depends only on its
    last `rows` lines. So everything before those lines is taken out (a
    `Skipped`); the feeder stands in for it by clearing the screen, homing
    the cursor and replaying the colour changes it made (see `TerminalView`),
    and the last `rows` lines then draw the same screen.

    The caller must only collapse when no scrolling region is set; a region
    set inside `data` stops collapsing from there on.

    Args:
        data: Output not yet fed to the screen, starting where the parser
            stands (or where earlier unfed output ends).
        rows: The screen's height.

    Returns:
        The output as pieces to feed in order (bytes, and `Skipped` for each
        span taken out), or None if nothing can be taken out.
    """
    if data.count(b"\r\n") <= 2 * rows:
        return None
    stretches = []
    start = 0
    for unsafe, end in _unsafe_spans(data):
        stretches.append((start, unsafe))
        start = end
        if _SET_MARGINS.match(data, unsafe):
            break
    else:
        stretches.append((start, len(data)))
    pieces: list[bytes | Skipped] = []
    done = 0
    for first, last in stretches:
        span = _droppable(data, first, last, rows)
        if span is None:
            continue
        begin, end = span
        dropped = bytes(data[begin:end])
        colours = fold_colours(dropped)
        if colours is None:
            continue
        pieces += [bytes(data[done:begin]), Skipped(dropped, colours)]
        done = end
    if not pieces:
        return None
    pieces.append(bytes(data[done:]))
    return [piece for piece in pieces if piece]


def _unsafe_spans(data: bytes | bytearray) -> list[tuple[int, int]]:
    """Where the unsafe escapes and bytes are, in order."""
    spans = [match.span() for match in _UNSAFE_ESCAPE.finditer(data)]
    for needle in _UNSAFE_BYTES:
        at = data.find(needle)
        while at >= 0:
            spans.append((at, at + len(needle)))
            at = data.find(needle, at + 1)
    return sorted(spans)


def _droppable(data: bytes | bytearray, first: int, last: int, rows: int) -> tuple[int, int] | None:
    """The span of the plain stretch `data[first:last]` that `collapse` may take out."""
    begin = data.find(b"\r\n", first, last)
    cut = data.rfind(b"\r\n", first, last)
    if begin < 0 or data.count(b"\r\n", begin + 2, cut + 2) < 2 * rows:
        return None
    keep = cut
    for _ in range(rows):
        keep = data.rfind(b"\r\n", begin + 2, keep)
    return begin + 2, keep + 2


#: Most colour changes `fold_colours` walks back through before giving up.
FOLD_LIMIT = 512


def fold_colours(text: bytes) -> bytes | None:
    """The colour changes (SGR) of `text` that still matter at its end.

    Everything before the last reset (`ESC[m`, `ESC[0m`, or a 0 among the
    parameters) is overridden by it, so only the changes from there on are
    kept: replaying them gives the same attributes as replaying all of them,
    at the cost of a few sequences instead of one per line of a coloured
    flood.

    Returns:
        The sequences to replay, or None if no reset was found within the
        last `FOLD_LIMIT` changes (the span is then not worth dropping).
    """
    kept: list[bytes] = []
    end = len(text)
    while len(kept) < FOLD_LIMIT:
        start = text.rfind(b"\x1b[", 0, end)
        if start < 0:
            return b"".join(reversed(kept))
        match = _SGR.match(text, start, end)
        end = start
        if match is None:
            continue
        kept.append(match.group())
        if _resets(match.group()[2:-1]):
            return b"".join(reversed(kept))
    return None


def _resets(params: bytes) -> bool:
    """Whether SGR parameters contain a reset (a 0 that is not a colour argument)."""
    values = params.split(b";")
    index = 0
    while index < len(values):
        value = values[index]
        if value in (b"", b"0", b"00"):
            return True
        if value in (b"38", b"48") and index + 1 < len(values):
            index += 3 if values[index + 1] == b"5" else 5
            continue
        index += 1
    return False


_SGR_OR_ERASE = re.compile(rb"\x1b\[[0-9;]*[mK]")
#: Control characters a plain row drops (CR and LF are handled apart).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_rows(skipped: Skipped, columns: int, limit: int) -> list[str]:
    """The last `limit` screen rows the dropped lines would have filled, as text.

    Colours are not kept (the scrollback shows them plain); a carriage return
    in mid-line overwrites from column 0, as on screen; long lines wrap.
    """
    parts = skipped.text.rsplit(b"\r\n", limit + 1)
    raw = _SGR_OR_ERASE.sub(b"", b"\r\n".join(parts[-(limit + 1):]))
    text = _CONTROLS.sub("", raw.decode("utf-8", "replace")).expandtabs(8)
    rows: list[str] = []
    for line in text.split("\r\n")[:-1]:
        if "\r" in line:
            shown = ""
            for part in line.split("\r"):
                shown = part + shown[len(part):]
            line = shown
        if len(line) <= columns:
            rows.append(line)
        else:
            rows += [line[i : i + columns] for i in range(0, len(line), columns)]
    return rows[-limit:]


class OutputQueue:
    """Bytes handed from one reader thread to the UI thread.

    `put` blocks while more than `limit` bytes are outstanding (read but
    not yet reported `consumed`), which holds the rest of a flood back in
    the tunnel.

    Args:
        limit: Outstanding bytes before `put` blocks.
    """

    def __init__(self, limit: int = 256 * 1024):
        self.limit = limit
        self._cond = threading.Condition()
        self._data = bytearray()
        self._outstanding = 0
        self._wake_pending = False
        self._closed = False
        #: Set by the UI while it is collapsing a flood; the reader then
        #: reads once a frame (see `throttled`).
        self.flooding = False
        self._urgent_until = 0.0

    def put(self, data: bytes, *, block: bool = True) -> bool:
        """Add output; the reader thread blocks here while the UI is behind.

        Args:
            data: The bytes.
            block: False to add regardless of the limit (from the UI thread,
                which must never wait on itself).

        Returns:
            True when the consumer should be woken: it has taken everything
            given so far and has not been told about new data yet.
        """
        with self._cond:
            while block and self._outstanding >= self.limit and not self._closed:
                self._cond.wait(0.5)
            if self._closed:
                return False
            self._data += data
            self._outstanding += len(data)
            if self._wake_pending:
                return False
            self._wake_pending = True
            return True

    def take(self) -> bytearray:
        """Everything given since the last call (UI thread)."""
        with self._cond:
            data, self._data = self._data, bytearray()
            self._wake_pending = False
            return data

    def consumed(self, count: int) -> None:
        """Report `count` bytes shown or dropped, letting the reader go on."""
        if count <= 0:
            return
        with self._cond:
            self._outstanding = max(0, self._outstanding - count)
            self._cond.notify_all()

    def hurry(self, seconds: float = 3.0) -> None:
        """Read at full speed for a while: the user just typed (Ctrl-C into a
        flood must not wait for the backlog at one read a frame)."""
        self._urgent_until = time.monotonic() + seconds

    @property
    def hurried(self) -> bool:
        """Whether the user typed a moment ago (see `hurry`)."""
        return time.monotonic() < self._urgent_until

    @property
    def throttled(self) -> bool:
        """Whether the reader should pause between reads."""
        return self.flooding and not self.hurried

    @property
    def pending(self) -> bool:
        """Whether output is waiting to be taken."""
        return bool(self._data)

    def close(self) -> None:
        """Release a blocked reader; later output is dropped."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
