"""The plan screen with the real planner on made-up hosts (Pilot, no lab needed)."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console
from textual.widgets import Static

from corral.backends.deploy.apply import ApplyResult
from corral.backends.deploy.gather import Record
from corral.backends.deploy.record import definition_of
from corral.backends.errors import DeployError, PreflightError
from corral.backends.inventory.load import Inventory
from corral.backends.plan.model import HostInfo
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.screens.catalog_form import CatalogFormScreen
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.screens.plan import PlanScreen
from tests.support.catalog_pilot import PASSWORD, form_shown, screen_text
from tests.support.pilot import until
from tests.support.plan_pilot import FakeFlow, PlanApp, demo, image_rows, planned_screen

SIZE = (140, 40)


def status(screen: PlanScreen) -> str:
    """The status under the plan, as plain text."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(screen.status)
    return console.export_text()


def row(screen: PlanScreen, key: str) -> list[str]:
    return [str(cell) for cell in screen.table.get_row(key)]


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


async def applying(pilot) -> PlanScreen:
    """The plan screen once `a`, `y` started the apply."""
    screen = await planned_screen(pilot)
    await pilot.press("a", "y")
    await until(pilot, lambda: screen.phase == "applying" and pilot.app.flow.applied,
                "the apply")
    return screen


async def test_plan_table_places_every_replica_with_its_reason() -> None:
    app = PlanApp(FakeFlow())
    async with app.run_test(size=SIZE) as pilot:
        screen = await planned_screen(pilot)
        assert screen.phase == "planned"
        table = screen.table
        assert table.row_count == 10
        media = [row(screen, key) for key in table.step_keys if "-media-" in key]
        assert {r[3] for r in media} == {"lab1", "lab2"}  # host_label role=media
        assert row(screen, "lab1/demo-kv-1")[:6] == [
            "kv", "#1", "create", "lab1", "demo-kv-1", "spread: 0 kv there, 0 containers per CPU"]
        text = screen_text(app)
        assert "Stack demo: webrtc-demo 1.0.0, generation 1 — new stack" in text
        assert "Changes: 10 create and the stack record." in text
        assert "host_label role=media: role is edge" in text  # a host not chosen, and why
        assert "warning: signal links to kv" in text
        assert "Press a to apply to lab1, lab2, lab3." in text
        assert PASSWORD not in text


async def test_unplaceable_stack_names_each_host_and_changes_nothing() -> None:
    edge_only = tuple(HostInfo(f"edge{i}", {"role": "edge"}, cpus=2) for i in (1, 2))
    flow = FakeFlow(edge_only)
    app = PlanApp(flow)
    async with app.run_test(size=SIZE) as pilot:
        screen = await planned_screen(pilot)
        assert screen.phase == "error" and not screen.table.display
        text = status(screen)
        assert text.startswith("Cannot place")
        assert "edge1" in text and "edge2" in text and "role=media" in text
        assert "Nothing was changed." in text
        assert screen.check_action("apply", ()) is False
        await pilot.press("a")
        assert not isinstance(app.screen, ConfirmScreen) and not flow.applied
        await pilot.press("escape")
        assert not isinstance(app.screen, PlanScreen)


UPGRADE_HINT = "Confirm or roll back that upgrade on the stacks view (c / b) first."


async def test_a_pending_upgrade_blocks_the_plan_and_says_how_to_settle_it() -> None:
    stack, answers = demo()
    upgraded = definition_of(stack, answers, 2, 1.0)  # with other answers than the plan's
    pending = dataclasses.replace(upgraded, answers={**upgraded.answers, "LOG_LEVEL": "debug"},
                                  upgrade_from=1)
    flow = FakeFlow(records=(Record("lab1", "demo-record-2", "demo", 2, pending),))
    app = PlanApp(flow)
    async with app.run_test(size=SIZE) as pilot:
        screen = await planned_screen(pilot)
        assert screen.phase == "error" and not screen.table.display
        text = status(screen)
        assert text.startswith("Deploy failed: stack demo has an upgrade awaiting")
        assert "Nothing was changed." in text and UPGRADE_HINT in text
        assert screen.check_action("apply", ()) is False


