"""The console's health pass indicator and notifications, and upgrade keys on the stacks view."""

from __future__ import annotations

import contextlib
import threading

from textual.app import App, ComposeResult

from corral.backends.deploy.reconcile import ReconcileReport
from corral.backends.engine.facts import ContainerRow
from corral.backends.errors import DeployError, SameEngine
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.stack_ui import ask_and_settle
from corral.tui.console.views.stacks import StacksView, group_stacks
from corral.tui.console.widgets.health_watch import ACTING, BLOCKED, READONLY, HealthWatch
from tests.support.pilot import until


class Passes:
    """Stands in for `DeployFlow` and `ConsoleData`: canned health pass reports, settles."""

    def __init__(self, *reports: ReconcileReport | None | Exception, state: str = "upgraded"):
        self.reports = list(reports)
        #: What `pending_upgrade` says, as `corral stacks` would.
        self.state = state
        self.calls = 0
        #: What each pass was told: whether anything changed since the last.
        self.changed: list[bool] = []
        self.settled: list[tuple[str, bool]] = []
        self.lock = threading.Lock()

    def health_pass(self, changed: bool = True) -> ReconcileReport | None:
        with self.lock:
            self.calls += 1
            self.changed.append(changed)
            item = self.reports.pop(0) if self.reports else ReconcileReport()
        if isinstance(item, Exception):
            raise item
        return item

    def pending_upgrade(self, stack: str) -> tuple[str, list[str]]:
        old = ["lab1/demo-web-1.prev"] if self.state == "upgraded" else []
        return self.state, old

    def settle_upgrade(self, stack: str, keep: bool, on_progress=None) -> dict[str, str]:
        self.settled.append((stack, keep))
        return {}


class WatchApp(App):
    def __init__(self, flow: Passes, readonly: bool = False, interval: float = 0.05):
        super().__init__()
        self.flow = flow
        self.readonly = readonly
        self.interval = interval

    def compose(self) -> ComposeResult:
        yield HealthWatch(self.flow, readonly=self.readonly,  # type: ignore[arg-type]
                          interval=self.interval, id="health")


def report(**actions: list[str]) -> ReconcileReport:
    return ReconcileReport(actions=dict(actions))


def messages(app: App) -> list[str]:
    return [n.message for n in app._notifications]


async def test_passes_run_and_each_thing_done_is_told_once() -> None:
    left_alone = "upgrade awaiting confirm or rollback: left alone"
    flow = Passes(report(demo=["removed unhealthy demo-web-1 on lab1 (refused) to recreate it"]),
                  report(demo=["create demo-web-1 on lab1: replica 1 of 2"], up=[left_alone]),
                  report(up=[left_alone]), None, report(up=[left_alone]))
    app = WatchApp(flow)
    async with app.run_test() as pilot:
        watch = app.query_one(HealthWatch)
        assert str(watch.render()) == ACTING
        await until(pilot, lambda: flow.calls >= 6, "six passes")
        told = messages(app)
        assert told.count(f"up: {left_alone}") == 1
        assert "demo: removed unhealthy demo-web-1 on lab1 (refused) to recreate it" in told
        assert "demo: create demo-web-1 on lab1: replica 1 of 2" in told


async def test_a_failing_pass_is_said_on_the_bar_and_once_as_a_warning() -> None:
    flow = Passes(DeployError("lab2 is gone"), DeployError("lab2 is gone"),
                  ReconcileReport(errors={"demo": "lab2: refused"}))
    app = WatchApp(flow)
    async with app.run_test() as pilot:
        watch = app.query_one(HealthWatch)
        await until(pilot, lambda: "last pass failed" in str(watch.render()), "the failure")
        await until(pilot, lambda: "1 stack(s) failing" in str(watch.render()), "the error")

        def warnings() -> list[str]:
            return [n.message for n in app._notifications if n.severity == "warning"]

        # The toast is posted as a message: it may land just after the bar changed.
        with contextlib.suppress(AssertionError):
            await until(pilot, lambda: len(warnings()) >= 2, "the second warning")
        assert warnings() == ["health pass failed: lab2 is gone", "demo: lab2: refused"]
        await until(pilot, lambda: str(watch.render()) == ACTING, "a clean pass")


async def test_a_stack_leased_elsewhere_is_skipped_and_said_once_not_as_an_error() -> None:
    why = ("stack q3 is held by alice@ops1 (pid 4242) for rm on lab1 since 2026-12-03"
           " 01:52:10 UTC (expires 02:02:10 UTC); `corral lease break q3` if that process is gone")
    busy = ReconcileReport(busy={"q3": why})
    flow = Passes(busy, busy, busy)
    app = WatchApp(flow)
    async with app.run_test() as pilot:
        watch = app.query_one(HealthWatch)
        await until(pilot, lambda: "q3 busy elsewhere" in str(watch.render()), "the skip")
        await until(pilot, lambda: flow.calls >= 3, "three passes")
        told = [n for n in app._notifications if n.message == f"q3: left alone: {why}"]
        assert len(told) == 1 and told[0].severity == "information"
        assert not watch.has_class("-failing")
        await until(pilot, lambda: str(watch.render()) == ACTING, "the lease released")


