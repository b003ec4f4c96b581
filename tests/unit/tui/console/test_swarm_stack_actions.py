"""The stacks view's changes on a swarm service row go to the Swarm engine (issue 14):
scale, remove and rollback through `corral.backends.swarm` (fakes here), confirm and
reconcile say what Swarm does by itself, upgrade reads the record from the swarm; a swarm
stack Corral did not make is refused; never the standalone engine's flow."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator

import pytest

from corral.backends import deploy, swarm
from corral.backends.deploy import Definition
from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.model.deploy_flow import DeployFlow
from corral.tui.console.screens.console import ConsoleScreen
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.views.stacks import StacksView
from tests.support import fleet_data, swarm_data
from tests.support.pilot import command, until
from tests.support.plan import stack as plan_stack
from tests.support.plan import svc
from tests.support.still_console import INVENTORY_PATH, SIZE, feed
from tests.support.still_data import StillData

#: A stack `docker stack deploy` made: no Corral record in its labels.
FOREIGN = dataclasses.replace(swarm_data.WEB, id="svcforeign", name="hand_web", stack="hand",
                              corral=False)


@pytest.fixture
def console(monkeypatch) -> Iterator[Callable[..., tuple[CorralApp, list]]]:
    previous_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    calls: list = []

    def fake(name: str, result=None):
        def call(*args, **kwargs):
            calls.append((name, *args[1:]))  # the fleet left out
            return result
        return call

    monkeypatch.setattr(swarm, "swarm_scale", fake("scale", {}))
    monkeypatch.setattr(swarm, "swarm_rollback", fake("rollback", {}))
    monkeypatch.setattr(swarm, "remove_stack", fake("rm", ["demo_web"]))
    monkeypatch.setattr(swarm, "stack_names", fake("names", ("lab1", ["demo_web"])))
    gone = dataclasses.replace(plan_stack(svc("web"), name="demo"), entry="gone-entry")
    monkeypatch.setattr(deploy, "swarm_deployed", fake("deployed", Definition(gone)))
    for method in ("scale", "remove_stack", "settle_upgrade", "pending_upgrade",
                   "reconcile_now", "deployed"):
        monkeypatch.setattr(DeployFlow, method, fake(f"standalone {method}"))

    def build(readonly: bool = False) -> tuple[CorralApp, list]:
        specs = tuple(HostSpec(name, SshTarget("127.0.0.1", "root", 9), labels=labels)
                      for name, (_, labels) in fleet_data.HOSTS.items())
        app = CorralApp(Inventory(hosts=specs, path=INVENTORY_PATH), SshSettings(),
                        Config(readonly=readonly), data=StillData())  # type: ignore[arg-type]
        return app, calls

    yield build
    if previous_tz is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = previous_tz
    time.tzset()


async def on_row(pilot, key: str) -> StacksView:
    await feed(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ConsoleScreen)
    await command(pilot, ":", "stacks")
    services = {**swarm_data.services(), FOREIGN.key: FOREIGN}
    screen.post_message(ConsoleScreen.Loaded("swarm", services, []))
    view = screen.query_one(StacksView)
    await until(pilot, lambda: key in view.rows, "the swarm row")
    view.move_cursor(row=view.get_row_index(key), animate=False)
    await pilot.pause()
    return view


def told(app) -> str:
    return "\n".join(n.message for n in app._notifications)


async def answer(pilot, app, yes: bool = True) -> ConfirmScreen:
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
    question = app.screen
    await pilot.press("y" if yes else "n")
    return question


async def test_scale_up_and_down_go_to_the_swarm_engine(console) -> None:
    app, calls = console()
    async with app.run_test(size=SIZE) as pilot:
        await on_row(pilot, "demo/web")
        await pilot.press("plus")
        await until(pilot, lambda: calls, "the scale")
        assert calls[0][:4] == ("scale", "demo", "web", 4)
        await until(pilot, lambda: "runs 4 replica(s)" in told(app), "the result")
        await pilot.press("minus")
        question = await answer(pilot, app, yes=False)
        assert "Scale swarm service demo_web from 3 to 2?" in question.question
        assert len(calls) == 1  # no: nothing changed
        await pilot.press("minus")
        await answer(pilot, app)
        await until(pilot, lambda: len(calls) == 2, "the scale down")
        assert calls[1][:4] == ("scale", "demo", "web", 2)
        assert not any(c[0].startswith("standalone") for c in calls)


async def test_remove_names_the_services_and_the_overlay(console) -> None:
    app, calls = console()
    async with app.run_test(size=SIZE) as pilot:
        await on_row(pilot, "demo/web")
        await pilot.press("ctrl+d")
        question = await answer(pilot, app)
        assert "Remove swarm stack demo (through manager lab1)?" in question.question
        assert question.objects == ["service demo_web", "overlay network demo_default"]
        await until(pilot, lambda: any(c[0] == "rm" for c in calls), "the removal")
        assert [c[:2] for c in calls] == [("names", "demo"), ("rm", "demo")]
        await until(pilot, lambda: "Swarm stack demo removed" in told(app), "the result")


async def test_rollback_asks_then_confirm_and_reconcile_only_say(console) -> None:
    app, calls = console()
    async with app.run_test(size=SIZE) as pilot:
        await on_row(pilot, "demo/web")
        await pilot.press("b")
        question = await answer(pilot, app)
        assert "Roll swarm stack demo back?" in question.question
        await until(pilot, lambda: calls, "the rollback")
        assert calls[0][:2] == ("rollback", "demo")
        await pilot.press("c")
        await pilot.press("R")
        await pilot.press("U")
        # The upgrade form reads the record in the services' labels; this one names an
        # entry no catalog holds, so the console says how to upgrade it instead.
        await until(pilot, lambda: "corral upgrade --engine swarm ENTRY|FILE --stack demo"
                    in told(app), "the upgrade")
        assert "nothing to confirm" in told(app)
        assert "Swarm keeps its replicas running" in told(app)
        assert [c[:2] for c in calls] == [("rollback", "demo"), ("deployed", "demo")]
        assert not isinstance(app.screen, ConfirmScreen)


async def test_a_swarm_stack_corral_did_not_make_is_refused(console) -> None:
    app, calls = console()
    async with app.run_test(size=SIZE) as pilot:
        await on_row(pilot, "hand/web")
        for key in ("plus", "minus", "ctrl+d", "b", "c", "U"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen), key
        assert calls == []
        assert told(app).count("was not made by Corral") == 6


async def test_read_only_changes_nothing_on_a_swarm_row(console) -> None:
    app, calls = console(readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await on_row(pilot, "demo/web")
        for key in ("plus", "minus", "ctrl+d", "b"):
            await pilot.press(key)
            await pilot.pause()
        assert calls == [] and not isinstance(app.screen, ConfirmScreen)


def test_the_console_refuses_to_deploy_standalone_on_a_swarm_inventory() -> None:
    from types import SimpleNamespace

    from corral.backends.errors import DeployError

    class Fleet:
        inventory = Inventory(hosts=(), engine="swarm")

    flow = DeployFlow.__new__(DeployFlow)
    flow.fleet = Fleet()  # type: ignore[assignment]
    with pytest.raises(DeployError, match="engine: swarm.*corral deploy"):
        flow.plan(SimpleNamespace(name="web"), None)  # type: ignore[arg-type]
