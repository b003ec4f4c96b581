"""The still console of the snapshot tests: its size, its inventory path, its data.

The console is built by the `still_console` fixture (`tests/snapshots/conftest.py`);
`feed` puts the made-up fleet (`tests/support/fleet_data.py`) into it. Shared by
that fixture and `tests/snapshots/test_console_views.py`.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from corral.backends.engine.watch import Snapshot, Stale
from corral.backends.ssh.session import HostState, HostStatus
from corral.tui.console.messages import HostStatusChanged
from corral.tui.console.screens.console import ConsoleScreen
from corral.tui.console.views.containers import ContainersView
from tests.support import fleet_data
from tests.support.pilot import until

#: The terminal size of the console snapshots.
SIZE = (140, 40)
#: The path the no-hosts explanation names.
INVENTORY_PATH = Path("/home/ops/.config/corral/inventory.yaml")


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
