"""The retained history: memory, then disk, then dropped; random access throughout."""

from __future__ import annotations

import threading

from corral.backends.logs.demux import LogLine
from corral.backends.logs.spool import LogHistory


def make(start: int, count: int) -> list[LogLine]:
    return [
        LogLine(1000 + n, n % 3, 1 + n % 2, f"line {n} ✓ tab\there")
        for n in range(start, start + count)
    ]


def test_lines_beyond_memory_are_spooled_and_still_readable(tmp_path) -> None:
    history = LogHistory(
        max_lines=10_000, memory_lines=100, segment_lines=64, directory=str(tmp_path)
    )
    everything = []
    for start in range(0, 1000, 37):
        batch = make(start, 37)
        everything.extend(batch)
        history.append(batch)
    assert len(history) == len(everything)
    assert history.spooled > 800
    assert len(list(tmp_path.iterdir())) == 0  # anonymous temp files: nothing left behind
    assert history.get(0) == everything[0]
    assert history.get(500) == everything[500]
    assert history.range(60, 140) == everything[60:140]
    assert list(history.iter()) == everything
    history.close()


def test_the_cap_drops_the_oldest_lines_whole_segments_at_a_time() -> None:
    history = LogHistory(max_lines=1000, memory_lines=100, segment_lines=100)
    for start in range(0, 5000, 250):
        history.append(make(start, 250))
    assert 900 <= len(history) <= 1000
    assert history.end == 5000
    assert history.get(history.first - 1) is None
    assert history.get(4999).text.startswith("line 4999 ")
    assert [ln.text for ln in history.range(history.first, history.first + 2)] == [
        f"line {history.first} ✓ tab\there", f"line {history.first + 1} ✓ tab\there",
    ]


def test_memory_only_history_drops_exactly_the_excess() -> None:
    history = LogHistory(max_lines=50, memory_lines=100)
    dropped = history.append(make(0, 80))
    assert dropped == 30
    assert (history.first, history.end, history.spooled) == (30, 80, 0)


def test_clear_keeps_counting() -> None:
    history = LogHistory(max_lines=100, memory_lines=10, segment_lines=10)
    history.append(make(0, 50))
    history.clear()
    assert len(history) == 0 and history.first == history.end == 50
    history.append(make(50, 5))
    assert history.get(52).text.startswith("line 52 ")


def test_reads_while_appending_from_another_thread() -> None:
    history = LogHistory(max_lines=20_000, memory_lines=500, segment_lines=256)
    stop = threading.Event()
    errors = []

    def reader() -> None:
        while not stop.is_set():
            first, end = history.first, history.end
            for line in history.range(first, min(end, first + 300)):
                if not line.text.startswith("line "):
                    errors.append(line)

    thread = threading.Thread(target=reader)
    thread.start()
    for start in range(0, 40_000, 500):
        history.append(make(start, 500))
    stop.set()
    thread.join()
    assert not errors
