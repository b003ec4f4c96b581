"""Deploying from the console against the three-host lab: form, plan, apply, stacks view.

The stack is the built-in webrtc-demo under its own name and public port
(`tests.support.console`), so it never meets the stacks of `test_deploy.py`; it
is removed at the end.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from corral.backends import labels as L
from corral.catalog.loader import load_catalogs
from corral.tui.console.screens.catalog_form import STACK_FIELD, CatalogFormScreen
from corral.tui.console.screens.console import ConsoleScreen
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.screens.plan import PlanScreen
from corral.tui.console.widgets.health_watch import ACTING, HealthWatch
from corral.tui.console.widgets.question_field import QuestionField
from tests.support.catalog_pilot import form_shown, screen_text
from tests.support.catalog_tree import write_tree
from tests.support.console import (
    SECRET,
    SIZE,
    STACK,
    command,
    console,
    fill_demo_form,
    online,
    open_demo_form,
    until,
    view,
)
from tests.support.deploy import corral_on
from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.support.pilot import kept_notifications

pytestmark = pytest.mark.lab


def stack_containers(lab: Lab, stack: str) -> dict[str, list]:
    """Per host, the engine's own view of the stack's containers.

    docker-py inspects each listed container; one removed in between (a scale
    down in progress) is left out instead of failing the poll with a 404.
    """
    return {host.name: engine(host.socket).containers.list(
        all=True, filters={"label": f"{L.STACK}={stack}"}, ignore_removed=True)
        for host in lab.hosts}


def records(lab: Lab, stack: str) -> list[str]:
    return [v.name for host in lab.hosts
            for v in engine(host.socket).volumes.list(filters={"label": f"{L.RECORD}={stack}"})]


def assert_secret_hidden(app) -> None:
    assert SECRET not in screen_text(app)


@pytest.fixture(scope="module")
def removed_after(lab: Lab):
    """Removes the console's stacks (and volumes) at the end, whatever the tests did."""
    names: list[str] = []
    yield names
    for name in names:
        if any(stack_containers(lab, name).values()) or records(lab, name):
            result = corral_on(lab, "rm", name, "--yes", "--volumes")
            assert SECRET not in result.stdout + result.stderr


async def test_console_deploys_the_demo_from_the_catalog_form(lab: Lab, removed_after) -> None:
    removed_after.append(STACK)
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        await open_demo_form(pilot)
        await fill_demo_form(pilot)
        await pilot.press("ctrl+g")

        await until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan screen")
        screen = app.screen
        await until(pilot, lambda: screen.phase != "planning", "the plan", timeout=30)
        assert screen.phase == "planned", screen.status
        plan = screen.planned.prepared.plan
        where = {}
        for step in plan.steps:
            assert step.action == "create"
            where.setdefault(step.service, []).append(step.host)
        media_hosts = {h.name for h in lab.hosts if h.labels.get("role") == "media"}
        assert set(where["media"]) <= media_hosts and where["media-recorder"] == where["media"]
        assert sorted(where["log-shipper"]) == sorted(h.name for h in lab.hosts)
        assert len(set(where["signal"])) == 2 and len(where["kv"]) == 1
        for step in plan.steps:  # the table shows each replica's host and reason
            cells = [str(c) for c in screen.table.get_row(f"{step.host}/{step.name}")]
            assert cells[:6] == [step.service, f"#{step.index}", "create", step.host,
                                 step.name, step.reason]
        assert_secret_hidden(app)
        assert not any(stack_containers(lab, STACK).values())  # planning changed nothing

        await pilot.press("a")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == f"Apply stack {STACK} on lab1, lab2, lab3?"
        await pilot.press("y")

        seen: set[str] = set()

        def progress_or_done() -> bool:
            if screen.phase == "applying":
                seen.update(str(screen.table.get_row(key)[6]) for key in screen.table.step_keys)
            return screen.phase in ("done", "failed")

        await until(pilot, progress_or_done, "the apply", timeout=120)
        assert screen.phase == "done", screen.status
        assert any(text.endswith("…") or text.endswith("✓") for text in seen if text), seen
        await until(pilot, lambda: f"Stack {STACK} deployed, generation 1." in [
            n.message for n in kept_notifications(app)], "the notification")

        # The console's stacks view, filtered to the new stack.
        assert isinstance(app.screen, ConsoleScreen)
        assert app.screen.query_one("#views").current == "stacks"
        stacks = view(app, "stacks")
        wanted = {f"{STACK}/{service}" for service in where}
        await until(pilot, lambda: wanted <= set(stacks.records) and stacks.row_count == len(
            wanted), "the stack's services on the stacks view")
        assert_secret_hidden(app)

        # The engines hold what the plan said, running.
        on_engines = {(host, c.name) for host, cs in stack_containers(lab, STACK).items()
                      for c in cs}
        assert on_engines == {(s.host, s.name) for s in plan.steps}
        for containers in stack_containers(lab, STACK).values():
            assert all(c.status == "running" for c in containers)

        # Health is acted on while the console runs: a pass probes the new containers.
        watch = app.screen.query_one(HealthWatch)
        assert str(watch.render()) == ACTING
        signals = {f"{s.host}/{s.name}" for s in plan.steps if s.service == "signal"}
        await until(pilot, lambda: signals <= set(app.flow.tracker.containers), "a health pass",
                    timeout=30)
        # What the checks found shows in the containers view (the engine runs none).
        await command(pilot, "ps")
        containers = view(app, "containers")

        def health_cells() -> set[str]:
            return {str(containers.get_cell(key, "health"))
                    for key, record in containers.records.items()
                    if f"{record.host}/{record.name}" in signals}

        await until(pilot, lambda: health_cells() == {"healthy"}, "healthy signal rows",
                    timeout=30)
        await command(pilot, "stacks")
        assert str(stacks.get_cell(f"{STACK}/signal", "health")) == f"{len(signals)} healthy"


