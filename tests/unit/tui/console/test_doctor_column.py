"""`D` on the hosts view: the doctor's worst status per host as a column, and the checks."""

from __future__ import annotations

import pytest

from corral.backends.doctor import Check, HostReport
from corral.tui.console import doctor_ui
from corral.tui.console.keys_help import binding_rows
from corral.tui.console.screens.modals import TextScreen
from corral.tui.console.views.hosts import HostsView
from tests.support import fleet_data
from tests.support.pilot import until
from tests.support.still_console import feed
from tests.unit.tui.console.test_not_acting_marks import still_app


def reports(fleet) -> list[HostReport]:
    found = []
    for index, name in enumerate(fleet.sessions):
        report = HostReport(name)
        report.add(Check("ssh.reachable", "ok", "fine"))
        if index == 0:
            report.add(Check("engine.log-rotation", "warn", "json-file without max-size",
                             "provision:log-rotation"))
        if index == 1:
            report.add(Check("swarm.ports", "fail", "7946/udp from lab1: no answer"))
        found.append(report)
    return found


@pytest.mark.parametrize("readonly", [False, True])
async def test_d_fills_the_doctor_column_and_shows_the_hosts_checks(
        monkeypatch: pytest.MonkeyPatch, readonly: bool) -> None:
    monkeypatch.setattr(doctor_ui, "fleet_doctor", reports)
    app = still_app(readonly=readonly)  # the doctor only reads: offered read-only too
    async with app.run_test(size=(200, 40)) as pilot:
        await feed(pilot)
        await pilot.press("colon", *"hosts", "enter")
        view = app.screen.query_one(HostsView)
        await until(pilot, lambda: view.row_count == len(fleet_data.HOSTS), "the hosts")
        assert "hosts.doctor" in {row[2] for row in binding_rows(view, app)}
        first = view.current_key()
        column = [str(c.label) for c in view.columns.values()].index("DOCTOR")
        assert str(view.get_row(first)[column]) == ""  # nothing before the doctor ran

        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, TextScreen), "the checks")
        assert app.screen.title_text == f"doctor {first}: warn"
        await pilot.press("escape")
        names = list(app.fleet.sessions)
        assert [str(view.get_row(name)[column]) for name in names[:3]] == ["warn", "fail", "ok"]
