"""The console starts, shows every host's state, and quits (no lab needed)."""

from __future__ import annotations

from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.console.widgets.host_bar import HostBar
from tests.support.pilot import until


async def test_console_reports_an_unreachable_host() -> None:
    inventory = Inventory(hosts=(HostSpec("gone", SshTarget("127.0.0.1", "root", 9)),))
    app = CorralApp(inventory, SshSettings(connect_timeout=2))
    async with app.run_test() as pilot:
        bar = app.screen.query_one(HostBar)
        await until(pilot, lambda: "refused" in str(bar.render_statuses()), "the refusal")
        assert "gone" in str(bar.render_statuses())
        assert "refused" in str(bar.render_statuses())
        await pilot.press("q")


async def test_console_without_hosts_explains_how_to_add_one() -> None:
    app = CorralApp(Inventory(hosts=()), SshSettings())
    async with app.run_test() as pilot:
        await pilot.pause()
        text = str(app.screen.query_one("#no-hosts").render())
        assert "corral hosts add" in text
