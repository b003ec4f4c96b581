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


#: Between two hosts.
_GAP = "   "
#: Lines the bar may take (its `max-height`).
_MAX_LINES = 3


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

    def on_resize(self) -> None:
        self.update(self.render_statuses())

    def render_statuses(self) -> Text:
        """The bar's content, laid out in lines that never split a host.

        Every host in inventory order, then how many are online. When that
        would take more than the bar's lines (dozens of hosts), the count
        comes first, then the hosts that need a look (not online, paused,
        one engine named twice), then the online ones as far as they fit, and
        how many more there are (and how many of those are not online, if
        even the hosts that need a look do not all fit). A host's reason is
        cut to the bar's width.
        """
        cells = [(status, self._cell(status)) for status in self.statuses.values()]
        online = sum(1 for status, _ in cells if status.state is HostState.ONLINE)
        summary = Text(f"{online}/{len(cells)} online", style="dim")
        every = [cell for _, cell in cells] + [summary]
        width = self.content_region.width if self.is_mounted else 0
        if width <= 0:
            return Text(_GAP).join(every)
        for cell in every:
            cell.truncate(width, overflow="ellipsis")
        if _lines_taken([cell.cell_len for cell in every], width) <= _MAX_LINES:
            return _laid_out(every, width)
        ordered = sorted(cells, key=lambda pair: not self._needs_a_look(pair[0]))
        shown = [summary]
        for index, (_, cell) in enumerate(ordered):
            more = _more(ordered[index + 1 :])
            sizes = [c.cell_len for c in (*shown, cell)] + ([more.cell_len] if more else [])
            if _lines_taken(sizes, width) > _MAX_LINES:
                break
            shown.append(cell)
        more = _more(ordered[len(shown) - 1 :])
        return _laid_out([*shown, more] if more else shown, width)

    def _needs_a_look(self, status: HostStatus) -> bool:
        return (status.state is not HostState.ONLINE or status.name in self.paused
                or status.name in self.same_engine)

    def _cell(self, status: HostStatus) -> Text:
        """One host: its mark, its name and what is wrong."""
        mark, colour = _STYLE[status.state]
        text = Text()
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
        return text


def _more(hidden: list[tuple[HostStatus, Text]]) -> Text | None:
    """What stands for the hosts left out: how many, and how many of them are down."""
    if not hidden:
        return None
    down = sum(1 for status, _ in hidden if status.state is not HostState.ONLINE)
    return Text(f"+{len(hidden)} more" + (f" ({down} not online)" if down else ""),
                style="bold red" if down else "dim")


def _place(sizes: list[int], width: int) -> list[int]:
    """The line (0-based) each cell starts on, never splitting one, then the last line.

    A cell is at most `width` wide (the caller cuts longer ones).
    """
    starts, line, used = [], 0, 0
    for size in sizes:
        if used and used + len(_GAP) + size > width:
            line, used = line + 1, 0
        elif used:
            used += len(_GAP)
        starts.append(line)
        used += size
    return [*starts, line]


def _lines_taken(sizes: list[int], width: int) -> int:
    """How many lines cells of these widths take."""
    return _place(sizes, width)[-1] + 1


def _laid_out(cells: list[Text], width: int) -> Text:
    """The cells joined by gaps, with a line break where a cell would not fit."""
    starts = _place([cell.cell_len for cell in cells], width)
    text = Text()
    for index, cell in enumerate(cells):
        if index:
            text.append("\n" if starts[index] != starts[index - 1] else _GAP)
        text.append_text(cell)
    return text
