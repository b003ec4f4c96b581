"""A console that shows only what the test feeds it, for byte-stable pictures.

The fleet never connects, the host watchers and the periodic readers (host
facts, volumes, images, stats) do nothing, and the test puts data in through
the same doors the live code uses: host status messages, container store
updates and the screen's `Loaded` / `StatsRead` messages.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from corral.backends.engine.watch import Snapshot, Stale
from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostState, HostStatus
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.messages import HostStatusChanged
from corral.tui.console.screens import console as console_screen
from corral.tui.console.screens.console import ConsoleScreen
from corral.tui.console.views.containers import ContainersView
from corral.tui.console.widgets.health_watch import HealthWatch
from tests.support import fleet_data
from tests.support.pilot import until

SIZE = (140, 40)
#: The path the no-hosts explanation names.
INVENTORY_PATH = Path("/home/ops/.config/corral/inventory.yaml")


class InertWatcher:
    """Stands in for `HostWatcher`: the test, not an engine, supplies containers."""

    def __init__(self, session, listener, retry_seconds: float = 1.0):
        self.session = session

    def start(self) -> InertWatcher:
        return self

    def stop(self) -> None:
        pass


async def _stay_offline(self) -> None:
    """Replaces `Fleet.keep_online`: no SSH; statuses come from the test."""


def _read_nothing(self, *args) -> None:
    """Replaces the periodic readers (and the health pass), which would overwrite fed data."""


@pytest.fixture
def still_console(monkeypatch) -> Callable[..., CorralApp]:
    """A factory of consoles on the made-up fleet (or on no hosts at all)."""
    monkeypatch.setattr(Fleet, "keep_online", _stay_offline)
    monkeypatch.setattr(console_screen, "HostWatcher", InertWatcher)
    for reader in ("load_hosts", "load_listing", "read_stats"):
        monkeypatch.setattr(ConsoleScreen, reader, _read_nothing)
    monkeypatch.setattr(HealthWatch, "start_pass", _read_nothing)
    rows = {row.id: row for host_rows in fleet_data.containers().values() for row in host_rows}
    monkeypatch.setattr(
        console_screen, "inspect",
        lambda session, kind, ref: fleet_data.inspect_document(rows[ref]),
    )
    # Event times are printed in local time.
    previous_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()

    def build(*, hosts: bool = True, readonly: bool = False) -> CorralApp:
        specs = tuple(
            # Port 9 on loopback: should anything connect after all, it fails at once.
            HostSpec(name, SshTarget("127.0.0.1", "root", 9), labels=labels)
            for name, (_, labels) in fleet_data.HOSTS.items()
        ) if hosts else ()
        inventory = Inventory(hosts=specs, path=INVENTORY_PATH)
        return CorralApp(inventory, SshSettings(), Config(readonly=readonly))

    yield build
    if previous_tz is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = previous_tz
    time.tzset()


async def feed(pilot: Pilot, offline: tuple[str, ...] = ()) -> None:
    """Give the console the made-up fleet and wait until the containers show.

    Args:
        pilot: The running console's pilot.
        offline: Hosts to show as down, their containers as stale.
    """
    app = pilot.app
    screen = app.screen
    assert isinstance(screen, ConsoleScreen)
    for name in fleet_data.HOSTS:
        down = name in offline
        app.post_message(HostStatusChanged(HostStatus(
            name, HostState.OFFLINE if down else HostState.ONLINE,
            "connection refused" if down else None, fleet_data.EPOCH, None if down else "forward",
        )))
    containers = fleet_data.containers()
    for host, rows in containers.items():
        screen.store.put(Snapshot(host, rows))
    for host in offline:
        screen.store.put(Stale(host, "connection refused"))
    for event in fleet_data.events():
        screen.store.put(event)
    screen.post_message(ConsoleScreen.Loaded("hosts", fleet_data.host_records(offline), []))
    screen.post_message(ConsoleScreen.Loaded("volumes", fleet_data.volumes(), []))
    screen.post_message(ConsoleScreen.Loaded("images", fleet_data.images(), []))
    view = screen.query_one(ContainersView)
    expected = sum(len(rows) for rows in containers.values())
    await until(pilot, lambda: view.row_count == expected, "the containers to show")
    usage = {k: v for k, v in fleet_data.usage().items() if k.split("/")[0] not in offline}
    screen.post_message(ConsoleScreen.StatsRead(usage))
    await pilot.pause()
