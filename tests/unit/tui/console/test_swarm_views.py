"""Swarm services in the stacks view, their tasks, and the nodes view's drain / active,
on the still console (no host is reached; the availability change is a fake)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest
from textual.widgets import DataTable

from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.screens.console import ConsoleScreen
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.screens.swarm_tasks import TasksScreen
from corral.tui.console.views.nodes import NodesView
from corral.tui.console.views.stacks import StacksView
from tests.support import fleet_data, swarm_data
from tests.support.pilot import command, until
from tests.support.still_console import INVENTORY_PATH, SIZE, feed
from tests.support.still_data import StillData


@pytest.fixture
def console() -> Iterator[Callable[..., CorralApp]]:
    previous_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()

    def build(readonly: bool = False) -> CorralApp:
        specs = tuple(HostSpec(name, SshTarget("127.0.0.1", "root", 9), labels=labels)
                      for name, (_, labels) in fleet_data.HOSTS.items())
        return CorralApp(Inventory(hosts=specs, path=INVENTORY_PATH), SshSettings(),
                         Config(readonly=readonly), data=StillData())  # type: ignore[arg-type]

    yield build
    if previous_tz is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = previous_tz
    time.tzset()


def text(view: DataTable, key: str, column: str) -> str:
    value = view.get_cell(key, column)
    return getattr(value, "plain", str(value))


async def swarm_fed(pilot, view: str) -> ConsoleScreen:
    await feed(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ConsoleScreen)
    await command(pilot, ":", view)
    screen.post_message(ConsoleScreen.Loaded("swarm", swarm_data.services(), []))
    screen.post_message(ConsoleScreen.Loaded("nodes", swarm_data.nodes(), []))
    await pilot.pause()
    return screen


async def test_stacks_show_swarm_services_and_their_tasks(console) -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        screen = await swarm_fed(pilot, "stacks")
        view = screen.query_one(StacksView)
        await until(pilot, lambda: "demo/web" in view.rows, "the swarm service row")
        assert text(view, "demo/web", "state") == "swarm replicated"
        assert text(view, "demo/web", "running") == "3/3"  # slot 3 moved off lab3 (down)
        assert text(view, "demo/web", "hosts") == "lab1,lab2"
        assert text(view, "ops/agent", "state") == "swarm global rollback_completed"
        assert text(view, "ops/agent", "running") == "2/2"
        assert "shop/web" in view.rows  # the standalone stacks stay

        view.move_cursor(row=view.get_row_index("demo/web"), animate=False)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TasksScreen), "the tasks")
        table = app.screen.query_one(DataTable)
        rows = [[c.plain for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows[0][:5] == ["1", "lab1", "lab1", "running", "running"]
        assert rows[3][:5] == ["3", "lab3", "lab3", "shutdown", "running (node down)"]
        assert rows[4][1:] == ["lab2", "lab2", "shutdown", "failed", "2026-12-03 12:00:00",
                               "task: non-zero exit (1)"]
        chosen = []
        app.screen.dismiss = chosen.append  # type: ignore[method-assign]
        await pilot.press("down", "s")
        assert chosen == [("shell", "lab2/t2webc0ffee0")]


async def test_nodes_view_drain_asks_naming_node_host_and_the_tasks(console, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr("corral.backends.swarm.set_availability",
                        lambda fleet, manager, node, availability, readonly=False:
                        calls.append((manager, node.id, availability)))
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        screen = await swarm_fed(pilot, "nodes")
        view = screen.query_one(NodesView)
        await until(pilot, lambda: view.row_count == 3, "the nodes")
        lab2 = "n2bbbbbbbbbb"
        assert [text(view, lab2, c) for c in ("node", "host", "role", "availability", "state",
                                             "tasks")] == ["lab2", "lab2", "worker", "active",
                                                           "ready", "3"]
        assert text(view, "n1aaaaaaaaaa", "manager") == "leader"
        view.move_cursor(row=view.get_row_index(lab2), animate=False)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        question = app.screen
        assert "Drain node lab2 (inventory host lab2)?" in question.question
        assert "3 tasks" in question.question
        assert any(o.startswith("demo_web.2  running") for o in question.objects)
        await pilot.press("n")
        assert calls == []
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await until(pilot, lambda: calls, "the drain")
        assert calls == [("lab1", lab2, "drain")]


async def test_read_only_hides_drain(console) -> None:
    app = console(readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await swarm_fed(pilot, "nodes")
        view = screen.query_one(NodesView)
        await until(pilot, lambda: view.row_count == 3, "the nodes")
        await pilot.press("d")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
