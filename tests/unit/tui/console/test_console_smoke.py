"""The console starts, shows every host's state, and quits (no lab needed)."""

from __future__ import annotations

from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.session import Backoff
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


async def test_reconnect_now_from_the_hosts_view_and_the_palette() -> None:
    inventory = Inventory(hosts=(HostSpec("gone", SshTarget("127.0.0.1", "root", 9)),))
    app = CorralApp(inventory, SshSettings(connect_timeout=2))
    session = app.fleet.session("gone")
    # A backoff longer than the test: only C and the palette retry in time.
    session.backoff = Backoff(first=60, limit=60)
    attempts: list[str] = []
    session.add_listener(lambda status: attempts.append(status.state.value))
    async with app.run_test(size=(160, 40)) as pilot:
        bar = app.screen.query_one(HostBar)
        await until(pilot, lambda: "refused" in str(bar.render_statuses()), "the refusal")
        await until(pilot, lambda: attempts.count("connecting") >= 1 and attempts[-1] == "offline",
                    "a failed attempt")
        await pilot.pause(1.5)
        before = attempts.count("connecting")
        await pilot.press("colon", *"hosts", "enter")
        await until(pilot, lambda: app.screen.query_one("#hosts").row_count == 1, "the row")
        app.screen.query_one("#hosts").focus()
        await pilot.press("C")
        await until(pilot, lambda: attempts.count("connecting") > before, "a retry from C")
        before = attempts.count("connecting")
        await until(pilot, lambda: attempts[-1] == "offline", "that attempt to fail")
        await pilot.press("ctrl+p")
        await pilot.press(*"Reconnect gone")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: attempts.count("connecting") > before,
                    "a retry from the palette")
