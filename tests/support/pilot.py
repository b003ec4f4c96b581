"""Driving the console with Textual's Pilot: waits and typed commands.

Shared by the snapshot tests, `screenshots/make_screenshots.py` and
`bench/console.py`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.pilot import Pilot

from corral.tui.console.screens.console import ConsoleScreen


async def until(
    pilot: Pilot, predicate: Callable[[], bool], what: str, timeout: float = 5.0,
    step: float = 0.05,
) -> None:
    """Let the app run until `predicate()` holds.

    Raises:
        AssertionError: Not within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(step)


async def console_screen(pilot: Pilot) -> ConsoleScreen:
    """The console screen, once the app has pushed it."""
    while not isinstance(pilot.app.screen, ConsoleScreen):
        await asyncio.sleep(0.005)
    return pilot.app.screen


async def command(pilot: Pilot, mode: str, text: str) -> None:
    """Type `text` on the `:` or `/` line and press enter."""
    await pilot.press("colon" if mode == ":" else "slash", *text, "enter")
    await pilot.pause()
