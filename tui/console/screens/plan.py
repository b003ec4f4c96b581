"""The plan of a stack from the catalog form, then its apply with live progress.

Planning reads every host on a worker thread ("Planning…"); the screen then
shows where each container goes and why, the hosts not chosen, warnings and
what changes, or why the stack cannot be placed or applied (nothing is
changed). `a` asks for a confirmation naming the stack and its hosts, then
applies on an app-level worker thread, so the apply outlives this screen:
escape leaves it running (a notification tells how it ended) and Ctrl-C
stops it after the steps in progress. A successful apply ends on the
console's stacks view. An existing stack is upgraded: the containers it
replaces are kept stopped until the upgrade is confirmed or rolled back
from the stacks view.
"""

from __future__ import annotations

import contextlib
from functools import partial

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Header, Static

from corral.backends.deploy import ApplyResult, ImageRow, Prepared, human_bytes
from corral.backends.errors import (
    BackendError,
    DeployError,
    PlanError,
    PreflightError,
    UpgradePending,
)
from corral.backends.images import BundleSource
from corral.catalog.answers import Answers
from corral.catalog.spec import Stack
from corral.tui.console.model.deploy_flow import DeployFlow, Planned
from corral.tui.console.model.progress import ProgressRelay, Snapshot
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.screens.plan_phases import PhasedPlanScreen
from corral.tui.console.widgets.keys_footer import KeysFooter
from corral.tui.console.widgets.plan_table import PlanTable, finished
from corral.tui.present.deploy import (
    balancer_lines,
    change_lines,
    changes_line,
    file_how,
    passed_over,
    plan_heading,
    result_lines,
    shown_path,
)

AGAIN = "plan and apply again"


def plan_notes(planned: Planned) -> Group:
    """What changes, warnings, hosts left out and hosts not chosen, under the table."""
    prepared = planned.prepared
    plan = prepared.plan
    text = Text()
    text.append(changes_line(prepared), style="bold")
    if planned.upgrade and prepared.definition.awaiting_decision:
        text.append("\nUpgrade: the containers it replaces or removes are kept stopped until"
                    " you confirm or roll it back (stacks view: c / b).")
    parts: list[RenderableType] = [text]
    changed = change_lines(prepared)
    if changed:
        parts.append(Text("What changes (before → after)", style="bold"))
        for line in changed:  # container lines, then their fields indented
            depth = len(line) - len(line.lstrip())
            parts.append(Padding(Text(line.lstrip(), style="" if depth else "bold"),
                                 (0, 0, 0, 2 + depth)))
    more = Text()
    warnings = [*plan.warnings, *(
        f"{s.service} #{s.index} on {s.host}: dropped soft rule {rule}"
        for s in plan.steps for rule in s.dropped)]
    for note in plan.notes:
        more.append(f"\nnetwork: {note}")
    for warning in warnings:
        more.append(f"\nwarning: {warning}", style="yellow")
    for item in prepared.stack.dropped:
        more.append(f"\ndropped (only a Rancher server provides it): {item}", style="yellow")
    for host, why in plan.offline:
        more.append(f"\nOffline, left out: {host} ({why})", style="yellow")
    skipped = passed_over(plan)
    if skipped:
        more.append("\nHosts not chosen", style="bold")
    parts += image_notes(prepared.images)
    balancers = balancer_lines(prepared)
    if balancers:  # each load balancer, its image and its port rules
        parts.append(Text(balancers[0].rstrip(":"), style="bold"))
        parts.extend(Padding(Text(line.strip()), (0, 0, 0, len(line) - len(line.lstrip())))
                     for line in balancers[1:])
    parts += file_notes(prepared)
    if more:
        parts.append(more[1:])  # without the first line break
    if not skipped:
        return Group(*parts)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    grid.add_column()
    for step, host, why in skipped:
        grid.add_row(f"{step.service} #{step.index}", host, why)
    return Group(*parts, Padding(grid, (0, 0, 0, 2)))


#: How an image row's HOW cell is styled, by action.
IMAGE_STYLE = {"present": "dim", "pull": "cyan", "push": "cyan", "unavailable": "bold red"}


