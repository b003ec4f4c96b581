"""The images view's MISSING ON and its actions (push, pull, remove unused) with the
transfers pane, on the still console (no host is reached: the transfers and the
engine calls are fakes)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from textual.widgets import SelectionList

from corral.backends import guard
from corral.backends.engine import ImageRow
from corral.backends.images import HostImage, RemoveReport
from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console import images_ui
from corral.tui.console.model.image_needs import NeededImage
from corral.tui.console.screens.console import ConsoleScreen
from corral.tui.console.screens.host_choice import HostChoiceScreen
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.screens.transfers import TransfersScreen
from corral.tui.console.views.images import ImagesView
from tests.support import fleet_data
from tests.support.pilot import until
from tests.support.still_console import INVENTORY_PATH, SIZE, feed
from tests.support.still_data import StillData


@pytest.fixture
def console() -> Iterator[Callable[[bool], CorralApp]]:
    previous_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()

    def build(readonly: bool = False) -> CorralApp:
        specs = tuple(HostSpec(name, SshTarget("127.0.0.1", "root", 9), labels=labels)
                      for name, (_, labels) in fleet_data.HOSTS.items())
        return CorralApp(Inventory(hosts=specs, path=INVENTORY_PATH), SshSettings(),
                         Config(readonly=readonly), data=StillData())  # type: ignore[arg-type]

    yield build
    if previous_tz is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = previous_tz
    time.tzset()


async def images_view(pilot) -> ImagesView:
    await feed(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ConsoleScreen)
    screen.show_view("images")
    view = screen.query_one(ImagesView)
    await until(pilot, lambda: view.row_count > 0, "the images")
    return view


def cell(view: ImagesView, key: str, column: str) -> str:
    value = view.get_cell(key, column)
    return getattr(value, "plain", str(value))


async def put_cursor(pilot, view: ImagesView, key: str) -> None:
    view.move_cursor(row=view.get_row_index(key), animate=False)
    await pilot.pause()


def key_of(view: ImagesView, host: str, tag: str) -> str:
    return next(key for key, row in view.records.items()
                if isinstance(row, ImageRow) and row.host == host and tag in row.tags)


async def test_missing_on_names_the_online_hosts_lacking_a_stack_image(console) -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        view = await images_view(pilot)
        # shop/worker runs on lab1 only; billing's images are on lab2 only.
        assert cell(view, key_of(view, "lab1", "corral-lab/worker:1"), "missing") == \
            "lab2, lab3"
        assert cell(view, key_of(view, "lab2", "postgres:16"), "missing") == "lab1, lab3"
        # Every host holds shop/web: nothing missing.
        assert cell(view, key_of(view, "lab1", "corral-lab/web:1"), "missing") == ""
        # An image the stacks need that no host holds gets a row of its own.
        screen = app.screen
        listing = {k: r for k, r in fleet_data.images().items() if "postgres:16" not in r.tags}
        screen.post_message(ConsoleScreen.Loaded("images", listing, []))
        await until(pilot, lambda: "-/postgres:16" in view.records, "the needed image row")
        assert isinstance(view.records["-/postgres:16"], NeededImage)
        assert cell(view, "-/postgres:16", "missing") == "lab1, lab2, lab3"
        assert cell(view, "-/postgres:16", "users") == "on no online host"


class FakeTransfers:
    """Stands in for `push_images` / `pull_images`: each transfer waits for `release`."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list[str]]] = []
        self.release = threading.Event()

    def __call__(self, fleet, images, targets, log) -> None:
        self.calls.append((list(images), list(targets)))
        started = [log.start("push", host, image) for host in targets for image in images]
        for transfer in started:
            log.progress(transfer, 3 << 20, 12 << 20, "read, 2.0MiB sent")
        self.release.wait(10)
        for transfer in started:
            if transfer.host == "lab3":
                log.end(transfer, False, f"{transfer.host}: disk full")
            else:
                log.end(transfer, True, f"{transfer.host}: {transfer.image} pushed from lab1")


