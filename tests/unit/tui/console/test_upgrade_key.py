"""`U` on the stacks view: the upgrade form filled from the record, or why not."""

from __future__ import annotations

import dataclasses

from textual.app import App, ComposeResult

from corral.backends.engine.facts import ContainerRow
from corral.tui.console.screens.catalog_form import CatalogFormScreen
from corral.tui.console.stack_ui import open_upgrade
from corral.tui.console.views.stacks import StacksView, group_stacks
from tests.support.catalog_pilot import form_shown
from tests.support.deployed import deployed
from tests.support.pilot import until
from tests.support.plan_pilot import HOSTS, demo


class Records:
    """Stands in for `DeployFlow.deployed`."""

    def __init__(self, definition):
        self.definition = definition

    def deployed(self, stack: str):
        return self.definition


class UpgradeApp(App):
    def __init__(self, flow: Records, readonly: bool = False):
        super().__init__()
        self.flow = flow
        self.readonly = readonly

    def compose(self) -> ComposeResult:
        view = StacksView(id="stacks")
        view.readonly = self.readonly
        yield view

    def on_mount(self) -> None:
        row = ContainerRow(host="lab1", id="abc", name="demo-signal-1", image="corral-lab/web:1",
                           state="running", status="", ports=[], stack="demo",
                           service="signal", created=0, labels={})
        self.query_one(StacksView).set_records(group_stacks([row]))
        self.query_one(StacksView).focus()

    def on_stacks_view_upgrade(self, message: StacksView.Upgrade) -> None:
        open_upgrade(self, self.flow, message.stack, [])  # type: ignore[arg-type]


def record(**answers: str):
    return deployed(*demo(**answers), HOSTS).definition("demo")


def messages(app: App) -> list[str]:
    return [n.message for n in app._notifications]


async def test_upgrade_opens_the_form_with_the_deployed_answers() -> None:
    app = UpgradeApp(Records(record(ROOM_NAME="room7")))
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.press("U")
        form = await form_shown(pilot)
        assert isinstance(app.screen, CatalogFormScreen) and form.upgrade is not None
        assert form.fields["ROOM_NAME"].value == "room7"
        assert form.fields["KV_PASSWORD"].value == "" and not form.fields["KV_PASSWORD"].problem
        assert form.stack_name == "demo"


async def test_upgrade_says_why_it_cannot_open_the_form() -> None:
    elsewhere = record()
    elsewhere = dataclasses.replace(elsewhere, stack=dataclasses.replace(
        elsewhere.stack, entry="my-folder", version="7"))
    pending = dataclasses.replace(record(), upgrade_from=1, generation=2)
    for definition, why in ((elsewhere, "which no catalog folder holds"),
                            (pending, "press c or b first")):
        app = UpgradeApp(Records(definition))
        async with app.run_test() as pilot:
            await pilot.press("U")
            await until(pilot, lambda a=app: bool(messages(a)), "the notice")
            assert why in messages(app)[0]
            assert not isinstance(app.screen, CatalogFormScreen)


async def test_readonly_offers_no_upgrade() -> None:
    app = UpgradeApp(Records(record()), readonly=True)
    async with app.run_test() as pilot:
        assert app.query_one(StacksView).check_action("upgrade", ()) is False
        await pilot.press("U")
        await pilot.pause()
        assert not isinstance(app.screen, CatalogFormScreen)
