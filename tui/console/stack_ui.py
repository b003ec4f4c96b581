"""Stack changes from the stacks view, as `corral confirm | rollback | reconcile | scale | rm`,
and the upgrade form (`U`) filled from the stack record.

Those that may remove containers (confirm the old copies, rollback the ones
the upgrade created, reconcile the extra copies of a host that came back,
scaling down, removing) ask first; confirm and rollback first read the
stack's state from the hosts and, with nothing pending, say so instead.
Each change runs on an app worker thread and ends with a notification
(`App.notify` is thread-safe).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from textual.app import App

from corral.backends.deploy import UPGRADED, Definition, upgrade_seed
from corral.backends.errors import BackendError, DeployError
from corral.catalog.errors import CatalogError, CorralError
from corral.catalog.loader import Catalog
from corral.tui.catalog_sources import load_sources
from corral.tui.console.model.deploy_flow import DeployFlow
from corral.tui.console.screens.modals import ConfirmScreen

#: A change: runs on a worker thread, returns host -> error for hosts that failed.
Change = Callable[[], dict[str, str]]


def _run(app: App, name: str, change: Change, done: Callable[[], str], *, title: str,
         again: str) -> None:
    """Run `change` on a worker thread, then notify `done()` or what failed.

    Args:
        app: The running app.
        name: What the change is, for the worker and failure titles ("Scale of x/y").
        change: The change itself.
        done: The success message (called after the change, on the worker thread).
        title: The success notification's title.
        again: What to do again to finish when some hosts failed ("remove").
    """

    def work() -> None:
        try:
            errors = change()
        except BackendError as exc:
            app.notify(str(exc), title=f"{name} failed", severity="error", timeout=10)
            return
        if errors:
            lines = [f"{host}: {error}" for host, error in sorted(errors.items())]
            app.notify("\n".join([*lines, f"({again} again to finish)"]),
                       title=f"{name} incomplete", severity="error", timeout=15)
        else:
            app.notify(done(), title=title, timeout=10)

    app.run_worker(work, thread=True, group="stack-change", exit_on_error=False, name=name)


def _ask(app: App, question: str, objects: list[str], then: Callable[[], None]) -> None:
    """Ask `question` (listing `objects`); call `then` on yes."""
    app.push_screen(ConfirmScreen(question, objects), lambda answer: then() if answer else None)


def ask_and_settle(app: App, flow: DeployFlow, stack: str, keep: bool) -> None:
    """Read the stack's state; ask, then confirm (`keep`) or roll back its upgrade.

    With nothing pending (the state `corral stacks` shows is not `upgraded`)
    it says so, without asking.

    Args:
        app: The running app (pushes the question, runs the workers).
        flow: The console's stack changes.
        stack: The stack.
        keep: Confirm (True) or roll back (False).
    """
    verb = "confirm" if keep else "rollback"

    def read() -> None:
        try:
            state, old = flow.pending_upgrade(stack)
        except BackendError as exc:
            app.notify(str(exc), title=f"{verb.capitalize()} of {stack}", severity="error",
                       timeout=10)
            return
        if state != UPGRADED:
            app.notify(f"Stack {stack} has nothing pending: no upgrade awaits confirm or"
                       f" rollback (state: {state}).", title=f"Nothing to {verb}",
                       severity="warning", timeout=8)
            return
        app.call_from_thread(_ask_settle, app, flow, stack, keep, old)

    app.run_worker(read, thread=True, group="stack-change", exit_on_error=False,
                   name=f"state of {stack}")


def _ask_settle(app: App, flow: DeployFlow, stack: str, keep: bool, old: list[str]) -> None:
    if keep:
        question = f"Confirm the upgrade of {stack}? These old containers are removed:"
        done = f"Upgrade of {stack} confirmed: the old containers are removed."
    else:
        question = (f"Roll back the upgrade of {stack}? The containers it created are removed"
                    " and these old ones restored:")
        done = f"Stack {stack} rolled back: the old containers run again."
    verb = "confirm" if keep else "rollback"
    _ask(app, question, old or ["(no old container: the upgrade only added containers)"],
         lambda: _run(app, f"{verb.capitalize()} of {stack}",
                      lambda: flow.settle_upgrade(stack, keep), lambda: done,
                      title="Upgrade", again=verb))


def ask_and_reconcile(app: App, flow: DeployFlow, stack: str) -> None:
    """Ask, then reconcile `stack` now (replicas of offline hosts are re-placed)."""
    actions: list[str] = []

    def change() -> dict[str, str]:
        report = flow.reconcile_now(stack)
        actions.extend(report.actions.get(stack, []))
        return {**report.errors, **report.busy}  # asked for by name: busy is a failure

    _ask(app, f"Reconcile {stack} now? Corral will:",
         ["re-place the replicas of offline hosts on eligible online hosts",
          "recreate containers whose health check failed (per their strategy)",
          "remove copies beyond the scale on hosts that came back"],
         lambda: _run(app, f"Reconcile of {stack}", change,
                      lambda: "\n".join(actions) or f"{stack} already matches its record.",
                      title=f"Reconciled {stack}", again="reconcile"))


def scale(app: App, flow: DeployFlow, stack: str, service: str, current: int,
          delta: int) -> None:
    """Scale `stack/service` from `current` by `delta`; asks first when it removes a replica."""
    count = current + delta
    if count < 0:
        app.notify(f"{stack}/{service} has no replica to take away", severity="warning")
        return

    def change() -> dict[str, str]:
        result = flow.scale(stack, service, count)
        return {**result.errors, **{name: f"not healthy: {why}"
                                    for name, why in result.unhealthy.items()}}

    def go() -> None:
        _run(app, f"Scale of {stack}/{service}", change,
             lambda: f"{stack}/{service} runs {count} replica(s).", title="Scale", again="scale")

    if delta >= 0:
        go()
    else:
        _ask(app, f"Scale {stack}/{service} from {current} to {count}? One replica is removed:",
             [f"the replica with the highest index of {service}"], go)


def ask_and_remove(app: App, flow: DeployFlow, stack: str, containers: list[str]) -> None:
    """Ask, then remove `stack` (containers, networks, records; named volumes stay)."""
    _ask(app, f"Remove stack {stack}? Its containers and networks go; its named volumes"
              " stay (`corral rm --volumes` removes them):", containers or ["(no container)"],
         lambda: _run(app, f"Removing {stack}", lambda: flow.remove_stack(stack),
                      lambda: f"Stack {stack} removed; its named volumes are kept.",
                      title="Remove", again="remove"))


def open_upgrade(app: App, flow: DeployFlow, stack: str, folders: Sequence[str],
                 bundles: Sequence[Catalog] = ()) -> None:
    """Open the catalog form of `stack`'s deployed version, filled from its record.

    Reads the record and the catalog folders on a worker thread; says why
    when the stack cannot be upgraded here (no record, an upgrade awaiting
    a decision, a version no catalog folder holds).

    Args:
        app: The running app.
        flow: The console's stack changes.
        stack: The stack.
        folders: The configuration's extra catalog folders.
        bundles: Catalogs of the bundles the console opened, searched first.
    """
    open_upgrade_form(app, stack, lambda: flow.deployed(stack), folders, bundles)


def open_upgrade_form(app: App, stack: str, deployed: Callable[[], Definition],
                      folders: Sequence[str], bundles: Sequence[Catalog] = (),
                      engine: str = "standalone") -> None:
    """Open the upgrade form of `stack` from the definition `deployed()` reads (a worker).

    Args:
        app: The running app.
        stack: The stack.
        deployed: Reads its definition (blocking): the standalone engine's
            record volumes, or the Swarm engine's service labels.
        folders: The configuration's extra catalog folders.
        bundles: Catalogs of the bundles the console opened, searched first.
        engine: The engine the stack runs on; the form's plan goes to it.
    """
    from corral.tui.console.screens.catalog_form import CatalogFormScreen

    command = "upgrade" + (" --engine swarm" if engine == "swarm" else "")

    def read() -> None:
        try:
            definition = deployed()
            if definition.awaiting_decision:
                raise DeployError(f"stack {stack} has an upgrade awaiting confirm or rollback:"
                                  " press c or b first")
            entry_id, version_name = definition.stack.entry, definition.stack.version
            catalogs, _ = load_sources((), folders, bundles=bundles)
            try:
                entry = catalogs.find(entry_id)
                version = entry.find_version(version_name)
            except CatalogError as exc:
                raise CatalogError(f"stack {stack} was deployed from {entry_id} {version_name},"
                                   f" which no catalog folder holds ({exc}); upgrade it with"
                                   f" `corral {command} ENTRY|FILE --stack {stack}`") from exc
            seeded = dataclasses.replace(upgrade_seed(definition, version), engine=engine)
            if engine == "swarm" and definition.secret_names:
                seeded = dataclasses.replace(seeded, notes=(
                    *seeded.notes, "the swarm keeps no password for Corral to carry over:"
                    " type the passwords again"))
        except CorralError as exc:
            app.notify(str(exc), title=f"Upgrade of {stack}", severity="error", timeout=12)
            return
        app.call_from_thread(app.push_screen, CatalogFormScreen(entry, version, upgrade=seeded))

    app.run_worker(read, thread=True, group="stack-change", exit_on_error=False,
                   name=f"upgrade form of {stack}")