def file_notes(prepared: Prepared) -> list[RenderableType]:
    """Files beside the compose file: per host, each item, its size and whether it is sent."""
    rows = prepared.files.rows
    if not rows:
        return []
    grid = Table.grid(padding=(0, 2))
    for _ in range(4):
        grid.add_column()
    for row in rows:
        how = Text(file_how(row), style="cyan" if row.action == "ship" else "dim")
        grid.add_row(row.host, shown_path(row.local), human_bytes(row.size), how)
    return [Text("Files", style="bold"), Padding(grid, (0, 0, 0, 2))]


def image_notes(rows: list[ImageRow]) -> list[RenderableType]:
    """How each image reaches each host: one line when all are present, else a grid."""
    if not rows:
        return []
    if all(row.action == "present" for row in rows):
        hosts = ", ".join(sorted({row.host for row in rows}))
        return [Text(f"Images: {len({row.image for row in rows})} present on {hosts}",
                     style="dim")]
    grid = Table.grid(padding=(0, 2))
    grid.add_column()
    grid.add_column()
    grid.add_column()
    for row in rows:
        grid.add_row(row.host, row.image, Text(row.describe(),
                                              style=IMAGE_STYLE.get(row.action, "")))
    return [Text("Images", style="bold"), Padding(grid, (0, 0, 0, 2))]


def error_text(error: BackendError, *more: str) -> Group:
    """An error the plan cannot get past: title, message, then per replica or host why."""
    rows: list[tuple[str, str, str]] = []
    if isinstance(error, PlanError):
        rows = [(replica, host, why) for replica, hosts in error.reasons.items()
                for host, why in hosts.items()]
    elif isinstance(error, PreflightError):
        rows = [(host, problem, "") for host, problems in error.problems.items()
                for problem in problems]
    parts: list[RenderableType] = [Text(f"{error.title}: {error.message if rows else error}",
                                        style="bold")]
    if rows:
        grid = Table.grid(padding=(0, 2))
        for _ in range(3):
            grid.add_column()
        for row in rows:
            grid.add_row(*row)
        parts.append(Padding(grid, (0, 0, 0, 2)))
    parts.extend(Text(line) for line in more)
    return Group(*parts)


def go_to_stacks(app: App, stack: str) -> None:
    """Back to the console's stacks view, filtered to `stack`."""
    from corral.tui.console.screens.console import ConsoleScreen

    while len(app.screen_stack) > 1 and not isinstance(app.screen, ConsoleScreen):
        app.pop_screen()
    if isinstance(app.screen, ConsoleScreen):
        app.screen.show_view("stacks", filter_text=f"^{stack} ")


