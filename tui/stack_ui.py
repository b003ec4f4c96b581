"""Stack changes from the stacks view, as `corral confirm | rollback | reconcile | scale | rm`.

Those that may remove containers (confirm the old copies, rollback the ones
the upgrade created, reconcile the extra copies of a host that came back,
scaling down, removing) ask first. Each change runs on an app worker thread
and ends with a notification.
"""

from __future__ import annotations

from functools import partial

from textual.app import App

from corral.backends.errors import BackendError

from .deploy_flow import DeployFlow
from .screens.modals import ConfirmScreen


def ask_and_settle(app: App, flow: DeployFlow, stack: str, keep: bool, old: list[str]) -> None:
    """Ask, then confirm (`keep`) or roll back the upgrade of `stack`.

    Args:
        app: The running app (pushes the question, runs the worker).
        flow: The console's stack changes.
        stack: The stack.
        keep: Confirm (True) or roll back (False).
        old: `host/name` of the old containers the upgrade kept.
    """
    if keep:
        question = f"Confirm the upgrade of {stack}? These old containers are removed:"
    else:
        question = (f"Roll back the upgrade of {stack}? The containers it created are removed"
                    " and these old ones restored:")
    objects = old or ["(no old container is visible here; the hosts decide)"]

    def confirmed(answer: bool | None) -> None:
        if answer:
            app.run_worker(partial(_settle, app, flow, stack, keep), thread=True,
                           group="upgrade", exit_on_error=False,
                           name=f"{'confirm' if keep else 'rollback'} {stack}")

    app.push_screen(ConfirmScreen(question, objects), confirmed)


def _settle(app: App, flow: DeployFlow, stack: str, keep: bool) -> None:
    """On a worker thread: do it, then notify (`App.notify` is thread-safe)."""
    verb = "confirm" if keep else "rollback"
    try:
        errors = flow.settle_upgrade(stack, keep)
    except BackendError as exc:
        app.notify(str(exc), title=f"{verb.capitalize()} failed", severity="error", timeout=10)
        return
    if errors:
        lines = [f"{host}: {error}" for host, error in sorted(errors.items())]
        app.notify("\n".join([*lines, f"({verb} again to finish)"]),
                   title=f"{verb.capitalize()} of {stack} incomplete", severity="error",
                   timeout=15)
    elif keep:
        app.notify(f"Upgrade of {stack} confirmed: the old containers are removed.",
                   title="Upgrade")
    else:
        app.notify(f"Stack {stack} rolled back: the old containers run again.", title="Upgrade")


def ask_and_reconcile(app: App, flow: DeployFlow, stack: str) -> None:
    """Ask, then reconcile `stack` now (replicas of offline hosts are re-placed)."""
    question = f"Reconcile {stack} now? Corral will:"
    objects = ["re-place the replicas of offline hosts on eligible online hosts",
               "recreate containers whose health check failed (per their strategy)",
               "remove copies beyond the scale on hosts that came back"]

    def confirmed(answer: bool | None) -> None:
        if answer:
            app.run_worker(partial(_reconcile, app, flow, stack), thread=True,
                           group="reconcile", exit_on_error=False, name=f"reconcile {stack}")

    app.push_screen(ConfirmScreen(question, objects), confirmed)


def _reconcile(app: App, flow: DeployFlow, stack: str) -> None:
    """On a worker thread: reconcile, then notify what was done."""
    try:
        report = flow.reconcile_now(stack)
    except BackendError as exc:
        app.notify(str(exc), title="Reconcile failed", severity="error", timeout=10)
        return
    errors = [f"{name}: {error}" for name, error in sorted(report.errors.items())]
    actions = report.actions.get(stack, [])
    if errors:
        app.notify("\n".join(errors), title=f"Reconcile of {stack} failed", severity="error",
                   timeout=15)
    else:
        app.notify("\n".join(actions) or f"{stack} already matches its record.",
                   title=f"Reconciled {stack}", timeout=10)


def scale(app: App, flow: DeployFlow, stack: str, service: str, current: int,
          delta: int) -> None:
    """Scale `stack/service` from `current` by `delta`; asks first when it removes a replica."""
    count = current + delta
    if count < 0:
        app.notify(f"{stack}/{service} has no replica to take away", severity="warning")
        return

    def go() -> None:
        app.run_worker(partial(_scale, app, flow, stack, service, count), thread=True,
                       group="scale", exit_on_error=False, name=f"scale {stack}/{service}")

    if delta >= 0:
        go()
        return
    question = f"Scale {stack}/{service} from {current} to {count}? One replica is removed:"
    app.push_screen(ConfirmScreen(question, [f"the replica with the highest index of {service}"]),
                    lambda answer: go() if answer else None)


def _scale(app: App, flow: DeployFlow, stack: str, service: str, count: int) -> None:
    try:
        result = flow.scale(stack, service, count)
    except BackendError as exc:
        app.notify(str(exc), title="Scale failed", severity="error", timeout=10)
        return
    if result.errors:
        lines = [f"{host}: {error}" for host, error in sorted(result.errors.items())]
        app.notify("\n".join(lines), title=f"Scale of {stack}/{service} incomplete",
                   severity="error", timeout=15)
    else:
        app.notify(f"{stack}/{service} runs {count} replica(s).", title="Scale")


def ask_and_remove(app: App, flow: DeployFlow, stack: str, containers: list[str]) -> None:
    """Ask, then remove `stack` (containers, networks, records; named volumes stay)."""
    question = (f"Remove stack {stack}? Its containers and networks go; its named volumes"
                " stay (`corral rm --volumes` removes them):")

    def confirmed(answer: bool | None) -> None:
        if answer:
            app.run_worker(partial(_remove, app, flow, stack), thread=True, group="remove",
                           exit_on_error=False, name=f"remove {stack}")

    app.push_screen(ConfirmScreen(question, containers or ["(no container)"]), confirmed)


def _remove(app: App, flow: DeployFlow, stack: str) -> None:
    try:
        errors = flow.remove_stack(stack)
    except BackendError as exc:
        app.notify(str(exc), title="Remove failed", severity="error", timeout=10)
        return
    if errors:
        lines = [f"{host}: {error}" for host, error in sorted(errors.items())]
        app.notify("\n".join([*lines, "(remove again to finish)"]),
                   title=f"Removing {stack} incomplete", severity="error", timeout=15)
    else:
        app.notify(f"Stack {stack} removed; its named volumes are kept.", title="Remove")
