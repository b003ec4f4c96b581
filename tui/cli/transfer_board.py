"""Several transfers' progress on stderr, one line per host, redrawn in place.

Drawn only when stderr is a terminal, about five times a second: bytes so far,
the rate, and an ETA when the total is known. The lines are erased before any
other output (a result line, a question), so they never mix with it.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field

from corral.tui.present.formatting import duration, human_size
from corral.tui.present.safe import visible


@dataclass
class _Row:
    label: str
    done: int = 0
    total: int | None = None
    note: str = ""
    started: float = field(default_factory=time.monotonic)
    finished: bool = False


class TransferBoard:
    """Progress of transfers keyed by a label (`lab2 app:1`).

    Thread-safe: transfers report from their own threads.

    Args:
        shown: Draw at all (default: when stderr is a terminal).
    """

    INTERVAL = 0.2

    def __init__(self, shown: bool | None = None) -> None:
        self.shown = sys.stderr.isatty() if shown is None else shown
        self._rows: dict[str, _Row] = {}
        self._lock = threading.Lock()
        self._last = 0.0
        self._drawn = 0

    def __enter__(self) -> TransferBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._erase()

    def update(self, label: str, done: int, total: int | None = None, note: str = "") -> None:
        """Note `done` bytes (of `total`, when known) for `label`; redraw if due.

        Args:
            label: The transfer (`lab2 app:1`).
            done: Bytes so far, the rate's and ETA's measure.
            total: Bytes in all, when known (an estimate is fine: never shown below `done`).
            note: Words shown after the bytes (`41.0MiB sent`).
        """
        if not self.shown:
            return
        with self._lock:
            row = self._rows.setdefault(label, _Row(visible(label)))
            row.done, row.note = done, note
            row.total = max(total, done) if total else row.total
            now = time.monotonic()
            if now - self._last >= self.INTERVAL:
                self._last = now
                self._draw(now)

    def finish(self, label: str) -> None:
        """`label` is done: its line goes."""
        with self._lock:
            if self._rows.pop(label, None) is not None and self.shown:
                self._erase()

    def say(self, line: str, *, stream=None) -> None:
        """Print `line` (stdout by default) with the progress lines out of its way."""
        with self._lock:
            self._erase()
            print(line, file=stream or sys.stdout, flush=True)

    def _draw(self, now: float) -> None:
        self._erase()
        lines = [_line(row, now) for row in self._rows.values()]
        if lines:
            sys.stderr.write("\n".join(lines) + "\n")
            sys.stderr.flush()
        self._drawn = len(lines)

    def _erase(self) -> None:
        if self._drawn:
            sys.stderr.write(f"\x1b[{self._drawn}A\x1b[J")
            sys.stderr.flush()
            self._drawn = 0


def _line(row: _Row, now: float) -> str:
    elapsed = max(now - row.started, 1e-3)
    rate = row.done / elapsed
    text = f"{row.label}: {human_size(row.done)}"
    if row.total:
        text += f" of {human_size(row.total)}"
    if row.note:
        text += f" {row.note}"
    text += f"  {human_size(rate)}/s"
    if row.total and rate > 0 and row.done < row.total:
        text += f"  ETA {duration((row.total - row.done) / rate)}"
    return text
