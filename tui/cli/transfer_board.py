"""Several transfers' progress on stderr, one line per host, redrawn in place.

Drawn only when stderr is a terminal, about five times a second: bytes so far,
the rate, and an ETA when the total is known. The lines are erased before any
other output (a result line, a question), so they never mix with it.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING

from corral.tui.present.safe import visible

if TYPE_CHECKING:
    from corral.tui.present.transfers import TransferRow


class TransferBoard:
    """Progress of transfers keyed by a label (`lab2 app:1`).

    Thread-safe: transfers report from their own threads.

    Args:
        shown: Draw at all (default: when stderr is a terminal).
    """

    INTERVAL = 0.2

    def __init__(self, shown: bool | None = None) -> None:
        self.shown = sys.stderr.isatty() if shown is None else shown
        self._rows: dict[str, TransferRow] = {}
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
        from corral.tui.present.transfers import TransferRow
        if not self.shown:
            return
        with self._lock:
            self._rows.setdefault(label, TransferRow(visible(label))).update(done, total, note)
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
        from corral.tui.present.transfers import transfer_line
        self._erase()
        lines = [transfer_line(row, now) for row in self._rows.values()]
        if lines:
            sys.stderr.write("\n".join(lines) + "\n")
            sys.stderr.flush()
        self._drawn = len(lines)

    def _erase(self) -> None:
        if self._drawn:
            sys.stderr.write(f"\x1b[{self._drawn}A\x1b[J")
            sys.stderr.flush()
            self._drawn = 0

