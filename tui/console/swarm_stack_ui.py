"""Stack changes from the stacks view on a row that is a swarm service: the Swarm engine's.

A service of a stack Corral's swarm engine deployed (its record in the
service's labels) is scaled, removed and rolled back through a manager's
tunnel (`corral.backends.swarm`: each change runs in the gate), asking
first as the standalone engine's changes do. Confirm is a no-op on Swarm
(it finishes a rolling update by itself), so is reconcile (Swarm keeps
the replicas running with no Corral process). The upgrade opens the catalog
form filled from the stack record in the services' labels; its plan and
apply go through the Swarm engine (`screens/swarm_plan.py`). A swarm stack Corral did
not make (`docker stack deploy`) is only read here: changes are refused.
Each change runs on a worker thread and ends with a notification
(`App.notify` is thread-safe).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import App

from corral.backends.errors import BackendError
from corral.backends.ssh import Fleet
from corral.backends.swarm import Service
from corral.catalog.loader import Catalog
from corral.tui.console.screens.modals import ConfirmScreen

#: Progress lines of a change: the notification at the end says what matters.
_QUIET: Callable[[str], None] = lambda line: None  # noqa: E731


def refused(app: App, service: Service, what: str) -> bool:
    """Say why `what` is refused on a swarm stack Corral did not make; True when it is."""
    if service.corral:
        return False
    app.notify(f"swarm stack {service.stack} was not made by Corral (no Corral record in its"
               f" services' labels; `docker stack deploy` made it?): Corral does not {what} it."
               " Change it with the tool that made it.", title="Not Corral's",
               severity="warning", timeout=10)
    return True


def _run(app: App, name: str, change: Callable[[], dict[str, str]], done: str, *,
         again: str) -> None:
    """Run `change` on a worker thread; notify `done`, or its problems, or its error."""

    def work() -> None:
        try:
            problems = change()
        except BackendError as exc:
            app.notify(str(exc), title=f"{name} failed", severity="error", timeout=10)
            return
        if problems:
            lines = [f"{service}: {why}" for service, why in sorted(problems.items())]
            app.notify("\n".join([*lines, f"({again} again, or see the tasks with t)"]),
                       title=f"{name} incomplete", severity="error", timeout=15)
        else:
            app.notify(done, title=name, timeout=10)

    app.run_worker(work, thread=True, group="stack-change", exit_on_error=False, name=name)


def _ask(app: App, question: str, objects: list[str], then: Callable[[], None]) -> None:
    app.push_screen(ConfirmScreen(question, objects), lambda answer: then() if answer else None)


def scale(app: App, fleet: Fleet, service: Service, delta: int) -> None:
    """Set the swarm service's replicas to its desired count plus `delta`.

    Asks first when it removes a replica; a global service is not scaled.
    """
    if refused(app, service, "scale"):
        return
    where = f"swarm service {service.name}"
    if service.replicas is None:
        app.notify(f"{where} runs in global mode (one task per node): it has no replica count",
                   severity="warning", timeout=8)
        return
    count = service.replicas + delta
    if count < 0:
        app.notify(f"{where} has no replica to take away", severity="warning")
        return

    def go() -> None:
        from corral.backends.swarm import swarm_scale

        _run(app, f"Scale of {service.key}",
             lambda: swarm_scale(fleet, service.stack, service.service, count, _QUIET),
             f"{where} runs {count} replica(s).", again="scale")

    if delta >= 0:
        go()
    else:
        _ask(app, f"Scale {where} from {service.replicas} to {count}? Swarm stops one of its"
                  " tasks:", [f"one task of {service.name} (through manager {service.manager})"],
             go)


def ask_and_remove(app: App, fleet: Fleet, service: Service) -> None:
    """Read the stack's services through a manager, ask naming them and the overlay, remove."""
    if refused(app, service, "remove"):
        return
    stack = service.stack

    def read() -> None:
        from corral.backends.swarm import stack_names, swarm_network_name

        try:
            manager, names = stack_names(fleet, stack)
        except BackendError as exc:
            app.notify(str(exc), title=f"Remove of {stack}", severity="error", timeout=10)
            return
        objects = [f"service {name}" for name in names]
        objects.append(f"overlay network {swarm_network_name(stack)}")
        app.call_from_thread(
            _ask, app, f"Remove swarm stack {stack} (through manager {manager})? Its services"
                       " and overlay go; named volumes stay on the nodes:", objects, go)

    def go() -> None:
        from corral.backends.swarm import remove_stack

        def change() -> dict[str, str]:
            remove_stack(fleet, stack, _QUIET)
            return {}

        _run(app, f"Removing {stack}", change,
             f"Swarm stack {stack} removed; named volumes stay on the nodes.", again="remove")

    app.run_worker(read, thread=True, group="stack-change", exit_on_error=False,
                   name=f"services of {stack}")


def settle(app: App, fleet: Fleet, service: Service, keep: bool) -> None:
    """Confirm: say it is a no-op on Swarm. Rollback: ask, then each service's Swarm rollback."""
    stack = service.stack
    if refused(app, service, "confirm" if keep else "roll back"):
        return
    if keep:
        app.notify(f"swarm stack {stack}: nothing to confirm: Swarm finishes a rolling update by"
                   " itself (and rolls it back itself when it fails). b rolls it back to the"
                   " previous spec.", title="Nothing to confirm", timeout=10)
        return

    def go() -> None:
        from corral.backends.swarm import swarm_rollback

        _run(app, f"Rollback of {stack}", lambda: swarm_rollback(fleet, stack, _QUIET),
             f"Swarm stack {stack} rolled back to its services' previous spec.",
             again="rollback")

    _ask(app, f"Roll swarm stack {stack} back? Each of its services that has a previous spec"
              " returns to it (Swarm's rollback, through a manager):",
         [f"the services of swarm stack {stack}"], go)


def reconcile(app: App, service: Service) -> None:
    """Say that Swarm reconciles by itself."""
    app.notify(f"swarm stack {service.stack}: nothing to reconcile: Swarm keeps its replicas"
               " running and re-places the tasks of nodes that go down by itself, with no"
               " Corral process running (t shows where the tasks run).",
               title="Swarm reconciles", timeout=10)


def upgrade(app: App, fleet: Fleet, service: Service, folders: Sequence[str],
            bundles: Sequence[Catalog] = ()) -> None:
    """Open the upgrade form of the swarm stack, filled from the record in its labels.

    Its plan and apply go to the Swarm engine (`SwarmPlanScreen`): the images
    to the nodes first, then Swarm's rolling update.
    """
    if refused(app, service, "upgrade"):
        return
    from corral.backends.deploy import swarm_deployed
    from corral.tui.console.stack_ui import open_upgrade_form

    open_upgrade_form(app, service.stack, lambda: swarm_deployed(fleet, service.stack),
                      folders, bundles, engine="swarm")
