"""The plan lists load balancers, their image and rules: `corral plan` and the plan screen."""

from __future__ import annotations

import io

from rich.console import Console
from textual.app import App
from textual.widgets import Static

from corral.backends.deploy.gather import FleetState
from corral.backends.deploy.prepare import prepare
from corral.catalog.answers import Answers
from corral.catalog.spec import LoadBalancer, Port, PortRule, Service, Stack
from corral.tui.console.screens.plan import PlanScreen
from corral.tui.present.deploy import plan_json, plan_text
from tests.support.catalog_pilot import PASSWORD
from tests.support.deployed import HoldingFleet
from tests.support.plan_pilot import HOSTS, FakeFlow, planned_screen

STACK = Stack("lbt", "lbt", "1", services=(
    Service("lb", image="rancher/lb-service-haproxy:v0.9.14",
            ports=(Port(80, "tcp", 8080, None, True),),
            load_balancer=LoadBalancer(rules=(
                PortRule(80, 8080, "web", "www.example.com", "/app", "http", 1),
                PortRule(80, 8080, "web")))),
    Service("web", image="corral-lab/web:1"),
))


def test_plan_text_and_json_show_the_lb_with_the_image_it_runs() -> None:
    prepared = prepare(HoldingFleet(PASSWORD), STACK, Answers({}),  # type: ignore[arg-type]
                       state=FleetState(list(HOSTS)))
    text = plan_text(prepared).splitlines()
    start = text.index("Load balancers:")
    assert text[start + 1:start + 4] == [
        "  lb (corral/haproxy:2.6):",
        "    :80 -> web:8080 http host www.example.com path /app priority 1",
        "    :80 -> web:8080 http"]
    assert plan_json(prepared)["load_balancers"] == {"lb": {
        "image": "corral/haproxy:2.6",
        "rules": [":80 -> web:8080 http host www.example.com path /app priority 1",
                  ":80 -> web:8080 http"]}}


class LbPlanApp(App):
    """The plan screen of the LB stack (Textual would run PlanApp's on_mount too)."""

    def __init__(self, flow: FakeFlow):
        super().__init__()
        self.flow = flow

    def on_mount(self) -> None:
        self.push_screen(PlanScreen(self.flow, STACK, Answers({}),  # type: ignore[arg-type]
                                    source="lbt 1"))


async def test_plan_screen_lists_the_load_balancer_rules() -> None:
    app = LbPlanApp(FakeFlow())
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await planned_screen(pilot)
        console = Console(width=200, record=True, file=io.StringIO())
        console.print(screen.query_one("#plan-notes", Static).content)
        text = console.export_text()
        assert "Load balancers" in text
        assert ":80 -> web:8080 http host www.example.com path /app priority 1" in text