async def test_console_upgrade_keeps_old_containers_until_confirmed(lab: Lab,
                                                                    removed_after) -> None:
    before = {c.name: c.id for cs in stack_containers(lab, STACK).values() for c in cs}
    assert before, "the deploy test leaves the stack for this one"
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        await open_demo_form(pilot)
        await fill_demo_form(pilot, MEDIA_RATE="7")
        await pilot.press("ctrl+g")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan screen")
        screen = app.screen
        await until(pilot, lambda: screen.phase != "planning", "the plan", timeout=30)
        assert screen.phase == "planned" and screen.planned.upgrade, screen.status
        replaced = {s.name for s in screen.planned.prepared.plan.changes}
        assert {s.action for s in screen.planned.prepared.plan.changes} == {"replace"}
        assert {name.rsplit("-", 1)[0] for name in replaced} == {f"{STACK}-media"}
        assert "upgrade of a deployed stack" in screen_text(app)

        await pilot.press("a")
        assert app.screen.question.startswith(f"Upgrade stack {STACK} on ")
        await pilot.press("y")
        await until(pilot, lambda: any("confirm (c) or roll back (b)" in n.message
                                       for n in kept_notifications(app)),
                    "the upgrade", timeout=120)
        old = {f"{name}{L.PREVIOUS_SUFFIX}" for name in replaced}
        on_engines = {c.name for cs in stack_containers(lab, STACK).values() for c in cs}
        assert old <= on_engines  # kept (stopped) for a rollback

        assert isinstance(app.screen, ConsoleScreen)
        stacks = view(app, "stacks")
        key = f"{STACK}/media"
        await until(pilot, lambda: key in stacks.records and str(
            stacks.get_cell(key, "running")).endswith(f"+{len(old)} old"), "the old copies")
        stacks.move_cursor(row=stacks.get_row_index(key))
        await pilot.press("c")  # the hosts say whether an upgrade is pending
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert sorted(o.split("/", 1)[1] for o in app.screen.objects) == sorted(old)
        await pilot.press("y")
        await until(pilot, lambda: not old & {c.name for cs in stack_containers(
            lab, STACK).values() for c in cs}, "the old copies removed", timeout=60)
        after = {c.name: c.id for cs in stack_containers(lab, STACK).values() for c in cs}
        assert set(after) == set(before)
        assert {n for n in after if after[n] != before[n]} == replaced

        # Reconcile on request: asks first, and a stack that matches its record stays as is.
        await pilot.press("R")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == f"Reconcile {STACK} now? Corral will:"
        await pilot.press("y")
        await until(pilot, lambda: any(n.title == f"Reconciled {STACK}"
                                       for n in kept_notifications(app)),
                    "the reconcile", timeout=60)
        assert {c.name: c.id for cs in stack_containers(lab, STACK).values() for c in cs} == after
        assert_secret_hidden(app)


