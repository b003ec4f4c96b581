"""Upgrading deployed stacks on the lab: from the deployed answers, no-op upgrades, confirmations.

- `udemo`: the built-in webrtc-demo deployed with a room name and a password,
  scaled with `+`, then upgraded from the console's Upgrade form changing one
  answer: every other answer, the password and the scale are kept, and the
  plan says what changes in each replaced container.
- `noop`: a compose folder whose catalog version changes and nothing else:
  the upgrade ends at once, the CLI and the console agree nothing is pending,
  and destructive verbs without `--yes` change nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corral.backends import labels as L
from corral.tui.console.screens.catalog_form import STACK_FIELD, CatalogFormScreen
from corral.tui.console.screens.console import ConsoleScreen
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.screens.plan import PlanScreen
from tests.support.catalog_pilot import form_shown, screen_text
from tests.support.console import SECRET, SIZE, command, console, online, told, until, view
from tests.support.deploy import corral_on
from tests.support.lab import Lab
from tests.support.lab_cli import engine

pytestmark = pytest.mark.lab

STACK = "udemo"
PORT = "8095"
ROOM = "room7"


def stack_containers(lab: Lab, stack: str) -> list:
    return [c for host in lab.hosts for c in engine(host.socket).containers.list(
        all=True, filters={"label": f"{L.STACK}={stack}"})]


def env_of(container) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])


def state_of(lab: Lab, stack: str) -> str:
    listed = json.loads(corral_on(lab, "stacks", "--json").stdout)
    return next(s["state"] for s in listed if s["name"] == stack)


@pytest.fixture(scope="module")
def udemo(lab: Lab):
    result = corral_on(lab, "deploy", "webrtc-demo", "--stack", STACK, "--set",
                       f"KV_PASSWORD={SECRET}", "--set", f"PUBLIC_PORT={PORT}", "--set",
                       f"ROOM_NAME={ROOM}", "--yes")
    assert result.returncode == 0, result.stderr
    yield STACK
    corral_on(lab, "rm", STACK, "--yes", "--volumes")


async def test_upgrade_form_keeps_the_other_answers_the_password_and_the_scale(
        lab: Lab, udemo: str) -> None:
    def signals() -> list:
        return sorted((c for c in stack_containers(lab, STACK)
                       if c.labels[L.SERVICE] == "signal" and not c.name.endswith(".prev")),
                      key=lambda c: c.name)

    kv_before = {c.name: c.id for c in stack_containers(lab, STACK)
                 if c.labels[L.SERVICE] in ("kv", "media")}
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        await command(pilot, "stacks")
        stacks = view(app, "stacks")
        key = f"{STACK}/signal"
        await until(pilot, lambda: key in stacks.records, "the stack")
        stacks.move_cursor(row=stacks.get_row_index(key))
        await pilot.press("plus")
        await until(pilot, lambda: len(signals()) == 3, "a third signal replica", timeout=90)

        await pilot.press("U")
        form = await form_shown(pilot)
        assert isinstance(app.screen, CatalogFormScreen)
        stack_name = form.query_one(f"#{STACK_FIELD}")
        assert stack_name.value == STACK and stack_name.control.disabled
        values = {variable: field.value for variable, field in form.fields.items()}
        assert values["ROOM_NAME"] == ROOM and values["PUBLIC_PORT"] == PORT
        assert values["SIGNAL_SCALE"] == "3"  # the scale `+` gave it, not the default 2
        assert values["KV_PASSWORD"] == "" and not form.fields["KV_PASSWORD"].problem
        assert "unchanged" in form.fields["KV_PASSWORD"].question.description
        form.fields["LOG_LEVEL"].control.value = "debug"
        await pilot.pause()
        await pilot.press("ctrl+g")

        await until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan screen")
        screen = app.screen
        await until(pilot, lambda: screen.phase != "planning", "the plan", timeout=30)
        assert screen.phase == "planned" and screen.planned.upgrade, screen.status
        prepared = screen.planned.prepared
        changes = {(s.service, s.action) for s in prepared.plan.changes}
        assert changes == {("signal", "replace")}, prepared.plan.changes
        assert len(prepared.plan.changes) == 3
        assert [str(c) for c in prepared.changes["signal"]] == ["env LOG_LEVEL: info → debug"]
        text = screen_text(app)
        assert "env LOG_LEVEL: info → debug" in text and "changes env LOG_LEVEL" in text
        assert SECRET not in text

        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await until(pilot, lambda: any("confirm (c) or roll back (b)" in m
                                       for m in told(app)), "the upgrade", timeout=120)
        assert isinstance(app.screen, ConsoleScreen)
        now = signals()
        assert len(now) == 3
        for container in now:
            env = env_of(container)
            assert env["LOG_LEVEL"] == "debug" and env["ROOM"] == ROOM
            assert env["KV_PASSWORD"] == SECRET  # kept from the running containers
        assert {c.name: c.id for c in stack_containers(lab, STACK)
                if c.labels[L.SERVICE] in ("kv", "media")} == kv_before

        stacks = view(app, "stacks")
        await until(pilot, lambda: key in stacks.records, "the stack again")
        # The console says what `corral stacks` says, from the same record.
        await until(pilot, lambda: str(stacks.get_cell(key, "state")) == "upgraded",
                    "the state from a health pass", timeout=30)
        assert state_of(lab, STACK) == "upgraded"
        stacks.move_cursor(row=stacks.get_row_index(key))
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await until(pilot, lambda: not any(c.name.endswith(".prev")
                                           for c in stack_containers(lab, STACK)),
                    "the old copies removed", timeout=60)
        await until(pilot, lambda: str(stacks.get_cell(key, "state")) == "active",
                    "active again", timeout=30)
        assert SECRET not in screen_text(app)
    listed = corral_on(lab, "stacks")
    assert SECRET not in listed.stdout + listed.stderr


COMPOSE = """\
version: '2'
services:
  web:
    image: corral-lab/busybox:1
    command: ["sleep", "3600"]
    environment:
      RELEASE: "${RELEASE}"
