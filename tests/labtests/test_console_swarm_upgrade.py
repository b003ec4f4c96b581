"""Upgrading a swarm stack from the console's stacks view (issue 14).

A catalog entry with a string and a password question is deployed on the
three-node swarm with the Swarm engine (`corral deploy --engine swarm`). On its
row, `U` opens the same catalog form as a standalone upgrade, filled from the
record in the services' labels (the greeting, the scale `corral scale` gave
it; the password field masked and empty: the swarm keeps no password to carry
over, so it is typed again). `ctrl+g` plans through the Swarm engine (the
service's diff, the nodes' images, never the password), `a` asks naming the
service, and the apply is Swarm's rolling update: the service's tasks then run
with the new greeting and the same password, and a notification says so.
The swarm is left at the end (`tests/support/swarm.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
from pathlib import Path

import pytest

from corral.backends import labels as L
from corral.backends.inventory import load_inventory
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.screens.catalog_form import CatalogFormScreen
from corral.tui.console.screens.console import ConsoleScreen
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.screens.swarm_plan import SwarmPlanScreen
from tests.support.catalog_pilot import form_shown, screen_text
from tests.support.catalog_tree import write_tree
from tests.support.console import SIZE, command, online, told, until, view
from tests.support.deploy import corral_on
from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.support.pilot import kept_notifications
from tests.support.swarm import swarm_of

pytestmark = pytest.mark.lab

STACK = "cswup"
KEY = f"{STACK}/web"
SECRET = "swarm-up-s3cret"


def web_env(lab: Lab) -> dict[str, str]:
    [service] = engine(lab.host("lab1").socket).api.services(
        filters={"label": f"{L.STACK}={STACK}"})
    env = service["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
    return dict(item.split("=", 1) for item in env)


def cell(app, key: str, column: str) -> str:
    value = view(app, "stacks").get_cell(key, column)
    return getattr(value, "plain", str(value))


def test_upgrade_a_swarm_stack_from_the_console_form(lab: Lab, tmp_path: Path) -> None:
    catalog = write_tree(tmp_path / "catalog", {
        "templates/swup/config.yml": "name: swup\nversion: '1.0'\n",
        "templates/swup/0/docker-compose.yml":
            "web:\n  image: corral-lab/busybox:1\n  command: [sleep, '3600']\n"
            "  environment:\n    GREETING: ${GREETING}\n    PW: ${PW}\n",
        "templates/swup/0/rancher-compose.yml":
            ".catalog:\n  version: '1.0'\n  questions:\n"
            "    - variable: GREETING\n      type: string\n      default: hello\n"
            "    - variable: PW\n      type: password\n      required: true\n",
    })
    with swarm_of(lab):
        deployed = corral_on(lab, "deploy", "swup", "--catalog", str(catalog), "--stack", STACK,
                             "--set", f"PW={SECRET}", "--engine", "swarm", "--yes")
        assert deployed.returncode == 0, deployed.stderr
        scaled = corral_on(lab, "scale", f"{STACK}/web=2", "--engine", "swarm", "--yes")
        assert scaled.returncode == 0, scaled.stderr

        async def upgrade() -> None:
            settings = SshSettings(known_hosts=(str(lab.known_hosts),), keepalive_interval=2,
                                   connect_timeout=5)
            app = CorralApp(load_inventory(lab.inventory), settings,
                            Config(catalogs=(str(catalog),)))
            kept_notifications(app)
            async with app.run_test(size=SIZE) as pilot:
                await online(pilot, app)
                await command(pilot, "stacks")
                stacks = view(app, "stacks")
                await until(pilot, lambda: KEY in stacks.rows
                            and cell(app, KEY, "running") == "2/2", "2/2 running", timeout=30)
                stacks.move_cursor(row=stacks.get_row_index(KEY), animate=False)
                await pilot.pause()
                await pilot.press("U")

                form = await form_shown(pilot)
                assert isinstance(app.screen, CatalogFormScreen)
                assert form.upgrade is not None and form.upgrade.engine == "swarm"
                assert form.upgrade.scales == {"web": 2}
                values = {variable: field.value for variable, field in form.fields.items()}
                assert values == {"GREETING": "hello", "PW": ""}
                assert form.fields["PW"].control.password  # masked as in any form
                form.fields["GREETING"].control.value = "bye"
                form.fields["PW"].control.value = SECRET
                await pilot.pause()
                await pilot.press("ctrl+g")

                await until(pilot, lambda: isinstance(app.screen, SwarmPlanScreen),
                            "the swarm plan")
                screen = app.screen
                await until(pilot, lambda: screen.phase != "planning", "the plan", timeout=30)
                assert screen.phase == "planned", screen.status
                plan = screen.plan
                assert [(s.action, s.full_name, s.replicas) for s in plan.steps] == [
                    ("update", f"{STACK}_web", 2)]
                assert plan.steps[0].changes == (
                    "TaskTemplate.ContainerSpec.Env.GREETING: hello -> bye",)
                text = html.unescape(screen_text(app))
                assert "GREETING: hello -> bye" in text and "Images: 1 present on" in text
                assert SECRET not in text

                await pilot.press("a")
                await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
                assert app.screen.objects == [f"update service {STACK}_web"]
                await pilot.press("y")
                await until(pilot, lambda: screen.phase in ("done", "failed"), "the upgrade",
                            timeout=240)
                # The toast is posted as a message: it may land just after "done".
                with contextlib.suppress(AssertionError):
                    await until(pilot, lambda: any(f"Swarm stack {STACK} upgraded" in m
                                                   for m in told(app)), "the toast")
                said = "\n".join(told(app))
                assert f"Swarm stack {STACK} upgraded" in said, (said, screen.status)
                assert isinstance(app.screen, ConsoleScreen)
                assert SECRET not in "\n".join(told(app))

        try:
            asyncio.run(upgrade())
            env = web_env(lab)
            assert env["GREETING"] == "bye" and env["PW"] == SECRET
            listed = corral_on(lab, "stacks", "--engine", "swarm", "--json")
            assert '"generation": 2' in listed.stdout and SECRET not in listed.stdout
        finally:
            corral_on(lab, "rm", STACK, "--engine", "swarm", "--yes")
