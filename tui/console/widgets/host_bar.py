"""The strip under the title: every host and its state, always visible.

Besides connection state it says what Corral will not do to a host: acting
paused by the operator (`P` on the hosts view), or the host being a second
name for an engine that another inventory host already reaches.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from corral.backends.ssh import HostState, HostStatus
from corral.tui.present.safe import visible

_STYLE = {
    HostState.ONLINE: ("●", "green"),
    HostState.CONNECTING: ("◌", "yellow"),
    HostState.OFFLINE: ("✖", "red"),
}


class HostBar(Static):
    """One cell per host: a state mark, the name, and the reason when offline."""

    DEFAULT_CSS = """
    HostBar { height: auto; max-height: 3; padding: 0 1; background: $panel; }
    """

    def __init__(self, statuses: list[HostStatus], **kwargs):
        super().__init__(**kwargs)
        self.statuses = {status.name: status for status in statuses}
        #: Hosts acting is paused on.
        self.paused: set[str] = set()
        #: Hosts that are one engine, the first (the one to keep) first.
        self.same_engine: tuple[str, ...] = ()

    def on_mount(self) -> None:
        self.update(self.render_statuses())

    def set_status(self, status: HostStatus) -> None:
        """Show a host's new state."""
        self.statuses[status.name] = status
        self.update(self.render_statuses())

    def drop(self, name: str) -> None:
        """Stop showing a host that left the inventory."""
        if self.statuses.pop(name, None) is not None:
            self.update(self.render_statuses())

    def set_marks(self, paused: set[str], same_engine: tuple[str, ...]) -> None:
        """Show which hosts are paused and which share one engine."""
        if (paused, same_engine) != (self.paused, self.same_engine):
            self.paused, self.same_engine = set(paused), same_engine
            self.update(self.render_statuses())

    def render_statuses(self) -> Text:
        """The bar's content."""
        text = Text()
        counts = {state: 0 for state in HostState}
        for status in self.statuses.values():
            mark, colour = _STYLE[status.state]
            counts[status.state] += 1
            text.append(f"{mark} ", style=colour)
            text.append(status.name, style="bold")
            if status.name in self.same_engine[1:]:
                text.append(f" ⚠ same engine as {self.same_engine[0]}", style="bold red")
            elif status.name in self.same_engine:
                text.append(" ⚠ engine named twice", style="bold red")
            if status.name in self.paused:
                text.append(" ⏸ paused", style="bold yellow")
            if status.state is HostState.OFFLINE and status.error:
                text.append(f" ({visible(status.error)})", style="dim")
            elif status.state is HostState.CONNECTING and status.error:
                text.append(f" (retrying; last: {visible(status.error)})", style="dim")
            text.append("   ")
        summary = f"{counts[HostState.ONLINE]}/{len(self.statuses)} online"
        text.append(summary, style="dim")
        return text
