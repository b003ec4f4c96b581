"""The console following its inventory file: reloads in a row each take full effect."""

from __future__ import annotations

import asyncio
from pathlib import Path

from corral.backends.inventory.load import load_inventory
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.screens.console import ConsoleScreen
from corral.tui.console.widgets.host_bar import HostBar
from tests.support.pilot import until
from tests.support.still_console import SIZE
from tests.support.still_data import StillData


def inventory_of(names: list[str]) -> str:
    # Port 9 on loopback: a connection attempt fails at once.
    return "hosts:\n" + "".join(f"  - name: {name}\n    ssh: root@127.0.0.1:9\n"
                                for name in names)


async def test_a_reload_is_not_cut_short_by_the_next_one(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(inventory_of(["a", "b", "c"]))
    app = CorralApp(load_inventory(path), SshSettings(), Config(),
                    data=StillData())  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, ConsoleScreen)
        await until(pilot, lambda: set(screen.watchers) == {"a", "b", "c"}, "the watchers")
        apply = screen.fleet.apply_inventory
        applied: list[tuple[list[str], list[str]]] = []

        async def apply_then_linger(inventory):
            # The fleet has dropped the host; the console has not yet caught up
            # when the file changes again.
            outcome = await apply(inventory)
            applied.append(outcome)
            await asyncio.sleep(0.5)
            return outcome

        screen.fleet.apply_inventory = apply_then_linger
        path.write_text(inventory_of(["a", "c"]))
        screen.poll_inventory()
        await until(pilot, lambda: applied, "the first reload to reach the fleet")
        path.write_text(inventory_of(["a"]))
        screen.poll_inventory()
        await until(pilot, lambda: len(applied) == 2 and set(screen.watchers) == {"a"},
                    "both reloads to end", timeout=5)
        assert applied == [(["b"], []), (["c"], [])]
        assert set(screen.fleet.sessions) == {"a"}
        assert "b" in screen._gone and "c" in screen._gone
        statuses = str(screen.query_one(HostBar).render_statuses())
        assert statuses.split()[:2] == ["✖", "a"] and "0/1 online" in statuses, statuses
