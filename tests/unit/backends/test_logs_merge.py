"""The reorder window: timestamp order across sources, bounded in time and size."""

from __future__ import annotations

from corral.backends.logs.demux import LogLine
from corral.backends.logs.merge import Merger


def lines(source: int, *stamps: int) -> list[LogLine]:
    return [LogLine(ts, source, 1, f"{source}@{ts}") for ts in stamps]


def test_one_source_passes_straight_through() -> None:
    merger = Merger(window=0.2)
    merger.open(0, now=0.0)
    assert merger.push(lines(0, 1, 2, 3), now=0.0) == lines(0, 1, 2, 3)
    assert len(merger) == 0


def test_two_sources_come_out_in_timestamp_order() -> None:
    merger = Merger(window=0.2)
    merger.open(0, 0.0)
    merger.open(1, 0.0)
    assert merger.push(lines(0, 10, 30, 50), 0.0) == []
    assert merger.pop_ready(0.01) == []  # source 1 may still send something earlier
    merger.push(lines(1, 20, 40), 0.02)
    out = merger.pop_ready(0.03)
    assert [ln.ts for ln in out] == [10, 20, 30, 40]  # 50 waits: source 1 is only at 40
    merger.push(lines(1, 60), 0.04)
    assert [ln.ts for ln in merger.pop_ready(0.05)] == [50]
    assert [ln.ts for ln in merger.pop_ready(0.5)] == [60]  # the window ran out


def test_a_silent_source_holds_lines_no_longer_than_the_window() -> None:
    merger = Merger(window=0.2)
    merger.open(0, 0.0)
    merger.open(1, 0.0)
    merger.push(lines(0, 5, 6), 0.0)
    assert merger.pop_ready(0.1) == []
    assert [ln.ts for ln in merger.pop_ready(0.25)] == [5, 6]


def test_held_lines_are_bounded() -> None:
    merger = Merger(window=10.0, max_held=3)
    merger.open(0, 0.0)
    merger.open(1, 0.0)
    merger.push(lines(0, 1, 2, 3, 4, 5), 0.0)
    out = merger.pop_ready(0.0)
    assert [ln.ts for ln in out] == [1, 2]
    assert len(merger) == 3


def test_closed_sources_do_not_hold_the_window() -> None:
    merger = Merger(window=10.0)
    merger.open(0, 0.0)
    merger.open(1, 0.0)
    merger.push(lines(0, 1, 2), 0.0)
    merger.close(1)
    assert [ln.ts for ln in merger.pop_ready(0.0)] == [1, 2]


def test_final_releases_everything() -> None:
    merger = Merger(window=10.0)
    merger.open(0, 0.0)
    merger.open(1, 0.0)
    merger.push(lines(1, 3), 0.0)
    merger.push(lines(0, 1), 0.0)
    assert [ln.ts for ln in merger.pop_ready(0.0, final=True)] == [1, 3]
