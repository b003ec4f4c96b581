"""The images view's actions on the console: push, pull, remove unused, the transfers pane.

Push and pull ask which hosts (those lacking the images ticked first), then
run on a worker thread (`model/image_transfers.py`) while the transfers pane
shows them; the pane may be closed, the transfers go on and each one's end
is notified. Remove asks first, naming each host and image; images a
container uses are kept and said. Every change passes the gate in the
backend (`image.push`, `image.pull`, `image.rm`).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import TYPE_CHECKING

from textual.app import App
from textual.screen import Screen

from corral.backends.engine import ImageRow
from corral.backends.errors import BackendError
from corral.backends.images import list_images as host_images
from corral.backends.images import remove_images
from corral.backends.ssh import Fleet, HostState
from corral.tui.console.model.image_needs import needed_images
from corral.tui.console.model.image_transfers import (
    Transfer,
    TransferLog,
    pull_images,
    push_images,
)
from corral.tui.console.screens.host_choice import HostChoiceScreen
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.screens.transfers import TransfersScreen
from corral.tui.console.views.images import ImagesView
from corral.tui.console.widgets.host_bar import HostBar

if TYPE_CHECKING:
    from corral.tui.console.screens.console import ConsoleScreen

_VERBS = {"push": ("Push", "to"), "pull": ("Pull", "on")}


def transfer_log(screen: Screen) -> TransferLog:
    """A log whose transfers, as each ends, are notified on `screen`'s app."""

    def ended(transfer: Transfer) -> None:
        app = screen.app
        verb = _VERBS[transfer.kind][0]
        if transfer.state == "done":
            app.notify(transfer.outcome, title=f"{verb} done", timeout=6)
        else:
            app.notify(transfer.outcome, title=f"{verb} failed", severity="error", timeout=12)

    return TransferLog(on_end=ended)


def update_needs(screen: ConsoleScreen, failed: set[str] | None) -> None:
    """Tell the images view what the stacks need and which hosts' listings count.

    Args:
        screen: The console.
        failed: Hosts whose image listing failed: nobody knows what they lack.
            None before the first listing: no host is known to lack anything.
    """
    statuses = screen.query_one(HostBar).statuses
    online = [] if failed is None else [
        name for name, status in statuses.items()
        if status.state is HostState.ONLINE and name not in failed]
    screen.query_one(ImagesView).set_needs(needed_images(screen.store.rows.values()), online)


def ask_transfer(screen: ConsoleScreen, message: ImagesView.TransferRequested) -> None:
    """Ask which hosts to push to (pull on), then start the transfers and show them."""
    hosts = list(screen.query_one(ImagesView).hosts)
    if not hosts:
        screen.notify("no online host to send images to", severity="warning")
        return
    verb, preposition = _VERBS[message.kind]
    lacking = set(message.hosts)
    notes = {host: "lacks it" if len(message.images) == 1 else "lacks some"
             for host in hosts if host in lacking}
    question = f"{verb} {', '.join(message.images)} {preposition}:"

    def chosen(targets: list[str] | None) -> None:
        if targets:
            start_transfers(screen, message.kind, message.images, targets)

    screen.app.push_screen(HostChoiceScreen(question, hosts, message.hosts, notes), chosen)


def start_transfers(screen: ConsoleScreen, kind: str, images: list[str],
                    targets: list[str]) -> None:
    """Run the pushes (pulls) on a worker thread and open the transfers pane."""
    if _same_engine_refused(screen.app, screen.fleet, targets, _VERBS[kind][0]):
        return
    app, fleet, log = screen.app, screen.fleet, screen.transfers
    run = push_images if kind == "push" else pull_images

    def work() -> None:
        run(fleet, images, targets, log)
        app.call_from_thread(screen.load_listing, "images")

    app.run_worker(work, thread=True, group="image-transfers", exit_on_error=False,
                   name=f"{kind} {', '.join(images)}")
    show_transfers(screen)


def show_transfers(screen: ConsoleScreen) -> None:
    """Open the transfers pane."""
    screen.app.push_screen(TransfersScreen(screen.transfers))


def ask_remove(screen: ConsoleScreen, rows: list[ImageRow]) -> None:
    """Say which images are kept (in use), ask to remove the others, naming host and image."""
    kept = [row for row in rows if row.users]
    unused = [row for row in rows if not row.users]
    if kept:
        screen.notify("\n".join(f"{_name(row)} kept: used by {', '.join(row.users)}"
                                for row in kept),
                      title="In use", severity="warning", timeout=10)
    if not unused:
        return
    if _same_engine_refused(screen.app, screen.fleet, [row.host for row in unused], "Remove"):
        return
    hosts = sorted({row.host for row in unused})
    question = (f"Remove {len(unused)} unused image{'s' if len(unused) > 1 else ''} "
                f"from {', '.join(hosts)}?")
    if kept:
        question += f" ({len(kept)} in use kept)"

    def confirmed(answer: bool | None) -> None:
        if answer:
            screen.app.run_worker(lambda: remove(screen, unused), thread=True,
                                  group="image-remove", exit_on_error=False,
                                  name="remove unused images")

    screen.app.push_screen(ConfirmScreen(question, [_name(row) for row in unused]), confirmed)


def remove(screen: ConsoleScreen, rows: list[ImageRow]) -> None:
    """Remove `rows` host by host (blocking: a worker thread), and say what happened."""
    app = screen.app
    by_host: dict[str, list[ImageRow]] = defaultdict(list)
    for row in rows:
        by_host[row.host].append(row)
    for host, mine in by_host.items():
        try:
            session = screen.fleet.session(host)
            held = {image.short_id: image for image in host_images(session)}
            # One tag row removes that tag only (the engine drops the image with its last).
            chosen = [dataclasses.replace(held[row.id], tags=list(row.tags))
                      for row in mine if row.id in held]
            report = remove_images(session, chosen, readonly=screen.readonly)
        except BackendError as error:
            app.notify(str(error), title="Remove failed", severity="error", timeout=10)
            continue
        lines = [f"{host}: removed {len(report.removed)} image(s): "
                 f"{', '.join(report.removed) or 'none'}"]
        lines += [f"{host}: {name} kept: {why}" for name, why in report.failed.items()]
        app.notify("\n".join(lines), title="Remove unused",
                   severity="warning" if report.failed else "information", timeout=10)
    app.call_from_thread(screen.load_listing, "images")


def _name(row: ImageRow) -> str:
    return f"{row.host}: {', '.join(row.tags) or row.id}"


def _same_engine_refused(app: App, fleet: Fleet, hosts: list[str], verb: str) -> bool:
    """Refuse (and say why) when two of the hosts are one engine under two names."""
    problem = fleet.same_engine()
    if problem is not None and set(hosts) & set(problem.hosts):
        app.notify(str(problem), title=f"{verb} refused", severity="error", timeout=15)
        return True
    return False
