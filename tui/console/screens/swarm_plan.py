"""The plan of a swarm stack's upgrade from the catalog form, then its apply.

The Swarm engine's counterpart of `plan.py`: planning reads the manager and
the nodes on a worker thread (`corral.backends.deploy.plan_swarm`), then the
screen shows what Swarm will be asked per service (with the diff, passwords
never shown) and how each node that may run a task gets its image. `a`
asks, naming the services, then applies on an app-level worker thread
(`apply_swarm`: the images to the nodes first, then Swarm's rolling update,
`stack.upgrade` in the gate); progress shows in the status line, escape
leaves it running, and a notification says how it ended (a failed update
that Swarm rolled back, an image that could not reach a node, a refusal).
"""

from __future__ import annotations

import contextlib
from functools import partial

from textual import work
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Header, Static

from corral.backends.errors import BackendError
from corral.backends.images import BundleSource
from corral.backends.ssh import Fleet
from corral.backends.swarm import SwarmPlan
from corral.catalog.answers import Answers
from corral.catalog.spec import Stack
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.screens.plan import PlanScreen, go_to_stacks
from corral.tui.console.screens.plan_phases import PhasedPlanScreen
from corral.tui.console.widgets.keys_footer import KeysFooter
from corral.tui.present.safe import visible_lines

#: Seconds the apply waits for the services' tasks (the command line's default).
TIMEOUT = 120.0


