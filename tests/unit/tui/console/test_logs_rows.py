"""Rows of the log view: all lines, filtered lines, wrapped lines, dropped lines."""

from __future__ import annotations

from corral.tui.console.widgets.logs.rows import RowMap


def test_unfiltered_rows_are_the_retained_range() -> None:
    rows = RowMap()
    rows.reset(100, 100)
    rows.append(110)
    assert (rows.lines, rows.rows) == (10, 10)
    assert rows.locate(0) == (100, 0) and rows.locate(9) == (109, 0) and rows.locate(10) is None
    assert rows.drop_before(104) == 4
    assert rows.locate(0) == (104, 0) and rows.index_of(106) == 2


def test_filtered_rows_keep_only_matching_lines() -> None:
    rows = RowMap()
    rows.reset(0, 10, seqs=[1, 4, 7])
    rows.append(20, seqs=[12, 19])
    assert rows.filtered and rows.lines == 5
    assert [rows.seq_at(i) for i in range(5)] == [1, 4, 7, 12, 19]
    assert rows.index_of(5) == 2
    assert rows.drop_before(8) == 3
    assert rows.locate(0) == (12, 0)


def test_wrapped_rows_map_to_line_and_offset() -> None:
    rows = RowMap()
    rows.reset(0, 3, heights=[1, 3, 2])
    rows.append(4, heights=[2])
    assert rows.rows == 8
    assert [rows.locate(r) for r in range(8)] == [
        (0, 0), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (3, 0), (3, 1),
    ]
    assert rows.row_of(2) == 4
    assert rows.drop_before(2) == 4
    assert rows.rows == 4 and rows.locate(0) == (2, 0) and rows.row_of(1) == 2


def test_dropping_many_lines_compacts_and_stays_correct() -> None:
    rows = RowMap()
    rows.reset(0, 0, seqs=[], heights=[])
    for start in range(0, 100_000, 1000):
        rows.append(start + 1000, seqs=list(range(start, start + 1000, 2)), heights=[2] * 500)
        rows.drop_before(max(0, start - 20_000))
    assert rows.lines == (100_000 - 79_000) // 2
    assert rows.locate(0) == (79_000, 0) and rows.locate(3) == (79_002, 1)
    assert rows.rows == rows.lines * 2
