"""What the console will not act on: hosts paused with `P`, one engine under two names."""

from __future__ import annotations

from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.keys_help import binding_rows
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.views.base import ResourceView
from corral.tui.console.views.containers import ContainersView
from corral.tui.console.views.hosts import HostsView
from corral.tui.console.widgets.host_bar import HostBar
from tests.support import fleet_data
from tests.support.pilot import until
from tests.support.still_console import feed
from tests.support.still_data import StillData


def still_app(readonly: bool = False) -> CorralApp:
    specs = tuple(HostSpec(name, SshTarget("127.0.0.1", "root", 9), labels=labels)
                  for name, (_, labels) in fleet_data.HOSTS.items())
    return CorralApp(Inventory(hosts=specs), SshSettings(), Config(readonly=readonly),
                     data=StillData({}))  # type: ignore[arg-type]


async def test_p_pauses_and_resumes_acting_on_the_host_under_the_cursor() -> None:
    app = still_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await feed(pilot)
        await pilot.press("colon", *"hosts", "enter")
        view = app.screen.query_one(HostsView)
        await until(pilot, lambda: view.row_count == len(fleet_data.HOSTS), "the hosts")
        host = view.current_key()
        assert host is not None
        ids = {row[2] for row in binding_rows(view, app)}
        assert "hosts.pause" in ids

        await pilot.press("P")
        bar = app.screen.query_one(HostBar)
        assert f"{host} ⏸ paused" in str(bar.render_statuses())
        assert app.screen.flow.paused == {host}
        assert any("⏸ paused" in str(cell) for cell in view.get_row(host))
        assert any("leave it alone" in n.message for n in app._notifications)

        await pilot.press("P")
        assert "paused" not in str(bar.render_statuses())
        assert app.screen.flow.paused == set()


async def test_a_readonly_console_offers_no_pause() -> None:
    app = still_app(readonly=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await feed(pilot)
        await pilot.press("colon", *"hosts", "enter")
        view = app.screen.query_one(HostsView)
        assert "hosts.pause" not in {row[2] for row in binding_rows(view, app)}
        await pilot.press("P")
        assert app.screen.flow.paused == set()


async def test_one_engine_under_two_names_is_marked_and_its_containers_not_touched() -> None:
    app = still_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await feed(pilot)
        screen = app.screen
        for host in ("lab1", "lab3"):
            app.fleet.sessions[host].engine_id = "SAME:ENGINE"
        app.fleet.sessions["lab2"].engine_id = "OTHER:ENGINE"
        screen.show_marks()
        screen.show_marks()  # told once, not at every refresh
        await pilot.pause()
        bar = screen.query_one(HostBar)
        assert "lab3 ⚠ same engine as lab1" in str(bar.render_statuses())
        errors = [n for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1
        assert errors[0].message.startswith("lab3 is the same Docker engine as lab1")

        view = screen.query_one(ContainersView)
        rows = [(key, row) for key, row in view.records.items()]
        on_lab1 = next(item for item in rows if item[1].host == "lab1")
        screen.post_message(ResourceView.ActionRequested(view, "container.restart", [on_lab1]))
        await until(pilot, lambda: any(n.title == "Restart refused"
                                       for n in app._notifications), "the refusal")
        assert not isinstance(app.screen, ConfirmScreen)
        on_lab2 = next(item for item in rows if item[1].host == "lab2")
        screen.post_message(ResourceView.ActionRequested(view, "container.restart", [on_lab2]))
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the usual question")
