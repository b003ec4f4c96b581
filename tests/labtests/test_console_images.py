"""The console's `:images` on the lab (issue 13, console): MISSING ON for an image a
stack needs, `p` pushing it to the hosts lacking it (they come ticked) with the
transfers pane, and `ctrl+d` removing an unused copy only after asking, the copy
in use kept."""

from __future__ import annotations

import uuid

import docker
import pytest
from textual.widgets import SelectionList

from corral.backends import guard
from corral.tui.console.screens.host_choice import HostChoiceScreen
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.screens.transfers import TransfersScreen
from tests.support.console import SIZE, command, console, online, until, view
from tests.support.images import MB, build_layered_image, remove_image
from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.support.pilot import kept_notifications

pytestmark = pytest.mark.lab


@pytest.fixture
def needed(lab: Lab):
    """An image built on lab1 only, used there by a container of a (Compose-labelled) stack."""
    suffix = uuid.uuid4().hex[:6]
    image = f"corral-test/cimg-{suffix}:1"
    lab1 = engine(lab.host("lab1").socket)
    build_layered_image(lab1, *image.split(":"), big_bytes=2 * MB)
    user = lab1.containers.run(image, ["sleep", "600"], name=f"cimg-{suffix}", detach=True,
                               labels={"com.docker.compose.project": f"cimg{suffix}",
                                       "com.docker.compose.service": "app"})
    yield image, user.name
    user.remove(force=True)
    for host in lab.hosts:
        remove_image(engine(host.socket), image)


def image_id(lab: Lab, host: str, ref: str) -> str | None:
    try:
        return engine(lab.host(host).socket).api.inspect_image(ref)["Id"]
    except docker.errors.NotFound:
        return None


def cell(table, key: str, column: str) -> str:
    value = table.get_cell(key, column)
    return getattr(value, "plain", str(value))


async def test_push_to_the_hosts_lacking_it_then_remove_unused_asks(lab: Lab, needed) -> None:
    image, user = needed
    others = [host.name for host in lab.hosts if host.name != "lab1"]
    verbs: list[tuple[str, str]] = []  # every image change passes the gate
    guard.add_observer(lambda m, outcome, detail: verbs.append((m.verb, outcome)))
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        images = view(app, "images")
        await command(pilot, "images")
        key = f"lab1/{image}"
        await until(pilot, lambda: key in images.records and images.row_count, "the image")
        await until(pilot, lambda: cell(images, key, "missing") == ", ".join(others),
                    "MISSING ON")

        images.move_cursor(row=images.get_row_index(key), animate=False)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, HostChoiceScreen), "the host choice")
        assert app.screen.query_one(SelectionList).selected == others
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, TransfersScreen), "the transfers")
        transfers = app.screen.transfers
        await until(pilot, lambda: len(transfers.lines()) == len(others)
                    and transfers.running == 0, "the pushes to end", timeout=90)
        lines = [text for _, text in transfers.lines()]
        assert all(state == "done" for state, _ in transfers.lines()), lines
        assert all(" pushed from lab1: " in text for text in lines), lines
        wanted = image_id(lab, "lab1", image)
        assert all(image_id(lab, host, image) == wanted for host in others)
        await pilot.press("escape")
        # The listing is read again: nothing is missing any more.
        await until(pilot, lambda: f"{others[0]}/{image}" in images.records
                    and cell(images, key, "missing") == "", "MISSING ON cleared")

        # Remove: lab1's copy is in use (kept, said), lab2's is not (asked first).
        copy = f"{others[0]}/{image}"
        for row in (key, copy):
            images.move_cursor(row=images.get_row_index(row), animate=False)
            await pilot.press("space")
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert app.screen.objects == [f"{others[0]}: {image}"]
        # The toast is a message to the app: it may land after the question shows.
        await until(pilot, lambda: any(f"lab1: {image} kept: used by {user}" in n.message
                                       for n in kept_notifications(app)), "the note")
        await pilot.press("n")
        await pilot.pause(0.5)
        assert image_id(lab, others[0], image) == wanted  # not asked yes: still there
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question again")
        await pilot.press("y")
        await until(pilot, lambda: image_id(lab, others[0], image) is None, "the copy removed")
        assert image_id(lab, "lab1", image) == wanted
    assert [verb for verb, outcome in verbs if verb.startswith("image.")] == \
        ["image.push"] * len(others) + ["image.rm"]
