"""Driving the console with Textual's Pilot: waits and typed commands.

Shared by the snapshot tests, `screenshots/make_screenshots.py` and
`bench/console.py`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from textual.pilot import Pilot

from corral.backends.engine.events import host_events
from corral.tui.console.screens.console import ConsoleScreen

if TYPE_CHECKING:
    from corral.backends.ssh.session import HostSession


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


async def events_followed(
    pilot: Pilot, sessions: Iterable[HostSession], timeout: float = 15.0
) -> None:
    """Let the app run until each host's event follower has subscribers and its stream open.

    From then on no container event of those hosts is missed: what a test
    does to an engine afterwards reaches the views and log panes.
    """
    sessions = list(sessions)

    def followed() -> bool:
        return all(
            host_events(s).subscribers > 0 and host_events(s).open_streams == 1 for s in sessions
        )

    names = ", ".join(s.name for s in sessions)
    await until(pilot, followed, f"the event streams of {names} to be open", timeout)


async def console_screen(pilot: Pilot, timeout: float = 10.0) -> ConsoleScreen:
    """The console screen, once the app has pushed it.

    Raises:
        AssertionError: Not within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while not isinstance(pilot.app.screen, ConsoleScreen):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for the console screen")
        await asyncio.sleep(0.005)
    return pilot.app.screen


async def command(pilot: Pilot, mode: str, text: str) -> None:
    """Type `text` on the `:` or `/` line and press enter."""
    await pilot.press("colon" if mode == ":" else "slash", *text, "enter")
    await pilot.pause()
