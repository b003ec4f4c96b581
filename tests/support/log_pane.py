"""A log pane fed by the test, no host needed: fixed sources and numbered lines.

Shared by `tests/unit/tui/console/test_logs_pane.py` and the log-pane and
shell-pane snapshots.
"""

from __future__ import annotations

import re

from textual.app import App, ComposeResult

from corral.backends.logs.demux import STDERR, STDOUT, LogLine
from corral.backends.logs.follow import LogSource
from corral.backends.logs.target import LogTarget
from corral.tui.console.widgets.logs.view import LogPane

T0 = 1_795_627_327_000_000_000  # 2026-11-25T17:22:07Z: fixed, never "now"
#: Two containers, one on lab1 and one on lab2.
SOURCES = [
    LogSource("lab1", "aaaaaaaaaaaa", "shop-cart-1"),
    LogSource("lab2", "bbbbbbbbbbbb", "shop-cart-2"),
]


def sample(count: int, start: int = 0) -> list[LogLine]:
    """Numbered lines alternating between two hosts, every 7th on stderr."""
    out = []
    for n in range(start, start + count):
        stream = STDERR if n % 7 == 3 else STDOUT
        text = f"seq={n} \x1b[32mok\x1b[0m" if n % 5 == 0 else f"seq={n} request done"
        if stream == STDERR:
            text = f"seq={n} error: upstream timed out"
        out.append(LogLine(T0 + n * 10_000_000, n % 2, stream, text))
    return out


class PaneHost(App):
    """One log pane, fed by the test.

    The class name is the title of the log-pane snapshot: keep it.
    """

    def __init__(
        self, memory_lines: int = 100_000, max_lines: int = 1_000_000, keep: str | None = None
    ) -> None:
        super().__init__()
        self.memory_lines, self.max_lines = memory_lines, max_lines
        self.keep = re.compile(keep) if keep else None
        self.closed = 0

    def compose(self) -> ComposeResult:
        yield LogPane(
            None, LogTarget("service", "shop", service="cart"), follow=False,
            memory_lines=self.memory_lines, max_lines=self.max_lines, keep=self.keep,
        )

    def on_mount(self) -> None:
        self.query_one(LogPane).use_sources(SOURCES)

    def on_log_pane_closed(self, message: LogPane.Closed) -> None:
        self.closed += 1
