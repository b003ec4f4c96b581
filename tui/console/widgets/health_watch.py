"""Acting on health while the console runs, and saying so.

Corral has no server: health checks are probed and unhealthy containers
recreated only while the console or `corral reconcile --watch` runs. This
widget, beside the host bar, runs that pass every few seconds on a worker
thread (changing nothing while a host is offline: re-placing its replicas
is asked for with `R` on the stacks view), reports what each pass did as
notifications (each thing once, not at every pass), and shows that it is
acting. A read-only console does not act and says so.

A pass with nothing to watch (no Rancher health check probed, nothing done,
busy or failing) is not repeated every few seconds: the next one waits until
the console reports a change (a container came, went or changed state, or a
host's state changed, see `note_change`; an engine's healthcheck verdict alone
is nothing the pass reads) or `QUIET_SECONDS` have passed. An idle console then reads
nothing it already knows from the engines' event streams; that safety-net pass
reads only the stack records' names, and all of every host only when one came
or went.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static

from corral.backends.errors import BackendError, SameEngine
from corral.tui.console.model.data import ConsoleData

if TYPE_CHECKING:
    from corral.backends.deploy import ReconcileReport

#: Seconds between passes (`corral reconcile --watch`'s default interval).
PASS_SECONDS = 5.0
#: After a pass with nothing to watch, the longest wait for the next one when
#: nothing changes (a safety net: a stack record written without any container
#: changing is seen within this time).
QUIET_SECONDS = 30.0
ACTING = "♥ acting on health"
READONLY = "♡ read-only: health not acted on"
BLOCKED = "✖ not acting: one engine, two hosts"


class HealthWatch(Static):
    """The health pass's status; runs the pass every `interval` seconds unless read-only.

    Args:
        data: The console's data source, whose health pass this runs (sharing the stack
            changes' lock).
        readonly: Never act; only say so.
        interval: Seconds between passes.
        quiet_interval: Seconds between passes while there is nothing to watch and
            nothing changes.
    """

    DEFAULT_CSS = """
    HealthWatch { width: auto; height: auto; padding: 0 1; background: $panel; color: $success; }
    HealthWatch.-readonly { color: $text-muted; }
    HealthWatch.-failing { color: $warning; }
    HealthWatch.-blocked { color: $text; background: $error; }
    """

    class PassDone(Message):
        """A pass ended: what it did (None: skipped), or why it failed.

        `blocked` is set when the pass refused to act at all (one engine
        under two inventory names).
        """

        def __init__(self, report: ReconcileReport | None, error: str | None,
                     blocked: bool = False):
            super().__init__()
            self.report = report
            self.error = error
            self.blocked = blocked

    def __init__(self, data: ConsoleData, *, readonly: bool = False,
                 interval: float = PASS_SECONDS, quiet_interval: float = QUIET_SECONDS,
                 **kwargs):
        super().__init__(READONLY if readonly else ACTING, markup=False, **kwargs)
        self.data = data
        self.readonly = readonly
        self.interval = interval
        self.quiet_interval = quiet_interval
        self.running = False
        #: The last pass had nothing to watch; then only a change (or the quiet
        #: interval) starts the next.
        self.quiet = False
        self._changed = True
        self._started_at = 0.0
        #: What the last pass reported, so repeated lines are not notified again.
        self.told: set[str] = set()
        self.tooltip = self.ABOUT = (
            "Corral acts on health only while the console or `corral reconcile --watch` runs:"
            " there is no Corral server. Replicas of an offline host are re-placed on request"
            " (R on the stacks view).")

    def on_mount(self) -> None:
        self.set_class(self.readonly, "-readonly")
        if not self.readonly:
            self.set_interval(self.interval, self.start_pass)

    def note_change(self) -> None:
        """Containers or hosts changed: the next tick runs a pass even after a quiet one."""
        self._changed = True

    def due(self) -> bool:
        """Whether the next tick should run a pass (none running; see the module docstring)."""
        if self.running:  # a slow host must not pile passes up
            return False
        return (not self.quiet or self._changed
                or time.monotonic() - self._started_at >= self.quiet_interval)

    def start_pass(self) -> None:
        """Start a pass if one is due."""
        if self.due():
            # Quiet and nothing changed: the safety net, which first asks only
            # whether a stack record came or went.
            changed = not self.quiet or self._changed
            self.running = True
            self._changed = False
            self._started_at = time.monotonic()
            self.run_pass(changed)

    @work(thread=True, group="health")
    def run_pass(self, changed: bool = True) -> None:
        """One reconcile pass, off the UI thread (see `ConsoleData.health_pass`)."""
        blocked = False
        try:
            report, error = self.data.health_pass(changed=changed), None
        except SameEngine as exc:
            report, error, blocked = None, str(exc), True
        except BackendError as exc:
            report, error = None, str(exc)
        except Exception as exc:  # a background pass must never take the console down
            report, error = None, f"unexpected error: {exc!r}"
        self.post_message(self.PassDone(report, error, blocked))

    def on_health_watch_pass_done(self, message: PassDone) -> None:
        self.running = False
        report = message.report
        self.quiet = report is not None and message.error is None and not (
            report.health or report.actions or report.errors or report.busy)
        self.set_class(message.blocked, "-blocked")
        self.tooltip = message.error if message.blocked else self.ABOUT
        if message.blocked:  # the screen tells it, in the host bar and once as an error
            self.set_class(False, "-failing")
            self.update(BLOCKED)
            return
        if message.error is not None:
            failure = {f"health pass failed: {message.error}"}
            self.tell(failure, failure)
            self.set_class(True, "-failing")
            self.update(Text(f"{ACTING}: last pass failed"))
            return
        if report is None:  # skipped: the console is changing a stack
            return
        lines = {f"{stack}: {line}" for stack, lines in report.actions.items() for line in lines}
        errors = {f"{stack}: {error}" for stack, error in report.errors.items()}
        # Another process holds these stacks' leases: said once, not an error.
        busy = {f"{stack}: left alone: {why}" for stack, why in report.busy.items()}
        self.tell(lines | errors | busy, errors)
        self.set_class(bool(errors), "-failing")
        if errors:
            self.update(f"{ACTING}: {len(errors)} stack(s) failing")
        elif busy:
            self.update(f"{ACTING}: {', '.join(sorted(report.busy))} busy elsewhere")
        else:
            self.update(ACTING)

    def tell(self, lines: set[str], warnings: set[str]) -> None:
        """Notify the lines the previous pass did not report already (`warnings` as such)."""
        for line in sorted(lines - self.told):
            bad = line in warnings
            self.notify(line, title="Health", severity="warning" if bad else "information",
                        timeout=10 if bad else 6)
        self.told = lines
