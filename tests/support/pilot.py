"""Driving the console with Textual's Pilot: waits and typed commands.

Shared by the snapshot tests, `screenshots/make_screenshots.py` and
`bench/console.py`.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from textual.pilot import Pilot

from corral.backends.engine.events import host_events
from corral.tui.console.screens.console import ConsoleScreen

if TYPE_CHECKING:
    from textual.app import App
    from textual.notifications import Notification

    from corral.backends.ssh.session import HostSession


def kept_notifications(app: App) -> list[Notification]:
    """Every notification `app` raised since the first call, also once expired.

    A toast leaves `app._notifications` after its timeout; a test on a
    loaded machine can look later than that (Pilot's own waits allow a
    screen 30 s to drain its messages), so a test that reads what it was
    told after a long wait reads this list instead. Call it once before the
    app runs (`tests.support.console.console` does); later calls return
    the same list.
    """
    if app in _KEPT:
        return _KEPT[app]
    kept = _KEPT[app] = []
    add = app._notifications.add

    def add_and_keep(notification: Notification):
        kept.append(notification)
        return add(notification)

    app._notifications.add = add_and_keep
    return kept


#: Each app's kept notifications (`kept_notifications`).
_KEPT: weakref.WeakKeyDictionary[App, list[Notification]] = weakref.WeakKeyDictionary()


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