"""
RANCHER = """\
version: '2'
catalog:
  name: noop
  version: "{version}"
  questions:
    - variable: RELEASE
      type: string
      default: "1"
services:
  web:
    scale: 2
"""


@pytest.fixture(scope="module")
def noop(lab: Lab, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("noop")
    (folder / "docker-compose.yml").write_text(COMPOSE)
    (folder / "rancher-compose.yml").write_text(RANCHER.format(version="1"))
    result = corral_on(lab, "deploy", str(folder), "--stack", "noop", "--yes")
    assert result.returncode == 0, result.stderr
    yield folder
    corral_on(lab, "rm", "noop", "--yes")


async def test_an_upgrade_changing_nothing_ends_at_once_and_c_says_so(lab: Lab,
                                                                        noop: Path) -> None:
    before = {c.name: c.id for c in stack_containers(lab, "noop")}
    (noop / "rancher-compose.yml").write_text(RANCHER.format(version="2"))
    result = corral_on(lab, "upgrade", str(noop), "--stack", "noop", "--yes")
    assert result.returncode == 0, result.stderr
    assert "Then `corral confirm" not in result.stderr
    assert {c.name: c.id for c in stack_containers(lab, "noop")} == before
    assert state_of(lab, "noop") == "active"
    refused = corral_on(lab, "confirm", "noop", "--yes")
    assert refused.returncode == 1 and "nothing pending" in refused.stderr

    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        await command(pilot, "stacks")
        stacks = view(app, "stacks")
        await until(pilot, lambda: "noop/web" in stacks.records, "the stack")
        await until(pilot, lambda: str(stacks.get_cell("noop/web", "state")) == "active",
                    "the state from a health pass", timeout=30)
        stacks.move_cursor(row=stacks.get_row_index("noop/web"))
        await pilot.press("c")
        await until(pilot, lambda: any("nothing pending" in m for m in told(app)),
                    "the notice")
        assert not isinstance(app.screen, ConfirmScreen)

    # The next upgrade is not refused, and now something is pending, for everyone.
    result = corral_on(lab, "upgrade", str(noop), "--stack", "noop", "--set", "RELEASE=2",
                       "--yes")
    assert result.returncode == 0, result.stderr
    assert state_of(lab, "noop") == "upgraded"
    result = corral_on(lab, "confirm", "noop", "--yes")
    assert result.returncode == 0, result.stderr
    assert state_of(lab, "noop") == "active"


def test_destructive_verbs_without_yes_change_nothing(lab: Lab, noop: Path) -> None:
    before = {c.name: c.id for c in stack_containers(lab, "noop")}
    for argv in (["scale", "noop/web=1"], ["rollback", "noop"], ["rm", "noop"],
                 ["reconcile"], ["deploy", str(noop), "--stack", "noop"]):
        result = corral_on(lab, *argv)
        assert result.returncode == 2, (argv, result.stderr)
        assert result.stderr.count("\n") == 1 and "pass --yes" in result.stderr
        assert result.stdout == ""
    assert {c.name: c.id for c in stack_containers(lab, "noop")} == before
