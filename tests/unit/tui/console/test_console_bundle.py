"""A bundle opened in the console (`corral --bundle FILE`): its entry is in the catalog,
its plan pushes the images from the bundle (issue 13: "the console can open a bundle as
a catalog source")."""

from __future__ import annotations

from pathlib import Path

from corral.backends.inventory import Inventory
from corral.backends.ssh import SshSettings
from corral.tui.app import CorralApp
from corral.tui.catalog_sources import open_bundle_catalog
from corral.tui.config import Config
from corral.tui.console.screens.catalog import CatalogEntryScreen
from corral.tui.console.screens.catalog_form import STACK_FIELD
from corral.tui.console.screens.plan import PlanScreen
from corral.tui.console.widgets.question_field import QuestionField
from tests.support.catalog_pilot import entries_loaded, form_shown
from tests.support.deploy import corral_here
from tests.support.pilot import until
from tests.support.plan_pilot import FakeFlow
from tests.unit.tui.cli.test_deploy_bundle_cli import bundle


async def test_the_bundles_entry_is_listed_and_planned_with_the_bundle(tmp_path: Path) -> None:
    path = bundle(tmp_path)
    with open_bundle_catalog(path) as opened:
        app = CorralApp(Inventory(hosts=(), path=tmp_path / "inventory.yaml"), SshSettings(),
                        Config(), bundles=[opened])
        async with app.run_test(size=(140, 45)) as pilot:
            flow = app.flow = FakeFlow()  # type: ignore[assignment]  # plans without hosts
            await pilot.press("colon", *"catalog", "enter")
            view = await entries_loaded(pilot)
            assert "one.bundle:one" in view.rows
            view.move_cursor(row=view.get_row_index("one.bundle:one"))
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, CatalogEntryScreen), "the entry")
            await pilot.press("c")
            form = await form_shown(pilot)
            form.query_one(f"#{STACK_FIELD}", QuestionField).control.value = "sneaker"
            await pilot.press("ctrl+g")
            await until(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan")
            await until(pilot, lambda: app.screen.phase != "planning", "planning")
            assert app.screen.bundle is opened.source
            assert flow.bundles == [opened.source]
            planned = app.screen.planned
            assert planned is not None and planned.prepared.bundle is opened.source


def test_a_bad_bundle_stops_the_console_before_it_starts(tmp_path: Path) -> None:
    path = bundle(tmp_path)
    path.write_bytes(path.read_bytes()[:3000])
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("hosts: []\n")
    result = corral_here("--bundle", str(path), "--inventory", str(inventory))
    assert result.returncode == 1 and not result.stdout
    assert result.stderr.startswith(f"corral: {path}: ") and "truncated" in result.stderr
    assert result.stderr.count("\n") == 1


def test_bundle_before_a_command_is_refused(tmp_path: Path) -> None:
    result = corral_here("--bundle", "x.bundle", "stacks")
    assert result.returncode == 2
    assert "give it after the command" in result.stderr