async def test_other_deploy_errors_get_no_upgrade_hint_whatever_their_words() -> None:
    flow = FakeFlow(plan_error=DeployError("stack demo has no upgrade awaiting confirm"))
    app = PlanApp(flow)
    async with app.run_test(size=SIZE) as pilot:
        screen = await planned_screen(pilot)
        text = status(screen)
        assert screen.phase == "error" and "no upgrade awaiting confirm" in text
        assert "Nothing was changed." in text and UPGRADE_HINT not in text


async def test_preflight_problems_are_shown_per_host_and_block_the_apply() -> None:
    missing = PreflightError("stack demo cannot be deployed; nothing was changed",
                             {"lab3": ["image corral-lab/web:1 unavailable: no online host has"
                                       " it and --pull never forbids pulling it"]})
    flow = FakeFlow(preflight=missing)
    app = PlanApp(flow)
    async with app.run_test(size=SIZE) as pilot:
        screen = await planned_screen(pilot)
        assert screen.table.row_count == 10  # the plan is still shown
        text = status(screen)
        assert text.startswith("Preflight failed")
        assert "lab3" in text and "image corral-lab/web:1 unavailable" in text
        await pilot.press("a")
        assert not isinstance(app.screen, ConfirmScreen) and not flow.applied


async def test_apply_asks_naming_stack_and_hosts_then_shows_progress_and_succeeds() -> None:
    flow = FakeFlow()
    app = PlanApp(flow)
    async with app.run_test(size=SIZE) as pilot:
        screen = await planned_screen(pilot)
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == "Apply stack demo on lab1, lab2, lab3?"
        assert "create demo-kv-1 on lab1" in app.screen.objects
        await pilot.press("n")
        assert app.screen is screen and screen.phase == "planned" and not flow.applied
        await pilot.press("a", "y")
        await until(pilot, lambda: row(screen, "lab3/demo-signal-1")[6] == "healthy ✓",
                    "the progress of signal #1")
        assert screen.table.border_subtitle.startswith("10/10 changed containers done")
        assert screen.check_action("apply", ()) is False
        flow.gate.set()
        await until(pilot, lambda: "Stack demo deployed, generation 1." in notes(app),
                    "the result")
        assert app.screen is not screen


async def test_failed_apply_shows_each_problem_and_plans_again_on_r() -> None:
    def failed(planned):
        return ApplyResult(planned.prepared, unhealthy={"demo-kv-1": "connection refused"},
                           errors={"lab2": "engine refused"})

    flow = FakeFlow(result=failed)
    flow.gate.set()
    app = PlanApp(flow)
    async with app.run_test(size=SIZE) as pilot:
        screen = await planned_screen(pilot)
        await pilot.press("a", "y")
        await until(pilot, lambda: screen.phase == "failed", "the failure")
        text = status(screen)
        assert "lab2: engine refused (plan and apply again to converge)" in text
        assert "demo-kv-1 is unhealthy: connection refused" in text
        assert app.screen is screen
        await pilot.press("r")
        await until(pilot, lambda: screen.phase == "planned", "a new plan")


async def test_ctrl_c_stops_the_apply_after_the_steps_in_progress() -> None:
    app = PlanApp(FakeFlow())
    async with app.run_test(size=SIZE) as pilot:
        screen = await applying(pilot)
        await pilot.press("ctrl+c")
        assert "Stopping after the steps in progress" in status(screen)
        app.flow.gate.set()
        await until(pilot, lambda: screen.phase == "failed", "the stop")
        assert "stopped from the console" in status(screen)
        await pilot.press("escape")
        assert app.screen is not screen


async def test_escape_while_applying_leaves_and_the_result_comes_as_a_notification() -> None:
    app = PlanApp(FakeFlow())
    async with app.run_test(size=SIZE) as pilot:
        screen = await applying(pilot)
        await pilot.press("escape")
        assert app.screen is not screen and screen.phase == "applying"
        assert any("still being applied" in n for n in notes(app))
        app.flow.gate.set()
        await until(pilot, lambda: "Stack demo deployed, generation 1." in notes(app),
                    "the notification")


