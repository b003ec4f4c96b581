"""The console over a swarm of lab hosts (issue 14): a service's replicas and tasks in
`:stacks`, its logs and a shell in a task, `:nodes` drain asking first; then a worker
taken down with no Corral process running, Swarm moving its tasks by itself, and the
console showing it when opened.

The service is made directly on the manager's engine (not through Corral), labelled as
Corral's swarm engine labels its services; `--endpoint-mode dnsrr` since the lab has no
IPVS. The swarm's heartbeat is shortened so a node taken down is seen down in seconds.
Every lab host leaves the swarm at the end (`tests/support/swarm.py`).
"""

from __future__ import annotations

import asyncio

import docker
import pytest
from docker.types import EndpointSpec, ServiceMode
from textual.widgets import DataTable

from corral.backends import labels as L
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.screens.swarm_tasks import TasksScreen
from corral.tui.console.widgets.logs.view import LogPane
from corral.tui.console.widgets.terminal.pane import ShellPane
from tests.support.console import SIZE, command, console, online, until, view
from tests.support.faults import shown_lines
from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.support.shell_pane import prompt_ready
from tests.support.swarm import swarm_of
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab

STACK, SERVICE = "cswarm", "tick"
NAME = f"{STACK}_{SERVICE}"
KEY = f"{STACK}/{SERVICE}"
BUSYBOX = "corral-lab/busybox:1"
#: The swarm's heartbeat: a node that stops answering is down after a few of these.
HEARTBEAT_NS = 1_000_000_000


def make_service(manager: docker.DockerClient) -> None:
    labels = {L.STACK: STACK, L.SERVICE: SERVICE, "com.docker.stack.namespace": STACK}
    manager.services.create(
        BUSYBOX, ["sh", "-c", "while true; do echo tick from $(hostname); sleep 1; done"],
        name=NAME, labels=labels, container_labels=labels,
        mode=ServiceMode("replicated", replicas=3), endpoint_spec=EndpointSpec(mode="dnsrr"))


def placement(manager: docker.DockerClient) -> dict[str, str]:
    """Task ID -> the hostname of its node, for the service's tasks running and wanted so."""
    nodes = {n["ID"]: n["Description"]["Hostname"] for n in manager.api.nodes()}
    return {t["ID"]: nodes.get(t["NodeID"], "?")
            for t in manager.api.tasks(filters={"service": NAME})
            if t["DesiredState"] == "running" and t["Status"]["State"] == "running"}


def node_state(manager: docker.DockerClient, hostname: str) -> str:
    return next(n["Status"]["State"] for n in manager.api.nodes()
                if n["Description"]["Hostname"] == hostname)


async def cursor_to(pilot, app, name: str, key: str) -> None:
    """Put the cursor of view `name` on row `key` (quicker than typing a filter)."""
    table = view(app, name)
    table.move_cursor(row=table.get_row_index(key), animate=False)
    await pilot.pause()


def cell(app, name: str, key: str, column: str) -> str:
    value = view(app, name).get_cell(key, column)
    return getattr(value, "plain", str(value))


async def tasks_shown(pilot, app) -> list[list[str]]:
    """Open the tasks of the service under the cursor; their rows, then close them."""
    await pilot.press("t")
    await until(pilot, lambda: isinstance(app.screen, TasksScreen), "the tasks")
    table = app.screen.query_one(DataTable)
    rows = [[c.plain for c in table.get_row_at(i)] for i in range(table.row_count)]
    await pilot.press("escape")
    return rows


