"""Which history lines a log view shows, and on which screen rows.

Without a filter the view shows every retained line, so nothing is stored
per line. With a filter it keeps the sequence numbers of matching lines.
With wrapping on it also keeps, per shown line, the cumulative row count, so
finding the line under any row is a bisection. Arrays, not lists: 8 bytes a
line, and dropping old lines from the front is an index bump, compacted now
and then.
"""

from __future__ import annotations

import itertools
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

_COMPACT_AT = 8192


class RowMap:
    """Rows of a log view over history sequence numbers `first .. end - 1`."""

    def __init__(self) -> None:
        self.first = 0
        self.end = 0
        self._seqs: array | None = None  # shown lines when filtered
        self._skip = 0
        self._cum: array | None = None  # wrap: cumulative row ends per shown line
        self._cum_skip = 0
        self._row_base = 0  # first row of the first shown line, in _cum's terms

    @property
    def filtered(self) -> bool:
        """Whether only some lines are shown."""
        return self._seqs is not None

    @property
    def wrapped(self) -> bool:
        """Whether lines may take several rows."""
        return self._cum is not None

    @property
    def lines(self) -> int:
        """Shown lines."""
        if self._seqs is not None:
            return len(self._seqs) - self._skip
        return self.end - self.first

    @property
    def rows(self) -> int:
        """Rows the shown lines take."""
        if self._cum is None:
            return self.lines
        if len(self._cum) == self._cum_skip:
            return 0
        return self._cum[-1] - self._row_base

    def seq_at(self, index: int) -> int:
        """Sequence number of the `index`-th shown line."""
        if self._seqs is not None:
            return self._seqs[self._skip + index]
        return self.first + index

    def index_of(self, seq: int) -> int:
        """Index of the first shown line whose sequence number is `seq` or later."""
        if self._seqs is not None:
            return bisect_left(self._seqs, seq, self._skip) - self._skip
        return min(max(seq, self.first), self.end) - self.first

    def row_of(self, index: int) -> int:
        """First row of the `index`-th shown line."""
        if self._cum is None:
            return index
        at = self._cum_skip + index
        return (self._cum[at - 1] if at > self._cum_skip else self._row_base) - self._row_base

    def locate(self, row: int) -> tuple[int, int] | None:
        """The shown line under `row` and the row's offset within it."""
        if row < 0:
            return None
        if self._cum is None:
            return (self.seq_at(row), 0) if row < self.lines else None
        target = row + self._row_base
        at = bisect_right(self._cum, target, self._cum_skip)
        if at >= len(self._cum):
            return None
        start = self._cum[at - 1] if at > self._cum_skip else self._row_base
        return self.seq_at(at - self._cum_skip), target - start

    def reset(
        self,
        first: int,
        end: int,
        seqs: Iterable[int] | None = None,
        heights: Iterable[int] | None = None,
    ) -> None:
        """Start over: shown lines `seqs` (None: all of `first .. end - 1`), rows `heights`."""
        self.first, self.end = first, end
        self._seqs = array("q", seqs) if seqs is not None else None
        self._skip = self._cum_skip = self._row_base = 0
        self._cum = array("q", itertools.accumulate(heights)) if heights is not None else None

    def append(self, end: int, seqs: Iterable[int] = (), heights: list[int] | None = None) -> None:
        """Lines up to `end - 1` were retained; `seqs` of them are shown (if filtered).

        Args:
            end: The history's new end.
            seqs: Shown sequence numbers among the new lines (ignored unfiltered).
            heights: Rows of each newly shown line (only when wrapped).
        """
        self.end = end
        if self._seqs is not None:
            self._seqs.extend(seqs)
        if self._cum is not None and heights:
            last = self._cum[-1] if len(self._cum) > self._cum_skip else self._row_base
            ends = itertools.accumulate(heights, initial=last)
            next(ends)
            self._cum.extend(ends)

    def drop_before(self, first: int) -> int:
        """The history dropped lines before `first`.

        Returns:
            Rows that went from the top (to keep a scrolled view in place).
        """
        if first <= self.first:
            return 0
        if self._seqs is not None:
            gone = bisect_left(self._seqs, first, self._skip) - self._skip
            self._skip += gone
        else:
            gone = min(first, self.end) - self.first
        self.first = first
        rows = gone
        if self._cum is not None and gone:
            last = self._cum[self._cum_skip + gone - 1]
            rows = last - self._row_base
            self._row_base = last
            self._cum_skip += gone
        self._compact()
        return rows

    def _compact(self) -> None:
        if self._seqs is not None and self._skip > _COMPACT_AT and self._skip * 2 > len(self._seqs):
            del self._seqs[: self._skip]
            self._skip = 0
        if self._cum is not None and self._cum_skip > _COMPACT_AT and (
            self._cum_skip * 2 > len(self._cum)
        ):
            del self._cum[: self._cum_skip]
            self._cum_skip = 0

