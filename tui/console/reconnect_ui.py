"""Reconnect now: retry hosts at once instead of after their backoff.

Reached from the hosts view (`C`) and the command palette. Asking is cheap
and harmless: an online host is left alone, a host in the middle of a
hanging attempt (a link that drops packets) gets a fresh one.
"""

from __future__ import annotations

from textual.app import App

from corral.backends.ssh import Fleet


async def reconnect_now(app: App, fleet: Fleet, hosts: list[str]) -> None:
    """Ask the backend to reconnect `hosts` now, and say what happened.

    Args:
        app: Where to notify.
        fleet: The fleet (its backend loop runs the sessions).
        hosts: Host names.
    """
    if fleet.backend is None:
        return
    started = await fleet.backend.arun(fleet.reconnect_now(hosts))
    left = [name for name in hosts if name not in started]
    if started:
        app.notify(f"reconnecting {', '.join(started)} now", timeout=3)
    if left:
        online = [name for name in left if fleet.session(name).online]
        if online:
            app.notify(f"{', '.join(online)}: already online", timeout=3)