def test_swarm_service_nodes_drain_and_a_worker_down_without_corral(lab: Lab) -> None:
    with swarm_of(lab) as first:
        manager = engine(lab.host(first).socket)
        manager.api.update_swarm(
            version=manager.api.inspect_swarm()["Version"]["Index"],
            swarm_spec=manager.api.create_swarm_spec(dispatcher_heartbeat_period=HEARTBEAT_NS,
                                                     task_history_retention_limit=3))
        make_service(manager)
        wait_until(lambda: sorted(placement(manager).values()) == ["lab1", "lab2", "lab3"],
                   "a task of the service on each node", timeout=30, step=0.2)

        async def with_swarm_up() -> None:
            app = console(lab)
            async with app.run_test(size=SIZE) as pilot:
                await online(pilot, app)
                await command(pilot, "stacks")
                await until(pilot, lambda: KEY in view(app, "stacks").rows, "the swarm service")
                await until(pilot, lambda: cell(app, "stacks", KEY, "running") == "3/3",
                            "3/3 running")
                assert cell(app, "stacks", KEY, "state") == "swarm replicated"
                assert cell(app, "stacks", KEY, "hosts") == "lab1,lab2,lab3"
                await cursor_to(pilot, app, "stacks", KEY)
                rows = await tasks_shown(pilot, app)
                assert sorted((r[2], r[3], r[4]) for r in rows) == [
                    ("lab1", "running", "running"), ("lab2", "running", "running"),
                    ("lab3", "running", "running")]

                # The service's logs: each task's container through its node's host.
                await pilot.press("l")
                workspace = app.screen.workspace
                await until(pilot, lambda: len(workspace.panes) == 1, "a log pane")
                pane = workspace.panes[0].content
                assert isinstance(pane, LogPane)
                await until(pilot, lambda: len({text.rpartition(" ")[2] for _, text in
                                                shown_lines(pane)}) == 3,
                            "lines from the three tasks' containers", timeout=20)
                await pilot.press("ctrl+w")

                # A shell in the task's container on lab2, through lab2's tunnel.
                await pilot.press("t")
                await until(pilot, lambda: isinstance(app.screen, TasksScreen), "the tasks")
                table = app.screen.query_one(DataTable)
                table.move_cursor(row=next(i for i in range(table.row_count)
                                           if table.get_row_at(i)[2].plain == "lab2"))
                await pilot.press("s")
                await until(pilot, lambda: any(isinstance(p.content, ShellPane)
                                               for p in workspace.panes), "a shell pane")
                shell = next(p.content for p in workspace.panes
                             if isinstance(p.content, ShellPane))
                assert shell.target.host == "lab2"
                await until(pilot, lambda: prompt_ready(shell), "the prompt", timeout=20)
                await pilot.press("ctrl+right_square_bracket")  # out of the shell

                await command(pilot, "nodes")
                nodes = view(app, "nodes")
                await until(pilot, lambda: nodes.row_count == 3, "the three nodes")
                lab2 = next(k for k, r in nodes.records.items() if r.host == "lab2")
                await cursor_to(pilot, app, "nodes", lab2)
                assert cell(app, "nodes", lab2, "availability") == "active"
                await pilot.press("d")
                await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
                question = app.screen
                assert question.question.startswith("Drain node lab2 (inventory host lab2)?")
                assert any(o.startswith(f"{NAME}.") for o in question.objects), question.objects
                await pilot.press("y")
                await until(pilot, lambda: "lab2" not in placement(manager).values()
                            and len(placement(manager)) == 3, "the tasks of lab2 moved",
                            timeout=30)
                await until(pilot, lambda: cell(app, "nodes", lab2, "availability") == "drain",
                            "lab2 drained in the view", timeout=15)
                await pilot.press("a")
                await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
                assert "Make node lab2 (inventory host lab2) active?" in app.screen.question
                await pilot.press("y")
                await until(pilot, lambda: cell(app, "nodes", lab2, "availability") == "active",
                            "lab2 active again", timeout=15)

        asyncio.run(with_swarm_up())

        # No Corral process from here on: Swarm alone moves lab3's tasks.
        with lab.faulted("lab3", "link-down"):
            wait_until(lambda: node_state(manager, "lab3") == "down", "lab3 down", timeout=30,
                       step=0.2)
            wait_until(lambda: "lab3" not in placement(manager).values()
                       and len(placement(manager)) == 3,
                       "the tasks rescheduled off lab3", timeout=30, step=0.2)

            async def opened_after() -> None:
                app = console(lab)
                async with app.run_test(size=SIZE) as pilot:
                    sessions = app.fleet.sessions
                    await until(pilot, lambda: sessions["lab1"].online and sessions["lab2"].online,
                                "lab1 and lab2 online")
                    await command(pilot, "stacks")
                    await until(pilot, lambda: KEY in view(app, "stacks").rows
                                and cell(app, "stacks", KEY, "running") == "3/3"
                                and cell(app, "stacks", KEY, "hosts") == "lab1,lab2",
                                "3/3 running on lab1 and lab2", timeout=20)
                    await cursor_to(pilot, app, "stacks", KEY)
                    rows = await tasks_shown(pilot, app)
                    running = sorted(r[2] for r in rows if r[3] == "running")
                    assert len(running) == 3 and "lab3" not in running, rows
                    assert any(r[2] == "lab3" and r[3] == "shutdown" for r in rows), rows
                    await command(pilot, "nodes")
                    nodes = view(app, "nodes")
                    await until(pilot, lambda: any(
                        cell(app, "nodes", k, "host") == "lab3"  # tied though unreachable
                        and cell(app, "nodes", k, "state") == "down" for k in nodes.records),
                        "lab3 down in :nodes", timeout=15)

            asyncio.run(opened_after())