class PlanScreen(PhasedPlanScreen):
    """Plan a rendered stack, show it, apply it on request.

    Args:
        flow: The console's stack changes (blocking; used from threads).
        stack: The rendered stack.
        answers: Its answers (passwords included: they never reach the screen).
        source: Entry and version, for the subtitle.
        readonly: Plan only; applying is not offered.
        bundle: The bundle the entry came from: its images are pushed from it.
    """

    DEFAULT_CSS = """
    PlanScreen #plan-heading { height: auto; padding: 0 1; text-style: bold; }
    PlanScreen PlanTable { border: round $primary; max-height: 60%; }
    PlanScreen #plan-notes-box { height: 1fr; padding: 0 1; }
    PlanScreen #plan-notes { width: 1fr; }
    PlanScreen #plan-status { height: auto; padding: 0 1; }
    PlanScreen #plan-status.-error { color: $error; border: round $error; }
    PlanScreen #plan-status.-ok { color: $success; }
    """
    #: `stop` ends an apply between hosts; `leave` leaves it running.
    WHILE_APPLYING = ("stop", "leave")
    BINDINGS = [
        Binding("a", "apply", "Apply", id="plan.apply",
                tooltip="Apply the plan to the hosts (asks first)"),
        Binding("r", "replan", "Plan again", id="plan.replan",
                tooltip="Read every host and plan again"),
        Binding("ctrl+c", "stop", "Stop", id="plan.stop",
                tooltip="Stop the apply after the steps in progress (applying again converges)"),
        Binding("escape", "back", "Back", id="plan.back", tooltip="Back to the form"),
        Binding("escape", "leave", "Leave", id="plan.leave",
                tooltip="Go to the stacks view and let the apply finish (you are told how it"
                        " ends)"),
        Binding("question_mark,f1", "help", "Help", id="plan.help",
                tooltip="Every key of this view"),
    ]

    class PlanReady(Message):
        """Planning ended, with a plan or an error."""

        def __init__(self, planned: Planned | None, error: BackendError | None):
            super().__init__()
            self.planned = planned
            self.error = error

    class Progressed(Message):
        """The latest state of every container of the apply (a newer one replaces it)."""

        def __init__(self, events: Snapshot):
            super().__init__()
            self.events = events

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, PlanScreen.Progressed)

    def __init__(self, flow: DeployFlow, stack: Stack, answers: Answers, *, source: str = "",
                 readonly: bool = False, bundle: BundleSource | None = None):
        super().__init__()
        self.flow = flow
        self.bundle = bundle
        self.stack = stack
        self.answers = answers
        self.source = source
        self.readonly = readonly
        #: planning, planned, error, applying, failed or done.
        self.phase = "planning"
        self.planned: Planned | None = None
        self.relay: ProgressRelay | None = None
        #: What the status line says.
        self.status: RenderableType = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="plan-heading", markup=False)
        table = PlanTable(id="plan-table")
        table.border_title = "plan"
        yield table
        with VerticalScroll(id="plan-notes-box"):
            yield Static("", id="plan-notes")
        yield Static("", id="plan-status", markup=False)
        yield self.command_line()
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = f"plan {self.stack.name}" + (f" ({self.source})" if self.source else "")
        self.start_planning()

    @property
    def table(self) -> PlanTable:
        return self.query_one(PlanTable)

    def can_apply(self) -> bool:
        return self.planned is not None and self.planned.ready

    # --- planning -----------------------------------------------------------

    def start_planning(self) -> None:
        self.set_phase("planning")
        self.show_plan_parts(False)
        self.say(f"Planning stack {self.stack.name}… (reading every host)")
        self.plan_on_thread()

    @work(thread=True, exclusive=True, group="plan")
    def plan_on_thread(self) -> None:
        """Read the hosts and plan, off the UI thread (nothing changes)."""
        try:
            planned, error = self.flow.plan(self.stack, self.answers, bundle=self.bundle), None
        except BackendError as exc:
            planned, error = None, exc
        self.post_message(self.PlanReady(planned, error))

    def on_plan_screen_plan_ready(self, message: PlanReady) -> None:
        self.planned = message.planned
        if message.error is not None:
            self.set_phase("error")
            self.show_plan_parts(False)
            self.query_one("#plan-heading", Static).update(f"Stack {self.stack.name}")
            more = ["Nothing was changed."]
            if isinstance(message.error, UpgradePending):
                more.append("Confirm or roll back that upgrade on the stacks view (c / b) first.")
            self.say(error_text(message.error, *more), "error")
            return
        planned = message.planned
        assert planned is not None
        self.set_phase("planned")
        self.show_planned(planned)

    def show_planned(self, planned: Planned) -> None:
        prepared = planned.prepared
        kind = "upgrade of a deployed stack" if planned.upgrade else "new stack"
        self.query_one("#plan-heading", Static).update(f"{plan_heading(prepared)} — {kind}")
        self.show_plan_parts(True)
        self.table.show_plan(prepared.plan, prepared.changes)
        self.table.border_subtitle = f"{len(prepared.plan.steps)} containers"
        self.query_one("#plan-notes", Static).update(plan_notes(planned))
        if planned.preflight is not None:
            self.say(error_text(planned.preflight), "error")
        elif prepared.no_op:
            self.say("Nothing to apply: the hosts already run this stack as planned.", "ok")
        elif self.readonly:
            self.say("Read-only console: this plan cannot be applied here.")
        else:
            self.say(f"Press a to apply to {', '.join(planned.hosts)}.")
        self.table.focus()

    def show_plan_parts(self, shown: bool) -> None:
        """Show or hide the table and the notes (hidden while planning and on errors)."""
        self.table.display = shown
        self.query_one("#plan-notes-box").display = shown
        if not shown:
            self.query_one("#plan-notes", Static).update("")

    def action_replan(self) -> None:
        self.start_planning()

    # --- applying -----------------------------------------------------------

    def action_apply(self) -> None:
        planned = self.planned
        if planned is None or not planned.ready or self.readonly:
            return
        verb = "Upgrade" if planned.upgrade else "Apply"
        question = f"{verb} stack {self.stack.name} on {', '.join(planned.hosts)}?"
        changes = [f"{s.action} {s.name} on {s.host}" for s in planned.prepared.plan.changes]
        if not changes:
            changes = ["write the stack record"]

        def confirmed(answer: bool | None) -> None:
            if answer and self.phase == "planned":
                self.start_apply(planned)

        self.app.push_screen(ConfirmScreen(question, changes), confirmed)

    def start_apply(self, planned: Planned) -> None:
        self.set_phase("applying")
        self.say(f"Applying stack {self.stack.name}… (escape: leave it running;"
                 " ctrl+c: stop it after the steps in progress)")
        self.relay = ProgressRelay(lambda events: self.post_message(self.Progressed(events)))
        # An app worker: leaving this screen must not orphan the apply's result.
        self.app.run_worker(partial(self.apply_on_thread, self.app, planned, self.relay),
                            thread=True, group="deploy", exit_on_error=False,
                            name=f"apply {self.stack.name}")

    def apply_on_thread(self, app: App, planned: Planned, relay: ProgressRelay) -> None:
        """Apply (blocking) and hand the outcome to the UI thread."""
        result: ApplyResult | None = None
        error: BackendError | None = None
        try:
            result = self.flow.apply(planned, relay)
        except BackendError as exc:
            error = exc
        except Exception as exc:  # a bug must not pass silently in a detached worker
            error = DeployError(f"unexpected error: {exc!r}; deploying again converges")
        finally:
            relay.close()
        with contextlib.suppress(RuntimeError):  # the app has exited
            app.call_from_thread(self.apply_finished, result, error)

    def on_plan_screen_progressed(self, message: Progressed) -> None:
        self.show_progress(message.events)

    def show_progress(self, events: Snapshot) -> None:
        others = self.table.show_progress(events)
        rows = [e for e in events if e not in others]
        done = sum(finished(e) for e in rows)
        failed = sum(e.state in ("failed", "unhealthy") for e in rows)
        parts = [f"{done}/{len(self.planned.prepared.plan.changes) if self.planned else 0}"
                 " changed containers done"]
        if failed:
            parts.append(f"{failed} failed")
        if others:
            last = others[-1]
            detail = f" {last.detail}" if last.state == "sending" else ""
            parts.append(f"{last.host}: {last.action} {last.name} {last.state}{detail}")
        self.table.border_subtitle = " · ".join(parts)

    def apply_finished(self, result: ApplyResult | None, error: BackendError | None) -> None:
        """On the UI thread: show how the apply ended, or notify when the screen was left."""
        name = self.stack.name
        if self.relay is not None and self.is_attached:
            self.show_progress(self.relay.snapshot())
        if result is not None:
            done, problems = result_lines(result, AGAIN)
        else:
            done, problems = None, [f"{error.title}: {error}" if error else "apply failed"]
        upgraded = bool(done and self.planned and self.planned.upgrade
                        and self.planned.prepared.definition.awaiting_decision)
        if upgraded:
            done = (f"Stack {name} upgraded; the old containers are kept stopped: confirm (c)"
                    " or roll back (b) on the stacks view.")
        if self.app.screen is not self:  # left while applying
            if done:
                self.app.notify(done, title="Deploy", timeout=10)
            else:
                self.app.notify("\n".join(problems), title=f"Deploy of {name} failed",
                                severity="error", timeout=20)
            return
        if done:
            self.set_phase("done")
            self.app.notify(done, title="Deploy", timeout=10)
            go_to_stacks(self.app, name)
            return
        self.set_phase("failed")
        self.say("\n".join(problems), "error")

    def action_stop(self) -> None:
        if self.phase == "applying" and self.relay is not None and not self.relay.stopping:
            self.relay.stop()
            self.say("Stopping after the steps in progress (a health wait runs to its"
                     " timeout)… the steps done stay done; applying again converges.")

    def action_leave(self) -> None:
        self.app.notify(f"Stack {self.stack.name} is still being applied; you will be told"
                        " how it ends.", title="Deploy", timeout=6)
        go_to_stacks(self.app, self.stack.name)

    def action_back(self) -> None:
        self.dismiss()
