"""A console that shows only what the test feeds it, for byte-stable pictures.

The console is handed a `StillData` (tests/support/still_data.py): the fleet
never connects, the host watchers and the periodic readers (host facts,
volumes, images, stats) do nothing, and the test puts data in through the same
doors the live code uses: host status messages, container store updates and
the screen's `Loaded` / `StatsRead` messages (`feed` in
tests/support/still_console.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from tests.support import fleet_data
from tests.support.still_console import INVENTORY_PATH
from tests.support.still_data import StillData


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
