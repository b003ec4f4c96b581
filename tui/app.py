"""The Corral console: wiring only; views live in `screens/`, widgets in `widgets/`."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header

from .fleet_app import FleetApp
from .messages import HostStatusChanged
from .screens.hosts import HostsTable
from .widgets.host_bar import HostBar


class CorralApp(FleetApp):
    """The Corral console."""

    TITLE = "Corral"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave Corral"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield HostBar(self.fleet.statuses(), id="host-bar")
        yield HostsTable(self.fleet, id="hosts")
        yield Footer()

    def on_host_status_changed(self, message: HostStatusChanged) -> None:
        # FleetApp's handler (the host bar) runs too: Textual calls each
        # class's handler along the MRO.
        if message.status.state.value != "connecting":
            self.query_one(HostsTable).refresh_facts()
