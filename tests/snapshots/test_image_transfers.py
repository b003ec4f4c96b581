"""The transfers pane of the images view: running pushes and pulls with bytes, rate and
ETA, ended ones with how they went (a clock stands still, so the figures do too)."""

from __future__ import annotations

from textual.pilot import Pilot

from corral.tui.console.model.image_transfers import TransferLog
from corral.tui.console.screens.transfers import TransfersScreen
from tests.support.pilot import until
from tests.support.still_console import SIZE, feed

MIB = 1 << 20


def test_transfers_pane(snap_compare, still_console) -> None:
    async def run_before(pilot: Pilot) -> None:
        await feed(pilot)
        screen = pilot.app.screen
        now = [1000.0]
        log = TransferLog(clock=lambda: now[0])
        screen.transfers = log
        done = log.start("push", "lab2", "corral-lab/worker:1")
        failed = log.start("push", "lab3", "corral-lab/worker:1")
        running = log.start("push", "lab3", "billing/api:2.3")
        pulling = log.start("pull", "lab1", "postgres:16")
        log.end(done, True, "lab2: corral-lab/worker:1 pushed from lab1: 41.0MiB sent in "
                            "3.2s (2 of 3 layers sent, 1 already there)")
        log.end(failed, False, "lab3: no space left on device")
        now[0] += 4
        log.progress(running, 20 * MIB, 80 * MIB, "read, 18.5MiB sent")
        log.progress(pulling, 6 * MIB, None)
        screen.query_one("#images").focus()
        await pilot.press("colon", *"images", "enter")
        await pilot.press("T")
        await until(pilot, lambda: isinstance(pilot.app.screen, TransfersScreen), "the pane")
        await pilot.pause()

    assert snap_compare(still_console(), terminal_size=SIZE, run_before=run_before)
