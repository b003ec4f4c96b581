"""The plan screen of an upgrade names, per replaced container, what changes (before → after)."""

from __future__ import annotations

from textual.app import App

from corral.tui.console.screens.plan import PlanScreen
from tests.support.catalog_pilot import PASSWORD, screen_text
from tests.support.deployed import deployed
from tests.support.plan_pilot import HOSTS, FakeFlow, demo, planned_screen


class UpgradeApp(App):
    """The demo deployed with the default answers, planned again with LOG_LEVEL=debug."""

    def __init__(self, flow: FakeFlow):
        super().__init__()
        self.flow = flow

    def on_mount(self) -> None:
        stack, answers = demo(LOG_LEVEL="debug")
        self.push_screen(PlanScreen(self.flow, stack, answers,  # type: ignore[arg-type]
                                    source="webrtc-demo 1.0.0"))


async def test_replaced_containers_show_each_changed_field_before_and_after() -> None:
    state = deployed(*demo(), HOSTS)
    app = UpgradeApp(FakeFlow(tuple(state.hosts), records=tuple(state.records), upgrade=True))
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await planned_screen(pilot)
        replaced = [s for s in screen.planned.prepared.plan.steps if s.action == "replace"]
        assert replaced and {s.service for s in replaced} == {"signal"}
        for step in replaced:
            cells = [str(c) for c in screen.table.get_row(f"{step.host}/{step.name}")]
            assert cells[5] == "changes env LOG_LEVEL"  # not "configuration changed"
        text = screen_text(app)
        assert "What changes (before → after)" in text
        assert f"{replaced[0].name} on {replaced[0].host}:" in text
        assert "env LOG_LEVEL: info → debug" in text
        assert PASSWORD not in text
