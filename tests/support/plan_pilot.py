"""Driving the plan screen with Pilot, without hosts: the real planner on made-up hosts.

Shared by `tests/unit/tui/console/test_plan_screen.py` and the plan snapshot. `FakeFlow`
stands in for `DeployFlow`: planning runs the real, pure planner on three
made-up hosts shaped like the lab's (two `role=media`, one `role=edge`);
applying replays canned progress, waiting on a gate the test opens.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot

from corral.backends.deploy.apply import ApplyResult
from corral.backends.deploy.gather import FleetState, Record
from corral.backends.deploy.image_plan import ImageRow
from corral.backends.deploy.prepare import Prepared, Progress, ProgressCallback, prepare
from corral.backends.errors import BackendError, PreflightError
from corral.backends.plan.model import HostInfo
from corral.catalog.answers import Answers, resolve_answers
from corral.catalog.loader import load_catalogs
from corral.catalog.render import render
from corral.catalog.spec import Stack
from corral.tui.console.model.deploy_flow import Planned
from corral.tui.console.screens.plan import PlanScreen
from tests.support.catalog_pilot import PASSWORD
from tests.support.deployed import HoldingFleet
from tests.support.pilot import until

GiB = 1 << 30
HOSTS = (
    HostInfo("lab1", {"zone": "a", "role": "media"}, cpus=2, memory=4 * GiB),
    HostInfo("lab2", {"zone": "b", "role": "media"}, cpus=2, memory=4 * GiB),
    HostInfo("lab3", {"zone": "a", "role": "edge"}, cpus=2, memory=4 * GiB),
)


def demo(name: str = "demo", **answers: str) -> tuple[Stack, Answers]:
    """The built-in webrtc-demo rendered as stack `name` (the password from the tests)."""
    version = load_catalogs([]).find("webrtc-demo").find_version(None)
    resolved = resolve_answers(version.info.questions,
                               form={"KV_PASSWORD": PASSWORD, **answers})
    return render(version, resolved, stack_name=name), resolved


class FakeFlow:
    """`DeployFlow` without hosts.

    Args:
        hosts: The hosts the planner sees.
        records: The stack records the planner sees on them.
        plan_error: Raised by `plan()` instead of planning.
        preflight: What the made-up hosts lack.
        upgrade: Plan as the upgrade of a deployed stack.
        events: What `apply()` reports, in order, before it waits on `gate`.
        result: Builds the apply's result from the plan (default: all ok).
        images: Builds how images reach the hosts (`Prepared.images`) from the plan.
    """

    def __init__(self, hosts: tuple[HostInfo, ...] = HOSTS, *, records: tuple[Record, ...] = (),
                 plan_error: BackendError | None = None, preflight: PreflightError | None = None,
                 upgrade: bool = False,
                 events: Callable[[Planned], list[Progress]] | None = None,
                 result: Callable[[Planned], ApplyResult] | None = None,
                 images: Callable[[Prepared], list] | None = None):
        self.hosts = hosts
        self.records = records
        self.plan_error = plan_error
        self.preflight = preflight
        self.upgrade = upgrade
        self.events = events or progress_of
        self.result = result or (lambda planned: ApplyResult(planned.prepared))
        self.images = images
        self.gate = threading.Event()
        self.applied: list[Planned] = []
        #: The `bundle` of each plan asked for (None when the entry came from no bundle).
        self.bundles: list = []

    def plan(self, stack: Stack, answers: Answers, *, bundle=None) -> Planned:
        if self.plan_error is not None:
            raise self.plan_error
        self.bundles.append(bundle)
        state = FleetState(list(self.hosts), list(self.records))
        prepared = prepare(HoldingFleet(PASSWORD), stack, answers, state=state,  # type: ignore[arg-type]
                           bundle=bundle)
        if self.upgrade:  # as if a generation 1 were deployed: the upgrade awaits a decision
            prepared.definition = dataclasses.replace(prepared.definition, generation=2,
                                                      upgrade_from=1)
        if self.images is not None:
            prepared.images = self.images(prepared)
        return Planned(prepared, upgrade=self.upgrade, preflight=self.preflight)

    def apply(self, planned: Planned, on_progress: ProgressCallback) -> ApplyResult:
        self.applied.append(planned)
        for event in self.events(planned):
            on_progress(event)
        self.gate.wait(10)
        # One more report: raises if the console asked to stop meanwhile.
        on_progress(Progress(planned.hosts[0], "record", "record", "done"))
        return self.result(planned)


def progress_of(planned: Planned) -> list[Progress]:
    """Every changed container created and healthy, the stack network first."""
    events = [Progress(host, f"{planned.prepared.stack.name}_default", "network", "done")
              for host in planned.hosts]
    for step in planned.prepared.plan.changes:
        events.append(Progress(step.host, step.name, step.action, "running"))
        events.append(Progress(step.host, step.name, step.action, "done"))
        events.append(Progress(step.host, step.name, "health", "healthy"))
    return events


class PlanApp(App):
    """Shows the plan screen of the demo stack over a blank screen."""

    TITLE = "Corral"

    def __init__(self, flow: FakeFlow, *, readonly: bool = False, stack: str = "demo"):
        super().__init__()
        self.flow = flow
        self.readonly = readonly
        self.stack_name = stack

    def on_mount(self) -> None:
        stack, answers = demo(self.stack_name)
        self.push_screen(PlanScreen(self.flow, stack, answers,  # type: ignore[arg-type]
                                    source="webrtc-demo 1.0.0", readonly=self.readonly))


def image_rows(prepared: Prepared) -> list[ImageRow]:
    """Made-up image rows: present on the first host, pushed, pulled, unavailable."""
    hosts = sorted({step.host for step in prepared.plan.changes})
    return [ImageRow(hosts[0], "corral/kv:1", "present"),
            ImageRow(hosts[1], "corral/kv:1", "push", hosts[0], bytes=41_900_000),
            ImageRow(hosts[2], "10.0.0.5:5000/corral/media:2", "pull", "10.0.0.5:5000",
                     fallback=hosts[0]),
            ImageRow(hosts[2], "corral/signal:1", "unavailable",
                     why="no online host has it and --pull never forbids pulling it")]


async def planned_screen(pilot: Pilot) -> PlanScreen:
    """The plan screen once planning has ended."""
    await until(pilot, lambda: isinstance(pilot.app.screen, PlanScreen), "the plan screen")
    screen = pilot.app.screen
    assert isinstance(screen, PlanScreen)
    await until(pilot, lambda: screen.phase != "planning", "the plan")
    await pilot.pause()
    return screen
