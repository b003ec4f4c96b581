"""Turning the bytes of a Docker logs response into timestamped lines.

The engine answers `GET /containers/{id}/logs` with an HTTP/1.1 chunked body.
Inside it, a container without a TTY multiplexes stdout and stderr in frames
(an 8-byte header: stream, three zero bytes, big-endian length); a TTY
container sends raw bytes. With `timestamps=1` every message starts with the
engine's RFC 3339 time (nanoseconds, fixed width) and a space.

docker-py reads such a body one chunk, then one frame, at a time: about 12 µs
per line. Decoding big reads here in one pass keeps up with the engine
(which replays ~120k lines/s) with one core to spare for the UI.
"""

from __future__ import annotations

import calendar
import struct
import time
from collections.abc import Callable
from typing import NamedTuple

#: `LogLine.stream` values.
STDOUT = 1
STDERR = 2
#: A line Corral wrote itself: a stream ended, a host went away, a replica appeared.
NOTICE = 3

_HEADER = struct.Struct(">BxxxL")
#: The engine stores a line longer than this in pieces of exactly this many
#: bytes (each but the last without a newline) and sends the pieces as
#: separate messages; `docker logs` shows them as one line, and so does Corral.
FRAGMENT = 16 * 1024
#: Longest line put back together; past it the pieces go out as they are (a
#: container printing gigabytes without a newline must not hold them all).
MAX_JOINED = 4 * 1024 * 1024
#: Where a piece ends inside a TTY container's line: the next piece's timestamp.
_STAMP_LEN = 31


class LogLine(NamedTuple):
    """One line of one container, or one notice about it.

    Attributes:
        ts: Engine time in nanoseconds since the epoch (local time for notices).
        source: Index of the line's source in its follower's `sources`.
        stream: `STDOUT`, `STDERR` or `NOTICE`.
        text: The line without its newline, escapes and all; bytes that are
            not UTF-8 are kept as lone surrogates (`surrogateescape`), so
            the exact bytes can be written back.
    """

    ts: int
    source: int
    stream: int
    text: str


class ChunkedBody:
    """Incremental decoder of an HTTP/1.1 chunked body.

    Attributes:
        done: The terminating zero-length chunk was seen: the engine ended
            the stream on purpose (as opposed to a dropped connection).
    """

    def __init__(self) -> None:
        self._pending = b""
        self._left = 0  # bytes of the current chunk still to come
        self._skip = 0  # bytes of the CRLF after a chunk still to come
        self.done = False

    def feed(self, data: bytes) -> bytes:
        """Decode what `data` completes; keep the rest for the next call.

        Returns:
            The payload bytes decoded so far (possibly empty).
        """
        if self.done:
            return b""
        buf = self._pending + data if self._pending else data
        size = len(buf)
        pos = self._skip if self._skip < size else size
        self._skip -= pos
        left = self._left
        out = []
        append = out.append
        find = buf.find
        while pos < size:
            if left:
                end = pos + left
                if end > size:
                    append(buf[pos:])
                    left = end - size
                    pos = size
                    break
                append(buf[pos:end])
                left = 0
                pos = end + 2  # the CRLF closing the chunk
                if pos > size:
                    self._skip = pos - size
                    pos = size
                continue
            eol = find(b"\r\n", pos)
            if eol < 0:
                break
            head = buf[pos:eol]
            length = int(head.split(b";", 1)[0] if b";" in head else head, 16)
            pos = eol + 2
            if length == 0:
                self.done = True
                break
            left = length
        self._left = left
        self._pending = buf[pos:] if pos < size and not self.done else b""
        return b"".join(out)