async def test_push_asks_the_hosts_shows_progress_and_goes_on_when_the_pane_closes(
        console, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeTransfers()
    monkeypatch.setattr(images_ui, "push_images", fake)
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        view = await images_view(pilot)
        screen = app.screen
        await put_cursor(pilot, view, key_of(view, "lab1", "corral-lab/worker:1"))
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, HostChoiceScreen), "the host choice")
        choice = app.screen.query_one(SelectionList)
        assert choice.selected == ["lab2", "lab3"]  # where it is missing
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, TransfersScreen), "the transfers")
        await until(pilot, lambda: fake.calls, "the push started")
        assert fake.calls == [(["corral-lab/worker:1"], ["lab2", "lab3"])]
        pane = app.screen
        await until(pilot, lambda: "3.0MiB of 12.0MiB read, 2.0MiB sent" in str(
            pane.query_one("#lines").render()), "progress lines")
        text = str(pane.query_one("#lines").render())
        assert "push lab2 corral-lab/worker:1" in text and "ETA" in text
        await pilot.press("escape")  # leave the pane: the transfers go on
        await until(pilot, lambda: app.screen is screen, "back on the console")
        assert screen.transfers.running == 2
        await pilot.press("q")  # quitting would stop them: it asks first
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert "2 image transfers are still running" in app.screen.question
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen, "back on the console")
        assert app.is_running
        fake.release.set()
        await until(pilot, lambda: screen.transfers.running == 0, "the transfers end")
        await until(pilot, lambda: len(app._notifications) >= 2, "a notice per transfer")
        notes = [n.message for n in app._notifications]
        assert "lab2: corral-lab/worker:1 pushed from lab1" in notes
        assert "push corral-lab/worker:1 failed: lab3: disk full" in notes
        await pilot.press("T")  # the pane again, as things are now
        await until(pilot, lambda: isinstance(app.screen, TransfersScreen), "the pane again")
        text = str(app.screen.query_one("#lines").render())
        assert "✓ lab2: corral-lab/worker:1 pushed from lab1" in text
        assert "✖ push corral-lab/worker:1 failed: lab3: disk full" in text


async def test_pull_offers_the_hosts_lacking_the_image(console,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeTransfers()
    fake.release.set()
    monkeypatch.setattr(images_ui, "pull_images", fake)
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        view = await images_view(pilot)
        await put_cursor(pilot, view, key_of(view, "lab2", "postgres:16"))
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, HostChoiceScreen), "the host choice")
        await pilot.press("space")  # untick lab1 (the cursor's first host)
        await pilot.press("y")
        await until(pilot, lambda: fake.calls, "the pull")
        assert fake.calls == [(["postgres:16"], ["lab3"])]


async def test_remove_unused_keeps_those_in_use_and_asks_naming_host_and_image(
        console, monkeypatch: pytest.MonkeyPatch) -> None:
    removed: list[tuple[str, list[HostImage]]] = []

    def held(session) -> list[HostImage]:
        return [HostImage(session.name, f"sha256:{row.id}{'0' * 52}", row.tags, row.size)
                for row in fleet_data.images().values() if row.host == session.name]

    def remove(session, images, *, readonly=False) -> RemoveReport:
        removed.append((session.name, images))
        return RemoveReport(session.name, removed=[i.tags[0] if i.tags else i.short_id
                                                   for i in images])

    monkeypatch.setattr(images_ui, "host_images", held)
    monkeypatch.setattr(images_ui, "remove_images", remove)
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        view = await images_view(pilot)
        unused = next(key for key, row in view.records.items()
                      if isinstance(row, ImageRow) and not row.tags)
        in_use = key_of(view, "lab1", "corral-lab/worker:1")
        for key in (unused, in_use):
            await put_cursor(pilot, view, key)
            await pilot.press("space")
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        # The toast is a message to the app: it may land after the question shows.
        await until(pilot, lambda: any("lab1: corral-lab/worker:1 kept: used by shop-worker-1"
                                       in n.message for n in app._notifications), "the note")
        question = app.screen
        assert question.question == "Remove 1 unused image from lab2? (1 in use kept)"
        assert question.objects == ["lab2: 9e1f00c4d2aa"]
        await pilot.press("y")
        await until(pilot, lambda: removed, "the removal")
        assert [(host, [i.short_id for i in images]) for host, images in removed] == \
            [("lab2", ["9e1f00c4d2aa"])]
        await until(pilot, lambda: any("removed 1 image(s): 9e1f00c4d2aa" in n.message
                                       for n in app._notifications), "what was removed")


async def test_read_only_hides_the_image_actions_and_nothing_reaches_the_gate(
        console, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeTransfers()
    monkeypatch.setattr(images_ui, "push_images", fake)
    tried = []
    guard.add_observer(lambda m, outcome, detail: tried.append(m.verb))
    app = console(True)
    async with app.run_test(size=SIZE) as pilot:
        view = await images_view(pilot)
        screen = app.screen
        for action in (("transfer", ("push",)), ("transfer", ("pull",)),
                       ("remove_unused", ())):
            assert view.check_action(*action) is False
        assert view.check_action("show_transfers", ()) is not False
        for key in ("p", "f", "ctrl+d"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen
    assert fake.calls == [] and tried == []
