"""Merging the lines of several containers into timestamp order.

Each container's lines arrive in order, but containers on different hosts
arrive at different moments. A line is released once no open source can
still send an earlier one (every open, recently active source has sent a
line at least as late), or once it has waited `window` seconds, or when
more than `max_held` lines are waiting: the reorder window is bounded in
time and in memory.
"""

from __future__ import annotations

import heapq
import itertools

from corral.backends.logs.demux import LogLine


class Merger:
    """A bounded reorder window over many sources.

    Args:
        window: Longest time (seconds) a line is held back for ordering.
        max_held: Most lines held at once; beyond it the earliest go out.
    """

    def __init__(self, window: float = 0.2, max_held: int = 20_000) -> None:
        self.window = window
        self.max_held = max_held
        self._heap: list[tuple[int, int, float, LogLine]] = []
        self._order = itertools.count()
        self._last_ts: dict[int, int] = {}
        self._last_seen: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self._heap)

    def open(self, source: int, now: float) -> None:
        """Declare a source that may send lines (it holds the window open)."""
        self._last_ts.setdefault(source, 0)
        self._last_seen[source] = now

    def close(self, source: int) -> None:
        """A source will send nothing more for now: stop waiting for it."""
        self._last_ts.pop(source, None)
        self._last_seen.pop(source, None)

    def push(self, lines: list[LogLine], now: float) -> list[LogLine]:
        """Add one source's lines (in its own order).

        Returns:
            Lines that may go out at once: with a single open source and
            nothing held, the window is skipped entirely.
        """
        if not lines:
            return []
        source = lines[-1].source
        if source in self._last_ts:
            self._last_ts[source] = max(self._last_ts[source], lines[-1].ts)
            self._last_seen[source] = now
        if not self._heap and len(self._last_ts) <= 1:
            return lines
        heap, order = self._heap, self._order
        for line in lines:
            heapq.heappush(heap, (line.ts, next(order), now, line))
        return []

    def pop_ready(self, now: float, final: bool = False) -> list[LogLine]:
        """Release, in timestamp order, every line allowed out by `now`.

        Args:
            now: `time.monotonic()`.
            final: Release everything (the follow is ending).
        """
        heap = self._heap
        if not heap:
            return []
        active = [
            ts for source, ts in self._last_ts.items()
            if now - self._last_seen[source] < self.window
        ]
        watermark = min(active) if active else None
        oldest_allowed = now - self.window
        out = []
        while heap:
            ts, _, arrived, line = heap[0]
            if not (
                final
                or watermark is None
                or ts <= watermark
                or arrived <= oldest_allowed
                or len(heap) > self.max_held
            ):
                break
            heapq.heappop(heap)
            out.append(line)
        return out
