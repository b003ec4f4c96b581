"""The containers view for on-call (issue 12): restarts, exit and since columns, old copies
in the problems filter, `d` describe, `/` search in the YAML inspect."""

from __future__ import annotations

import dataclasses

from rich.text import Text

from corral.backends.engine.facts import ContainerState
from corral.backends.engine.watch import EngineEvent, Upsert
from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.screens.text_search import SearchableTextScreen
from corral.tui.console.views.containers import PREVIOUS_MARK, ContainersView
from tests.support import fleet_data
from tests.support.pilot import until
from tests.support.still_console import SIZE, feed
from tests.support.still_data import StillData

NOW = fleet_data.EPOCH + 1800
#: lab1's cron-report-1: exited 3, restarted 4 times, killed for memory.
CRON = next(r for r in fleet_data.containers()["lab1"] if r.name == "cron-report-1")
CRASHED = dataclasses.replace(CRON, detail=ContainerState(
    restart_count=4, exit_code=3, started_at=NOW - 900, finished_at=NOW - 600, oom_killed=True))
#: An upgrade's old copy of shop-web-1 on lab2, stopped cleanly.
PREVIOUS = dataclasses.replace(
    fleet_data.container("lab2", 9, "shop-web-1.prev", "corral-lab/web:0",
                         "Exited (0) 2 minutes ago", "shop", "web"),
    detail=ContainerState(exit_code=0, finished_at=NOW - 120))


def crashed_document() -> dict:
    document = fleet_data.inspect_document(CRON)
    document["RestartCount"] = 4
    document["State"] = {
        "Status": "exited", "Running": False, "ExitCode": 137, "OOMKilled": True,
        "Error": "", "StartedAt": "2026-01-05T09:40:00Z", "FinishedAt": "2026-01-05T09:45:00Z",
        "Health": {"Status": "unhealthy", "FailingStreak": 3, "Log": [
            {"ExitCode": 1, "End": "2026-01-05T09:44:59Z", "Output": "wget: server down"}]},
    }
    document["HostConfig"]["RestartPolicy"] = {"Name": "on-failure", "MaximumRetryCount": 5}
    return document


def still_app() -> CorralApp:
    specs = tuple(HostSpec(name, SshTarget("127.0.0.1", "root", 9), labels=labels)
                  for name, (_, labels) in fleet_data.HOSTS.items())
    documents = {CRON.id: crashed_document(),
                 **{row.id: fleet_data.inspect_document(row)
                    for rows in fleet_data.containers().values() for row in rows
                    if row.id != CRON.id}}
    return CorralApp(Inventory(hosts=specs), SshSettings(), Config(),
                     data=StillData(documents))  # type: ignore[arg-type]


async def fed(pilot) -> ContainersView:
    """The made-up fleet, with the crashed container and an old copy added."""
    await feed(pilot)
    screen = pilot.app.screen
    screen.store.put(Upsert("lab1", CRASHED))
    screen.store.put(Upsert("lab2", PREVIOUS))
    view = screen.query_one(ContainersView)
    await until(pilot, lambda: f"lab2/{PREVIOUS.id}" in view.rows, "the old copy")
    view.focus()
    return view


def cell(view: ContainersView, key: str, column: str) -> str:
    value = view.get_cell(key, column)
    return value.plain if isinstance(value, Text) else str(value)


async def test_restarts_exit_and_since_columns() -> None:
    app = still_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await fed(pilot)
        key = f"lab1/{CRASHED.id}"
        assert cell(view, key, "restarts") == "4"
        assert cell(view, key, "exit") == "3"
        assert cell(view, key, "since").endswith(("m", "h", "d"))
        # Without inspect details, exit and age come from the engine's status text.
        plain = next(r for r in fleet_data.containers()["lab3"] if r.name == "backup-7d2f")
        assert cell(view, f"lab3/{plain.id}", "exit") == "0"
        assert cell(view, f"lab3/{plain.id}", "since") == "5h"
        running = next(r for r in fleet_data.containers()["lab1"] if r.name == "shop-web-1")
        assert cell(view, f"lab1/{running.id}", "exit") == ""
        assert cell(view, f"lab1/{running.id}", "since") == "3h"


async def test_problems_include_an_upgrades_old_copies_marked_as_such() -> None:
    app = still_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await fed(pilot)
        await pilot.press("p")
        shown = {record.name for _, record in view.visible()}
        assert "shop-web-1.prev" in shown
        assert "cron-report-1" in shown  # OOM-killed by its inspect details
        assert "shop-web-1" not in shown
        assert PREVIOUS_MARK in cell(view, f"lab2/{PREVIOUS.id}", "state")


async def test_d_describes_last_state_exit_oom_restarts_health_and_events() -> None:
    app = still_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await fed(pilot)
        app.screen.store.put(EngineEvent("lab1", NOW - 600, "container", "oom", CRON.name,
                                         {"name": CRON.name}))
        app.screen.store.put(EngineEvent("lab2", NOW - 500, "container", "oom", "other",
                                         {"name": "other"}))
        await pilot.press("slash", *"cron-report", "enter")
        await until(pilot, lambda: view.row_count == 1, "the crashed container alone")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, SearchableTextScreen), "describe")
        text = app.screen.text
        for expected in ("lab1/cron-report-1", "State:       exited", "code 137",
                         "killed for memory (OOM)", "OOM killed:  yes",
                         "Restarts:    4  (policy: on-failure, at most 5)",
                         "Health:      unhealthy, failing streak 3", "wget: server down",
                         "die  exit 3", "oom"):
            assert expected in text, expected
        assert "other" not in text  # another container's events are not listed
        assert app.screen.title_text == "describe lab1/cron-report-1"


async def test_slash_searches_the_yaml_inspect_with_next_and_previous() -> None:
    app = still_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await fed(pilot)
        await pilot.press("slash", *"shop-web-1", "enter")
        await until(pilot, lambda: view.row_count >= 1, "shop-web-1")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, SearchableTextScreen), "inspect")
        screen = app.screen
        await pilot.press("slash", *"80", "enter")
        lines = screen.text.splitlines()
        hits = [n for n, line in enumerate(lines) if "80" in line]
        assert len(screen.matches) >= 3
        assert screen.current_line == hits[0]
        await pilot.press("n")
        assert screen.current == 1
        await pilot.press("N", "N")
        assert screen.current == len(screen.matches) - 1  # wraps around
        assert "80" in str(screen.query_one("VerticalScroll").border_subtitle)
        # `q` typed into the search line is text, not "close".
        await pilot.press("slash", "ctrl+a", *"quux", "enter")
        assert isinstance(app.screen, SearchableTextScreen) and screen.matches == []
        await pilot.press("escape")
        assert not isinstance(app.screen, SearchableTextScreen)