async def test_upgrade_says_old_containers_are_kept_until_confirm_or_rollback() -> None:
    flow = FakeFlow(upgrade=True)
    flow.gate.set()
    app = PlanApp(flow)
    async with app.run_test(size=SIZE) as pilot:
        await planned_screen(pilot)
        text = screen_text(app)
        assert "upgrade of a deployed stack" in text and "kept stopped" in text
        await pilot.press("a")
        assert app.screen.question.startswith("Upgrade stack demo on")
        await pilot.press("y")
        await until(pilot, lambda: any("confirm (c) or roll back (b)" in n for n in notes(app)),
                    "the upgrade")


async def test_readonly_plans_but_offers_no_apply() -> None:
    flow = FakeFlow()
    app = PlanApp(flow, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await planned_screen(pilot)
        assert "Read-only" in status(screen)
        await pilot.press("a")
        assert not isinstance(app.screen, ConfirmScreen) and not flow.applied


async def test_console_form_plan_opens_the_plan_screen() -> None:
    """The wiring: the form's Plan, in the console, plans against the (empty) inventory."""
    from corral.catalog.loader import load_catalogs

    app = CorralApp(Inventory(hosts=()), SshSettings(), Config())
    async with app.run_test(size=(120, 50)) as pilot:
        entry = load_catalogs([]).find("webrtc-demo")
        await app.push_screen(CatalogFormScreen(entry, entry.find_version(None)))
        form = await form_shown(pilot)
        form.fields["KV_PASSWORD"].control.value = PASSWORD
        await pilot.press("ctrl+g")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan screen")
        screen = app.screen
        await until(pilot, lambda: screen.phase == "error", "the plan")
        assert "no host" in status(screen).lower() and PASSWORD not in screen_text(app)


def notes_lines(screen: PlanScreen) -> list[str]:
    """The notes under the plan table as shown, spaces collapsed."""
    console = Console(width=140, record=True, file=io.StringIO())
    console.print(screen.query_one("#plan-notes", Static).content)
    return [" ".join(line.split()) for line in console.export_text().splitlines()]


async def test_plan_lists_how_each_image_reaches_each_host() -> None:
    app = PlanApp(FakeFlow(images=image_rows))
    async with app.run_test(size=(140, 60)) as pilot:
        screen = await planned_screen(pilot)
        lines = notes_lines(screen)
        assert "Images" in lines
        assert "lab1 corral/kv:1 present" in lines
        assert "lab2 corral/kv:1 push from lab1 (41.9 MB)" in lines
        assert ("lab3 10.0.0.5:5000/corral/media:2 pull from 10.0.0.5:5000, else push from"
                " lab1") in lines
        assert any(line.startswith("lab3 corral/signal:1 unavailable: no online host has it")
                   for line in lines)


async def test_plan_says_in_one_line_when_every_image_is_present() -> None:
    def present(prepared):
        return [dataclasses.replace(row, action="present", source="", bytes=None, why="")
                for row in image_rows(prepared)]

    app = PlanApp(FakeFlow(images=present))
    async with app.run_test(size=(140, 60)) as pilot:
        screen = await planned_screen(pilot)
        assert "Images: 3 present on lab1, lab2, lab3" in notes_lines(screen)


def test_dropped_rancher_features_are_listed_in_the_plan() -> None:
    from corral.tui.console.screens.plan import plan_notes
    from corral.tui.present.deploy import plan_json, plan_text

    stack, answers = demo()
    item = "service kv: label io.rancher.container.agent.role (a Rancher agent)"
    stack = dataclasses.replace(stack, dropped=(item,))
    planned = FakeFlow().plan(stack, answers)
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(plan_notes(planned))
    assert "dropped (only a Rancher server provides it): service kv: label" \
        " io.rancher.container.agent.role" in console.export_text()
    text = plan_text(planned.prepared)
    assert "Dropped (only a Rancher server provides them):\n  service kv: label" in text
    assert plan_json(planned.prepared)["dropped"] == list(stack.dropped)
