"""The Textual application: wiring only; views live in `screens/`."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header

from corral.backends.fleet import Fleet
from corral.backends.inventory import Inventory
from corral.backends.loop import BackendLoop
from corral.backends.session import HostStatus
from corral.backends.ssh import SshSettings

from .messages import HostStatusChanged
from .screens.hosts import HostsTable
from .widgets.host_bar import HostBar


class CorralApp(App):
    """The Corral console.

    Args:
        inventory: The hosts to manage.
        settings: SSH settings for every connection.
    """

    TITLE = "Corral"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave Corral"),
    ]

    def __init__(self, inventory: Inventory, settings: SshSettings):
        super().__init__()
        self.backend = BackendLoop()
        self.fleet = Fleet(inventory, settings, on_status=self._status_from_backend)

    def _status_from_backend(self, status: HostStatus) -> None:
        # Runs on the backend thread; post_message is thread-safe.
        self.post_message(HostStatusChanged(status))

    def compose(self) -> ComposeResult:
        yield Header()
        yield HostBar(self.fleet.statuses(), id="host-bar")
        yield HostsTable(self.fleet, id="hosts")
        yield Footer()

    def on_mount(self) -> None:
        self.backend.start()
        self.backend.submit(self.fleet.keep_online())

    def on_host_status_changed(self, message: HostStatusChanged) -> None:
        self.query_one(HostBar).set_status(message.status)
        if message.status.state.value != "connecting":
            self.query_one(HostsTable).refresh_facts()

    async def on_unmount(self) -> None:
        await self.backend.arun(self.fleet.close())
        self.backend.stop()
