"""Builds the content of a log or shell pane for a target."""

from __future__ import annotations

from textual.widget import Widget

from corral.backends.ssh import Fleet


def make_pane(what: str, fleet: Fleet, target: str) -> Widget:
    """A log view (`logs`) or a shell (`shell`) for `target`.

    Args:
        what: `logs` or `shell`.
        fleet: The console's fleet.
        target: `host/container` or `stack/service`.

    Raises:
        ValueError: The target is malformed.
    """
    if what == "logs":
        from corral.tui.console.widgets.logs.view import LogPane

        return LogPane(fleet, target)
    if what == "shell":
        from corral.tui.console.widgets.terminal.pane import ShellPane

        return ShellPane(fleet, target)
    raise ValueError(f"unknown pane kind {what!r}")
