"""What the log pane looks like: two sources, stderr, a notice, colours, a search."""

from __future__ import annotations

from corral.backends.logs.demux import NOTICE, LogLine
from tests.support.log_pane import T0, PaneHost, sample


def test_log_pane_snapshot(snap_compare) -> None:
    async def run_before(pilot) -> None:
        pane = pilot.app.query_one("LogPane")
        pane.feed(sample(30))
        pane.feed([LogLine(T0 + 400_000_000, 1, NOTICE, "container stopped (exit code 0)")])
        await pilot.press("t")
        await pilot.press("slash")
        pilot.app.query_one("#log-prompt").value = "timed out"
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(PaneHost(), terminal_size=(110, 24), run_before=run_before)