class MessageDecoder:
    """Splits a logs payload into `(stream, message)` pairs.

    Args:
        tty: The container has a TTY: no frame headers, lines end at `\\n`.
    """

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self._pending = b""

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Decode the complete messages `data` finishes."""
        buf = self._pending + data if self._pending else data
        if self.tty:
            parts = buf.split(b"\n")
            self._pending = parts.pop()
            return [(STDOUT, part) for part in parts]
        out = []
        pos, size = 0, len(buf)
        unpack = _HEADER.unpack_from
        while size - pos >= 8:
            stream, length = unpack(buf, pos)
            end = pos + 8 + length
            if end > size:
                break
            out.append((STDERR if stream == 2 else STDOUT, buf[pos + 8 : end]))
            pos = end
        self._pending = buf[pos:]
        return out


class TimestampParser:
    """Engine timestamps to integer nanoseconds, caching the per-second part."""

    def __init__(self) -> None:
        self._seconds: dict[bytes, int] = {}

    def split(self, message: bytes) -> tuple[int, bytes]:
        """Split `TIMESTAMP SP TEXT` into (nanoseconds, text).

        A message without a parsable timestamp gets 0 and is returned whole.
        """
        # The fixed-width UTC form the engine uses: 2026-01-02T03:04:05.123456789Z
        if len(message) >= 31 and message[30] == 32 and message[29] == 90 and message[19] == 46:
            key = message[:19]
            seconds = self._seconds.get(key)
            if seconds is None:
                seconds = self._epoch(key)
            if seconds is not None:
                try:
                    return seconds * 1_000_000_000 + int(message[20:29]), message[31:]
                except ValueError:
                    pass
        head, sep, rest = message.partition(b" ")
        nanos = parse_rfc3339_ns(head.decode("ascii", "replace")) if sep else None
        return (nanos, rest) if nanos is not None else (0, message)

    def _epoch(self, key: bytes) -> int | None:
        try:
            parsed = time.strptime(key.decode("ascii"), "%Y-%m-%dT%H:%M:%S")
        except (ValueError, UnicodeDecodeError):
            return None
        if len(self._seconds) > 4096:
            self._seconds.clear()
        seconds = self._seconds[key] = calendar.timegm(parsed)
        return seconds


def parse_rfc3339_ns(text: str) -> int | None:
    """Parse an RFC 3339 time of any precision and zone to epoch nanoseconds."""
    if len(text) < 20 or text[10] not in "Tt ":
        return None
    try:
        seconds = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    rest = text[19:]
    nanos = 0
    if rest.startswith("."):
        digits = len(rest) - len(rest[1:].lstrip("0123456789")) - 1
        nanos = int((rest[1 : 1 + digits] + "000000000")[:9] or 0)
        rest = rest[1 + digits :]
    if rest in ("Z", "z"):
        offset = 0
    elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
        try:
            offset = (int(rest[1:3]) * 3600 + int(rest[4:6]) * 60) * (1 if rest[0] == "+" else -1)
        except ValueError:
            return None
    else:
        return None
    return (seconds - offset) * 1_000_000_000 + nanos


def format_rfc3339_ns(nanos: int) -> str:
    """Epoch nanoseconds as the engine writes them: `2026-01-02T03:04:05.123456789Z`."""
    seconds, frac = divmod(nanos, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:09d}Z"


class LineDecoder:
    """Bytes of a logs response to `LogLine`s of one source.

    Args:
        source: The source index the lines get.
        tty: Whether the container has a TTY.
    """

    def __init__(self, source: int, tty: bool) -> None:
        self.source = source
        self.tty = tty
        self.body = ChunkedBody()
        self.messages = MessageDecoder(tty)
        self.times = TimestampParser()
        #: Pieces of a long line still to be completed, by stream: (time, pieces, size).
        self._pieces: dict[int, tuple[int, list[bytes], int]] = {}

    @property
    def done(self) -> bool:
        """The engine ended the body cleanly."""
        return self.body.done

    def feed(self, data: bytes) -> list[LogLine]:
        """Decode the lines `data` completes."""
        payload = self.body.feed(data)
        if not payload:
            return self._rest() if self.body.done else []
        # The hot loop (one pass per line): TimestampParser.split's fast
        # path inlined, the fallback called only for other shapes.
        times = self.times
        seconds_of = times._seconds.get
        source = self.source
        make = tuple.__new__  # half the cost of calling the NamedTuple
        pieces = self._pieces
        tty = self.tty
        lines = []
        append = lines.append
        for stream, message in self.messages.feed(payload):
            seconds = None
            if len(message) >= 31 and message[30] == 32 and message[29] == 90:
                key = message[:19]
                seconds = seconds_of(key)
                if seconds is None:
                    seconds = times._epoch(key)
            if seconds is not None and message[20:29].isdigit():
                nanos, text = seconds * 1_000_000_000 + int(message[20:29]), message[31:]
            else:
                nanos, text = times.split(message)
            if text[-1:] == b"\n":
                text = text[:-2] if text[-2:-1] == b"\r" else text[:-1]
            elif len(text) == FRAGMENT and not tty:
                self._hold(stream, nanos, text, append)
                continue
            elif text[-1:] == b"\r":
                text = text[:-1]
            if tty and len(text) > FRAGMENT:
                text = _unstamp(text)
            if pieces and stream in pieces:
                nanos, held, _ = pieces.pop(stream)
                held.append(text)
                text = b"".join(held)
            append(make(LogLine, (nanos, source, stream, text.decode("utf-8", "surrogateescape"))))
        if self.body.done:
            lines += self._rest()
        return lines

    def _hold(self, stream: int, nanos: int, text: bytes, append: Callable) -> None:
        """Keep one piece of a long line until its last piece comes."""
        held = self._pieces.get(stream)
        if held is None:
            self._pieces[stream] = (nanos, [text], len(text))
            return
        first, parts, size = held
        parts.append(text)
        size += len(text)
        if size < MAX_JOINED:
            self._pieces[stream] = (first, parts, size)
            return
        del self._pieces[stream]
        line = b"".join(parts).decode("utf-8", "surrogateescape")
        append(tuple.__new__(LogLine, (first, self.source, stream, line)))

    def _rest(self) -> list[LogLine]:
        """Pieces whose line never ended (the stream did), as lines."""
        rest = [
            LogLine(nanos, self.source, stream, b"".join(parts).decode("utf-8", "surrogateescape"))
            for stream, (nanos, parts, _) in self._pieces.items()
        ]
        self._pieces.clear()
        return rest


def _unstamp(text: bytes) -> bytes:
    """A TTY container's long line without the timestamps the engine put between its pieces."""
    out = []
    pos = 0
    while len(text) - pos > FRAGMENT:
        cut = pos + FRAGMENT
        stamp = text[cut : cut + _STAMP_LEN]
        if not (len(stamp) == _STAMP_LEN and stamp[30] == 32 and stamp[29] == 90
                and stamp[19] == 46 and stamp[10] == 84):
            break
        out.append(text[pos:cut])
        pos = cut + _STAMP_LEN
    if not out:
        return text
    out.append(text[pos:])
    return b"".join(out)
