"""The doctor in the console: `D` on the hosts view checks every host, fills the
view's DOCTOR column with each host's worst status and opens the selected host's checks.

The run is the same as `corral hosts doctor` (`backends.doctor.run_doctor`) on the
console's own fleet, in a thread worker that never touches widgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from corral.backends.doctor import CHECK_TIMEOUT, HostReport, run_doctor
from corral.backends.errors import BackendError
from corral.backends.ssh import Fleet
from corral.tui.present.safe import visible

if TYPE_CHECKING:
    from corral.tui.console.screens.console import ConsoleScreen

#: How each status looks, in the column and in the checks.
STATUS_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def fleet_doctor(fleet: Fleet) -> list[HostReport]:
    """Run the doctor on every host of the console's fleet (blocking: a worker thread).

    Raises:
        BackendError: The fleet has no backend loop, or the run overran.
    """
    if fleet.backend is None:
        raise BackendError("the doctor needs the backend loop")
    try:
        return fleet.backend.run(run_doctor(fleet), timeout=CHECK_TIMEOUT * 6)
    except TimeoutError:
        raise BackendError("the doctor did not finish in time") from None


def status_text(status: str | None) -> Text:
    """A status as the DOCTOR column shows it ("" before the doctor ran)."""
    return Text(status or "", style=STATUS_STYLE.get(status or "", ""))


def report_table(report: HostReport) -> Table:
    """One host's checks: CHECK, STATUS, SEEN, FIX (host text made visible)."""
    table = Table(expand=True, show_edge=False)
    for heading in ("CHECK", "STATUS", "SEEN", "FIX"):
        table.add_column(heading)
    if report.error and not report.checks:
        table.add_row("-", status_text("fail"), visible(report.error), "")
    for check in report.checks:
        table.add_row(check.id, status_text(check.status), visible(check.seen),
                      visible(check.fix or ""))
    return table


def start(screen: ConsoleScreen, host: str | None) -> None:
    """Run the doctor in a worker; then fill the column and show `host`'s checks."""
    from corral.tui.console.screens.modals import TextScreen
    from corral.tui.console.views.hosts import HostsView

    app = screen.app
    app.notify(f"doctor: checking {len(screen.fleet.sessions)} hosts…", timeout=3)

    def work() -> None:
        try:
            reports = fleet_doctor(screen.fleet)
        except BackendError as exc:
            app.call_from_thread(app.notify, str(exc), title="doctor", severity="error")
            return
        app.call_from_thread(show, reports)

    def show(reports: list[HostReport]) -> None:
        for view in screen.query(HostsView):
            view.set_doctor({report.host: report for report in reports})
        chosen = next((report for report in reports if report.host == host), None)
        if chosen is not None:
            title = f"doctor {chosen.host}: {chosen.status}"
            app.push_screen(TextScreen(title, report_table(chosen)))

    screen.run_worker(work, thread=True, group="doctor", exclusive=True)
