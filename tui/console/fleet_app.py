"""A Textual app that owns the backend loop and keeps every host online.

The console and the full-screen single-pane apps (`corral logs --view`,
`corral shell`) share this lifetime: start the backend thread before the
first widget mounts, report host state changes as messages, close every
session when the app ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver
from textual.notifications import SeverityLevel
from textual.widget import Widget
from textual.widgets import Footer

from corral.backends.audit import current as current_audit
from corral.backends.inventory import Inventory, RegistryAuth
from corral.backends.ssh import BackendLoop, Fleet, HostStatus, SshSettings
from corral.tui.console.driver import CorralDriver
from corral.tui.console.key_order import InOrderKeys
from corral.tui.console.messages import HostStatusChanged
from corral.tui.console.widgets.host_bar import HostBar
from corral.tui.console.widgets.logs.view import LogPane
from corral.tui.present.safe import visible, visible_lines
from corral.tui.signals import ending_signals

#: Seconds between the interpreter's thread switches while Corral's UI runs.
SWITCH_INTERVAL = 0.0005


class FleetApp(InOrderKeys):
    """Base of Corral's apps: a fleet kept online on a backend thread.

    Args:
        inventory: The hosts to manage.
        settings: SSH settings for every connection.
        readonly: Every session refuses mutating actions.
        registries: Registry credentials from the configuration file.
    """

    # Textual's own palette binding is a priority one, which would take
    # ctrl+p (history-up) away from a focused shell; this one yields to it.
    BINDINGS = [
        Binding("ctrl+p", "command_palette", "palette", id="app.palette", show=False,
                tooltip="Open the command palette"),
    ]

    def __init__(
        self, inventory: Inventory, settings: SshSettings, *, readonly: bool = False,
        registries: dict[str, RegistryAuth] | None = None, **kwargs
    ):
        super().__init__(**kwargs)
        self.backend = BackendLoop()
        self.fleet = Fleet(
            inventory,
            settings,
            on_status=self._status_from_backend,
            backend=self.backend,
            readonly=readonly,
            stream_relay=True,
            registries=registries,
        )
        self.audit = current_audit()
        if self.audit is not None:  # the console's changes go to these hosts' history too
            self.audit.attach(self.fleet)

    def get_driver_class(self) -> type[Driver]:
        """Textual's Linux driver made safe for a terminal that hangs up (`CorralDriver`)."""
        chosen = super().get_driver_class()
        return CorralDriver if chosen is LinuxDriver else chosen

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Show a toast; its text is shown as written, never read as markup.

        Notifications quote engines and hosts (errors, names, labels): a `[`
        in them is text, and their control characters are made visible.
        """
        if not markup:
            message, title = visible_lines(message), visible(title)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def _status_from_backend(self, status: HostStatus) -> None:
        # Runs on the backend thread; post_message is thread-safe.
        self.post_message(HostStatusChanged(status))

    def on_load(self) -> None:
        # The SSH thread and docker-py readers compete with the UI thread for
        # the GIL; with Python's default 5 ms switch interval a busy tunnel
        # makes every redraw wait in line. A shorter interval keeps the UI's
        # turns frequent (measured: p99 stall halved under a log flood).
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        # Before compose, so widgets may use the fleet as soon as they mount.
        self.backend.start()
        self.backend.submit(self.keep_online())

    def keep_online(self) -> Coroutine[Any, Any, None]:
        """What connects the hosts and keeps them connected, run on the backend loop."""
        return self.fleet.keep_online()

    def on_host_status_changed(self, message: HostStatusChanged) -> None:
        if message.status.name not in self.fleet.sessions:
            return  # a host that left the inventory, closing
        for screen in self.screen_stack:
            for bar in screen.query(HostBar):
                bar.set_status(message.status)
            # Log panes say "waiting for HOST" while a host they read from is
            # down (shell panes listen to their one session themselves).
            for pane in screen.query(LogPane):
                pane.host_status_changed(message.status)

    def on_mount(self) -> None:
        # What start-up allocated lives as long as the app: keep it out of
        # every later collection (worst GC pauses measured 260 ms -> 48 ms).
        # `run_console` holds collection off until then (see there).
        self.call_after_refresh(settle_memory)
        # SIGTERM / SIGHUP end the app as quitting does: the terminal is
        # restored, then on_unmount closes the tunnels (and their directories).
        loop = asyncio.get_running_loop()
        for sig in ending_signals():
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._end_on_signal, sig)

    def _end_on_signal(self, signum: int) -> None:
        self.exit(return_code=128 + signum)

    async def on_unmount(self) -> None:
        from corral.tui.console.widgets.terminal.pane import wait_for_shells

        # Docker keeps a TTY exec's process alive after its connection
        # closes: let closed shells hang up their processes before the
        # tunnels they need go away.
        await asyncio.to_thread(wait_for_shells)
        if self.audit is not None:
            await asyncio.to_thread(self.audit.flush)
            self.audit.detach(self.fleet)
        await self.backend.arun(self.fleet.close())
        self.backend.stop()


def settle_memory() -> None:
    """After the first frame: freeze what start-up allocated, collect from then on."""
    gc.freeze()
    gc.enable()


class PaneApp(FleetApp):
    """One pane (a log view, a shell) full-screen, under the host bar.

    Args:
        inventory: The hosts to manage.
        settings: SSH settings.
        make_pane: Builds the pane from the fleet.
        title: The window title.
    """

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="pane.quit", tooltip="Leave Corral", priority=True),
    ]

    def __init__(
        self,
        inventory: Inventory,
        settings: SshSettings,
        make_pane: Callable[[Fleet], Widget],
        title: str = "Corral",
    ):
        super().__init__(inventory, settings)
        self.make_pane = make_pane
        self.title = title

    def compose(self) -> ComposeResult:
        yield HostBar(self.fleet.statuses(), id="host-bar")
        yield self.make_pane(self.fleet)
        yield Footer()