class SwarmPlanScreen(PhasedPlanScreen):
    """Plan a swarm stack's upgrade, show it, apply it through the swarm on request.

    Args:
        fleet: The connected fleet (blocking calls from threads).
        stack: The rendered stack.
        answers: Its answers (passwords included: they never reach the screen).
        source: Entry and version, for the subtitle.
        readonly: Plan only; applying is not offered.
        bundle: The bundle the entry came from: its images are pushed from it.
    """

    DEFAULT_CSS = """
    SwarmPlanScreen #swarm-plan-box { height: 1fr; border: round $primary; padding: 0 1; }
    SwarmPlanScreen #swarm-plan-status { height: auto; padding: 0 1; }
    SwarmPlanScreen #swarm-plan-status.-error { color: $error; border: round $error; }
    SwarmPlanScreen #swarm-plan-status.-ok { color: $success; }
    """
    #: The standalone plan's keys (same ids, so a keymap remaps both) but Stop: a
    #: Swarm rolling update is Swarm's to finish or roll back.
    BINDINGS = [binding for binding in PlanScreen.BINDINGS if binding.id != "plan.stop"]
    STATUS_ID = "swarm-plan-status"

    class PlanReady(Message):
        """Planning ended, with a plan or an error."""

        def __init__(self, plan: SwarmPlan | None, error: BackendError | None):
            super().__init__()
            self.plan = plan
            self.error = error

    def __init__(self, fleet: Fleet, stack: Stack, answers: Answers, *, source: str = "",
                 readonly: bool = False, bundle: BundleSource | None = None):
        super().__init__()
        self.fleet = fleet
        self.stack = stack
        self.answers = answers
        self.source = source
        self.readonly = readonly
        self.bundle = bundle
        #: planning, planned, error, applying, failed or done.
        self.phase = "planning"
        self.plan: SwarmPlan | None = None
        #: What the status line says (plain text, for tests and the help).
        self.status = ""

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="swarm-plan-box"):
            yield Static("", id="swarm-plan-text", markup=False)
        yield Static("", id="swarm-plan-status", markup=False)
        yield self.command_line()
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = (f"swarm upgrade {self.stack.name}"
                          + (f" ({self.source})" if self.source else ""))
        self.query_one("#swarm-plan-box").border_title = "plan (Swarm engine)"
        self.start_planning()

    def can_apply(self) -> bool:
        return self.plan is not None and not self.plan.no_op

    # --- planning -----------------------------------------------------------

    def start_planning(self) -> None:
        self.set_phase("planning")
        self.query_one("#swarm-plan-text", Static).update("")
        self.say(f"Planning swarm stack {self.stack.name}… (reading the manager and the nodes)")
        self.plan_on_thread()

    @work(thread=True, exclusive=True, group="plan")
    def plan_on_thread(self) -> None:
        """Read the swarm and the nodes' images and plan (nothing changes)."""
        from corral.backends.deploy import plan_swarm

        try:
            plan, error = plan_swarm(self.fleet, self.stack, self.answers,
                                     bundle=self.bundle), None
        except BackendError as exc:
            plan, error = None, exc
        self.post_message(self.PlanReady(plan, error))

    def on_swarm_plan_screen_plan_ready(self, message: PlanReady) -> None:
        self.plan = message.plan
        if message.error is not None:
            self.set_phase("error")
            self.say(f"{message.error.title}: {message.error}\nNothing was changed.", "error")
            return
        plan = message.plan
        assert plan is not None
        from corral.tui.present.swarm import plan_text

        self.set_phase("planned")
        self.query_one("#swarm-plan-text", Static).update(visible_lines(plan_text(plan)))
        if plan.no_op:
            self.say("Nothing to apply: the swarm runs this stack as planned.", "ok")
        elif self.readonly:
            self.say("Read-only console: this plan cannot be applied here.")
        else:
            self.say(f"Press a to upgrade swarm stack {self.stack.name} through manager"
                     f" {plan.manager} (Swarm's rolling update).")

    def action_replan(self) -> None:
        self.start_planning()

    # --- applying -----------------------------------------------------------

    def action_apply(self) -> None:
        plan = self.plan
        if plan is None or plan.no_op or self.readonly or self.phase != "planned":
            return
        changes = [f"{s.action} service {s.full_name}" for s in plan.steps
                   if s.action != "keep"]
        moving = sorted({row.host for row in plan.images if row.action in ("pull", "push")})
        if moving:
            changes.insert(0, f"images to {', '.join(moving)}")

        def confirmed(answer: bool | None) -> None:
            if answer and self.phase == "planned":
                self.start_apply(plan)

        self.app.push_screen(ConfirmScreen(
            f"Upgrade swarm stack {self.stack.name} through manager {plan.manager}?"
            " (Swarm's rolling update; a failed one rolls back by itself)", changes), confirmed)

    def start_apply(self, plan: SwarmPlan) -> None:
        self.set_phase("applying")
        self.say(f"Upgrading swarm stack {self.stack.name}… (escape: leave it running)")
        # An app worker: leaving this screen must not orphan the outcome.
        self.app.run_worker(partial(self.apply_on_thread, self.app, plan), thread=True,
                            group="deploy", exit_on_error=False,
                            name=f"swarm upgrade {self.stack.name}")

    def progress(self, app: App, line: str) -> None:
        """One progress line (worker thread): the status line shows the latest."""
        with contextlib.suppress(RuntimeError):  # the app has exited
            app.call_from_thread(self._progressed, line)

    def _progressed(self, line: str) -> None:
        if self.phase == "applying" and self.is_attached:
            self.say(f"Upgrading swarm stack {self.stack.name}… {line}")

    def apply_on_thread(self, app: App, plan: SwarmPlan) -> None:
        """Apply (blocking) and hand the outcome to the UI thread."""
        from corral.backends.deploy import apply_swarm

        problems: dict[str, str] = {}
        error: str | None = None
        try:
            problems = apply_swarm(self.fleet, plan, partial(self.progress, app),
                                   verb="stack.upgrade", timeout=TIMEOUT)
        except BackendError as exc:
            error = f"{exc.title}: {exc}"
        except Exception as exc:  # a bug must not pass silently in a detached worker
            error = f"unexpected error: {exc!r}; upgrading again converges"
        with contextlib.suppress(RuntimeError):  # the app has exited
            app.call_from_thread(self.apply_finished, problems, error)

    def apply_finished(self, problems: dict[str, str], error: str | None) -> None:
        """On the UI thread: notify how the upgrade ended; back to the stacks when done."""
        name = self.stack.name
        if error is None and not problems:
            self.app.notify(f"Swarm stack {name} upgraded: every service runs as planned"
                            " (b rolls it back to the previous spec).", title="Upgrade",
                            timeout=10)
            if self.is_attached and self.app.screen is self:
                self.set_phase("done")
                go_to_stacks(self.app, name)
            return
        lines = [error] if error else [f"{service}: {why}"
                                       for service, why in sorted(problems.items())]
        self.app.notify("\n".join(lines), title=f"Upgrade of {name} failed", severity="error",
                        timeout=20)
        if self.is_attached:
            self.set_phase("failed")
            self.say("\n".join(lines), "error")

    def action_leave(self) -> None:
        self.app.notify(f"Swarm stack {self.stack.name} is still being upgraded; you will be"
                        " told how it ends.", title="Upgrade", timeout=6)
        go_to_stacks(self.app, self.stack.name)

    def action_back(self) -> None:
        self.dismiss()