async def test_one_engine_under_two_names_blocks_acting_and_says_why() -> None:
    problem = SameEngine("lab1b is the same Docker engine as lab1 (engine ID X)",
                         hosts=("lab1", "lab1b"))
    flow = Passes(problem, problem)
    app = WatchApp(flow)
    async with app.run_test() as pilot:
        watch = app.query_one(HealthWatch)
        await until(pilot, lambda: str(watch.render()) == BLOCKED, "the block")
        assert watch.has_class("-blocked")
        assert "lab1b is the same Docker engine as lab1" in str(watch.tooltip)
        await until(pilot, lambda: str(watch.render()) == ACTING, "the inventory fixed")
        assert not watch.has_class("-blocked")
        assert "there is no Corral server" in str(watch.tooltip)


async def test_readonly_never_runs_a_pass_and_says_so() -> None:
    flow = Passes()
    app = WatchApp(flow, readonly=True)
    async with app.run_test() as pilot:
        # A duration, not a synchronisation: no pass may run for a while.
        await pilot.pause(0.3)
        assert flow.calls == 0
        assert str(app.query_one(HealthWatch).render()) == READONLY


def container(name: str, host: str = "lab1", state: str = "running") -> ContainerRow:
    return ContainerRow(host=host, id=name[-12:], name=name, image="corral-lab/web:1",
                        state=state, status="", ports=[], stack="demo", service="web",
                        created=0, labels={})


class StacksApp(App):
    def __init__(self, flow: Passes, readonly: bool = False):
        super().__init__()
        self.flow = flow
        self.readonly = readonly
        self.requests: list[StacksView.SettleUpgrade] = []

    def compose(self) -> ComposeResult:
        view = StacksView(id="stacks")
        view.readonly = self.readonly
        yield view

    def on_mount(self) -> None:
        rows = [container("demo-web-1"), container("demo-web-2", "lab2"),
                container("demo-web-1.prev", state="exited")]
        self.query_one(StacksView).set_records(group_stacks(rows))
        self.query_one(StacksView).focus()

    def on_stacks_view_settle_upgrade(self, message: StacksView.SettleUpgrade) -> None:
        self.requests.append(message)
        ask_and_settle(self, self.flow, message.stack, message.keep)  # type: ignore[arg-type]


async def test_stacks_view_counts_old_copies_apart_and_confirms_after_asking() -> None:
    flow = Passes()
    app = StacksApp(flow)
    async with app.run_test() as pilot:
        view = app.query_one(StacksView)
        assert str(view.get_cell("demo/web", "running")) == "2/2 +1 old"
        assert str(view.get_cell("demo/web", "state")) == ""  # until a health pass says
        view.set_stack_states({"demo": "upgraded"})
        assert str(view.get_cell("demo/web", "state")) == "upgraded"
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert app.screen.question.startswith("Roll back the upgrade of demo?")
        assert app.screen.objects == ["lab1/demo-web-1.prev"]
        await pilot.press("n")
        assert not flow.settled
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await until(pilot, lambda: flow.settled == [("demo", True)], "the confirm")
        await until(pilot, lambda: any("confirmed" in m for m in messages(app)), "the notice")


async def test_readonly_stacks_view_offers_no_upgrade_keys() -> None:
    app = StacksApp(Passes(), readonly=True)
    async with app.run_test() as pilot:
        view = app.query_one(StacksView)
        assert view.check_action("settle_upgrade", (True,)) is False
        await pilot.press("c", "b")
        assert not app.requests


async def test_confirm_or_rollback_with_nothing_pending_says_so_without_asking() -> None:
    flow = Passes(state="active")
    app = StacksApp(flow)
    async with app.run_test() as pilot:
        for count, key in enumerate(("c", "b"), 1):
            await pilot.press(key)
            await until(pilot, lambda n=count: len(messages(app)) == n, "the notice")
            assert not isinstance(app.screen, ConfirmScreen)
        assert messages(app) == ["Stack demo has nothing pending: no upgrade awaits confirm or"
                                 " rollback (state: active)."] * 2
        assert not flow.settled


async def test_a_pass_with_nothing_to_watch_waits_for_a_change() -> None:
    # An idle console re-read every host every 5 s to learn nothing the
    # engines' event streams had not already said.
    flow = Passes(ReconcileReport(), ReconcileReport(), report(demo=["recreated"]),
                  ReconcileReport())
    app = WatchApp(flow, interval=3600)  # the test ticks
    async with app.run_test() as pilot:
        watch = app.query_one(HealthWatch)

        async def tick() -> None:
            watch.start_pass()
            await until(pilot, lambda: not watch.running, "the pass to end")

        await tick()
        assert flow.calls == 1 and watch.quiet
        for _ in range(3):  # nothing changed: no pass
            await tick()
        assert flow.calls == 1
        watch.note_change()  # a container or host changed
        await tick()
        assert flow.calls == 2
        watch.note_change()
        await tick()  # this one acts: the next tick runs again without a change
        assert flow.calls == 3 and not watch.quiet
        await tick()
        assert flow.calls == 4 and watch.quiet
        watch.quiet_interval = 0  # the safety net: a quiet pass is repeated after a while
        await tick()
        assert flow.calls == 5
        # Only the safety net's pass is told that nothing changed.
        assert flow.changed == [True, True, True, True, False]
