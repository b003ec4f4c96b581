"""A log view's retained history: recent lines in memory, older ones on disk.

Lines get consecutive sequence numbers. The newest `memory_lines` stay in a
list; older ones move to temporary segment files (one record per line, with
an array of byte offsets per segment, so any line is one `pread` away).
Beyond `max_lines` the oldest whole segment is dropped. Memory is therefore
bounded by `memory_lines` plus 8 bytes per spooled line, and disk by
`max_lines`.

Thread-safe: the UI appends while a save or a search may read.
"""

from __future__ import annotations

import os
import tempfile
import threading
from array import array
from collections.abc import Iterator

from corral.backends.logs.demux import LogLine

#: Records read per `pread` when iterating over a segment.
_READ_BLOCK = 4096
#: Most lines moved to disk at once past the memory bound: one move (encoding
#: and writing them, on the UI thread) stays a few milliseconds, while the
#: list's front is still not shifted for every batch.
SPILL_SLICE = 4096


class _Segment:
    """One spool file: lines `first .. first + len(offsets) - 1`."""

    def __init__(self, first: int, directory: str | None) -> None:
        self.first = first
        # Closed by `close()`; anonymous, so nothing is left behind even on a crash.
        self.file = tempfile.TemporaryFile(prefix="corral-logs-", dir=directory)  # noqa: SIM115
        self.fd = self.file.fileno()
        self.offsets = array("Q")
        self.size = 0

    def __len__(self) -> int:
        return len(self.offsets)

    def write(self, lines: list[LogLine]) -> None:
        records = [
            b"%d %d %d %s\n" % (ts, source, stream, text.encode("utf-8", "surrogateescape"))
            for ts, source, stream, text in lines
        ]
        offsets = self.offsets
        position = self.size
        for record in records:
            offsets.append(position)
            position += len(record)
        os.pwrite(self.fd, b"".join(records), self.size)
        self.size = position

    def read(self, start: int, stop: int) -> list[LogLine]:
        """Lines `start .. stop - 1` (indexes within the segment)."""
        begin = self.offsets[start]
        end = self.offsets[stop] if stop < len(self.offsets) else self.size
        data = os.pread(self.fd, end - begin, begin)
        return [_decode(record) for record in data.split(b"\n")[: stop - start]]

    def close(self) -> None:
        self.file.close()


def _decode(record: bytes) -> LogLine:
    ts, source, stream, text = record.split(b" ", 3)
    return LogLine(int(ts), int(source), int(stream), text.decode("utf-8", "surrogateescape"))


class LogHistory:
    """Bounded history of a log view with random access by sequence number.

    Args:
        max_lines: Lines retained in all (the oldest go first).
        memory_lines: Lines kept in memory; older ones are spooled to disk.
        segment_lines: Lines per spool file (the unit of dropping).
        directory: Where spool files go (default: the system's temp dir).
    """

    def __init__(
        self,
        max_lines: int = 1_000_000,
        memory_lines: int = 100_000,
        segment_lines: int = 65_536,
        directory: str | None = None,
    ) -> None:
        self.max_lines = max(1, max_lines)
        self.memory_lines = max(1, min(memory_lines, self.max_lines))
        self.segment_lines = max(1, segment_lines)
        self.directory = directory
        self._lock = threading.RLock()
        # Plain tuples, not `LogLine`s: the collector stops tracking a plain
        # tuple of strings and ints, never a named tuple, and a hundred
        # thousand tracked lines make every full collection a visible stall.
        self._memory: list[tuple] = []
        self._memory_first = 0  # sequence number of _memory[0]
        self._segments: list[_Segment] = []
        self.first = 0  # oldest retained sequence number
        self.end = 0  # next sequence number

    def __len__(self) -> int:
        return self.end - self.first

    @property
    def spooled(self) -> int:
        """Lines currently on disk."""
        return self._memory_first - self.first

    def append(self, lines: list[LogLine]) -> int:
        """Add lines at the end.

        Returns:
            How many of the oldest lines were dropped to stay under `max_lines`.
        """
        with self._lock:
            before = self.first
            self._memory.extend(map(tuple, lines))
            self.end += len(lines)
            # Hysteresis: spill in slices (1/8 of memory, at most SPILL_SLICE), not per batch.
            if len(self._memory) > self.memory_lines + min(SPILL_SLICE, self.memory_lines // 8):
                self._spill(len(self._memory) - self.memory_lines)
            self._trim()
            return self.first - before

    def _spill(self, count: int) -> None:
        if self.max_lines <= self.memory_lines:
            return  # nothing would be kept on disk: `_trim` drops the excess
        moved = 0
        while moved < count:
            segment = self._segments[-1] if self._segments else None
            if segment is None or len(segment) >= self.segment_lines:
                segment = _Segment(self._memory_first + moved, self.directory)
                self._segments.append(segment)
            take = min(count - moved, self.segment_lines - len(segment))
            segment.write(self._memory[moved : moved + take])
            moved += take
        del self._memory[:count]
        self._memory_first += count

    def _trim(self) -> None:
        # Whole segments go, oldest first: the history may dip up to one
        # segment below the cap, never above it.
        while len(self) > self.max_lines and self._segments:
            self._segments.pop(0).close()
            self.first = self._segments[0].first if self._segments else self._memory_first
        excess = len(self) - self.max_lines
        if excess > 0:
            del self._memory[:excess]
            self._memory_first += excess
            self.first = self._memory_first

    def get(self, seq: int) -> LogLine | None:
        """The line with sequence number `seq`, or None if not retained."""
        with self._lock:
            if seq >= self._memory_first:
                index = seq - self._memory_first
                return LogLine._make(self._memory[index]) if index < len(self._memory) else None
            if seq < self.first:
                return None
            segment = self._segment_of(seq)
            return segment.read(seq - segment.first, seq - segment.first + 1)[0]

    def range(self, start: int, stop: int) -> list[LogLine]:
        """Retained lines with sequence numbers in `start .. stop - 1`."""
        with self._lock:
            start, stop = max(start, self.first), min(stop, self.end)
            out: list[LogLine] = []
            seq = start
            while seq < stop and seq < self._memory_first:
                segment = self._segment_of(seq)
                upto = min(stop, segment.first + len(segment))
                out.extend(segment.read(seq - segment.first, upto - segment.first))
                seq = upto
            if seq < stop:
                base = self._memory_first
                out.extend(map(LogLine._make, self._memory[seq - base : stop - base]))
            return out

    def iter(self, start: int | None = None, stop: int | None = None) -> Iterator[LogLine]:
        """Lines from `start` to `stop`, a block at a time (lines dropped meanwhile are skipped)."""
        seq = self.first if start is None else start
        stop = self.end if stop is None else stop
        while seq < stop:
            seq = max(seq, self.first)
            upto = min(stop, seq + _READ_BLOCK)
            yield from self.range(seq, upto)
            seq = upto

    def _segment_of(self, seq: int) -> _Segment:
        low, high = 0, len(self._segments) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if self._segments[middle].first <= seq:
                low = middle
            else:
                high = middle - 1
        return self._segments[low]

    def clear(self) -> None:
        """Forget every line (sequence numbers keep counting)."""
        with self._lock:
            for segment in self._segments:
                segment.close()
            self._segments = []
            self._memory = []
            self._memory_first = self.first = self.end

    def close(self) -> None:
        """Delete the spool files."""
        self.clear()