async def test_console_scales_then_removes_the_stack(lab: Lab, removed_after) -> None:
    def signals() -> list[str]:
        return sorted(c.name for cs in stack_containers(lab, STACK).values() for c in cs
                      if c.labels[L.SERVICE] == "signal")

    assert signals() == [f"{STACK}-signal-1", f"{STACK}-signal-2"], "left by the tests above"
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        await command(pilot, "stacks")
        stacks = view(app, "stacks")
        key = f"{STACK}/signal"
        await until(pilot, lambda: key in stacks.records, "the stack")
        stacks.move_cursor(row=stacks.get_row_index(key))
        await pilot.press("minus")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question.startswith(f"Scale {STACK}/signal from 2 to 1?")
        await pilot.press("y")
        await until(pilot, lambda: signals() == [f"{STACK}-signal-1"], "one signal replica",
                    timeout=60)

        await pilot.press("ctrl+d")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question.startswith(f"Remove stack {STACK}?")
        assert any(name.endswith(f"/{STACK}-kv-1") for name in app.screen.objects)
        volumes = {v.name for h in lab.hosts for v in engine(h.socket).volumes.list()
                   if v.name.startswith(f"{STACK}_")}
        assert volumes, "the demo declares named volumes"
        await pilot.press("y")
        await until(pilot, lambda: any(n.title == "Remove" for n in kept_notifications(app)),
                    "the stack removed", timeout=60)
        assert not any(stack_containers(lab, STACK).values())
        assert not records(lab, STACK)
        assert volumes <= {v.name for h in lab.hosts for v in engine(h.socket).volumes.list()}
        assert_secret_hidden(app)


GHOST = "sha256:" + "0" * 64


def broken_catalog(root: Path) -> dict[str, str]:
    """Two entries that cannot deploy: one nowhere to place, one with a missing image."""
    files = {}
    for name, service in (
        ("nowhere", "    image: corral-lab/busybox:1\n    command: [sleep, '3600']\n"
                    "    labels:\n      io.rancher.scheduler.affinity:host_label: role=gpu\n"),
        # An image ID no host holds: no registry serves an ID, so nothing can bring it.
        ("ghost", f"    image: {GHOST}\n"),
    ):
        files[f"templates/{name}/config.yml"] = f"name: {name}\nversion: '1'\n"
        files[f"templates/{name}/0/docker-compose.yml"] = (
            f"version: '2'\nservices:\n  app:\n{service}")
        files[f"templates/{name}/0/rancher-compose.yml"] = (
            f"version: '2'\ncatalog:\n  name: {name}\n  version: '1'\n  questions:\n"
            "    - variable: NOTE\n      type: string\n      default: x\n")
    write_tree(root, files)
    return files


@pytest.mark.parametrize(("entry", "expected"), [
    ("nowhere", ["Cannot place", "lab1", "lab2", "lab3", "role=gpu"]),
    ("ghost", ["Preflight failed", f"image {GHOST}", "unavailable"]),
])
async def test_console_plan_errors_are_shown_and_change_nothing(
        lab: Lab, tmp_path: Path, removed_after, entry: str, expected: list[str]) -> None:
    broken_catalog(tmp_path / "catalog")
    stack = f"c{entry}"
    removed_after.append(stack)
    catalog_entry = load_catalogs([str(tmp_path / "catalog")]).find(entry)
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        await app.push_screen(CatalogFormScreen(catalog_entry, catalog_entry.find_version(None)))
        form = await form_shown(pilot)
        form.query_one(f"#{STACK_FIELD}", QuestionField).control.value = stack
        await pilot.press("ctrl+g")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan screen")
        screen = app.screen
        await until(pilot, lambda: screen.phase != "planning", "the plan", timeout=30)
        text = screen_text(app)
        for words in expected:
            assert words in text
        assert screen.check_action("apply", ()) is False
        await pilot.press("a")
        assert app.screen is screen
        await pilot.press("escape")
        assert isinstance(app.screen, CatalogFormScreen)
    assert not any(stack_containers(lab, stack).values()) and not records(lab, stack)
    with contextlib.suppress(ValueError):
        removed_after.remove(stack)
