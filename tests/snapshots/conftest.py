"""A console that shows only what the test feeds it, for byte-stable pictures.

The console is handed a `StillData` (tests/support/still_data.py): the fleet
never connects, the host watchers and the periodic readers (host facts,
volumes, images, stats) do nothing, and the test puts data in through the same
doors the live code uses: host status messages, container store updates and
the screen's `Loaded` / `StatsRead` messages.
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
from corral.backends.ssh.session import HostState, HostStatus
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.messages import HostStatusChanged
from corral.tui.console.screens.console import ConsoleScreen
from corral.tui.console.views.containers import ContainersView
from tests.support import fleet_data
from tests.support.pilot import until
from tests.support.still_data import StillData

SIZE = (140, 40)
#: The path the no-hosts explanation names.
INVENTORY_PATH = Path("/home/ops/.config/corral/inventory.yaml")


@pytest.fixture
def still_console() -> Callable[..., CorralApp]:
    """A factory of consoles on the made-up fleet (or on no hosts at all)."""
    documents = {
        row.id: fleet_data.inspect_document(row)
        for host_rows in fleet_data.containers().values() for row in host_rows
    }
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
        return CorralApp(inventory, SshSettings(), Config(readonly=readonly),
                         data=StillData(documents))  # type: ignore[arg-type]

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
