"""The stacks view's changes on a swarm stack go to the Swarm engine (issue 14): a one-
service stack deployed as Swarm services (`corral deploy --engine swarm`), scaled 1 → 2
from the console (`+`, through the manager's tunnel) and seen 2/2, then removed after the
question naming its service and overlay. The swarm is left at the end
(`tests/support/swarm.py`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from corral.backends import labels as L
from corral.tui.console.screens.modals import ConfirmScreen
from tests.support.console import SIZE, command, console, online, until, view
from tests.support.deploy import corral_on
from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.support.swarm import swarm_of

pytestmark = pytest.mark.lab

STACK = "cswstack"
KEY = f"{STACK}/tick"
COMPOSE = """\
version: '2'
services:
  tick:
    image: corral-lab/busybox:1
    command: ["sh", "-c", "exec sleep 3600"]
"""


def cell(app, key: str, column: str) -> str:
    value = view(app, "stacks").get_cell(key, column)
    return getattr(value, "plain", str(value))


def services(lab: Lab) -> list[str]:
    found = engine(lab.host("lab1").socket).api.services(filters={"label": f"{L.STACK}={STACK}"})
    return [s["Spec"]["Name"] for s in found]


def test_scale_and_remove_a_swarm_stack_from_the_console(lab: Lab, tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    with swarm_of(lab):
        deployed = corral_on(lab, "deploy", str(tmp_path), "--stack", STACK, "--engine",
                             "swarm", "--yes")
        assert deployed.returncode == 0, deployed.stderr

        async def scale_and_remove() -> None:
            app = console(lab)
            async with app.run_test(size=SIZE) as pilot:
                await online(pilot, app)
                await command(pilot, "stacks")
                stacks = view(app, "stacks")
                await until(pilot, lambda: KEY in stacks.rows
                            and cell(app, KEY, "running") == "1/1", "1/1 running", timeout=20)
                stacks.move_cursor(row=stacks.get_row_index(KEY), animate=False)
                await pilot.pause()
                await pilot.press("plus")
                await until(pilot, lambda: cell(app, KEY, "running") == "2/2", "2/2 running",
                            timeout=30)

                await pilot.press("ctrl+d")
                await until(pilot, lambda: isinstance(app.screen, ConfirmScreen),
                            "the question")
                question = app.screen
                assert question.question.startswith(f"Remove swarm stack {STACK}")
                assert question.objects == [f"service {STACK}_tick",
                                            f"overlay network {STACK}_default"]
                await pilot.press("y")
                await until(pilot, lambda: not services(lab), "the services gone", timeout=30)
                await until(pilot, lambda: KEY not in stacks.rows, "the row gone", timeout=15)

        asyncio.run(scale_and_remove())
        assert not engine(lab.host("lab1").socket).networks.list(names=[f"{STACK}_default"])
