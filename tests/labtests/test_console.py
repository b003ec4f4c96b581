"""Pilot tests of the console against the three-host lab."""

from __future__ import annotations

import contextlib
import uuid

import docker
import pytest

from corral.backends.engine.actions import ACTIONS, act
from corral.backends.errors import ActionRefused
from corral.tui.console.screens.modals import ConfirmScreen, TextScreen
from tests.support.console import SIZE, command, console, online, select, until, view
from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.support.pilot import events_followed, kept_notifications

pytestmark = pytest.mark.lab

def volume_in_use(client, name: str, user: str):
    """A volume and a (created, not started) container that mounts it."""
    volume = client.volumes.create(name)
    holder = client.containers.create("corral-lab/busybox:1", ["true"], name=user,
                                      volumes={volume.name: {"bind": "/data"}})
    return volume, holder


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:6]


@pytest.fixture
def sleeper(lab: Lab, unique: str):
    """A running container on lab2, named uniquely, removed afterwards."""
    client = engine(lab.host("lab2").socket)
    container = client.containers.run(
        "corral-lab/busybox:1", ["sleep", "3600"], name=f"c-{unique}", detach=True,
        labels={"io.corral.stack": f"st{unique}", "io.corral.service": "svc"},
    )
    yield container
    with contextlib.suppress(docker.errors.NotFound):
        container.remove(force=True)


def state_of(container) -> str | None:
    try:
        container.reload()
    except docker.errors.NotFound:
        return None
    return container.status


async def test_containers_view_lists_what_every_engine_reports(lab: Lab, sleeper) -> None:
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        containers = view(app, "containers")
        await until(pilot, lambda: f"lab2/{sleeper.id[:12]}" in containers.records, "sleeper")
        for host in lab.hosts:
            expected = {c.id[:12] for c in engine(host.socket).containers.list(all=True)}
            await until(
                pilot,
                lambda host=host, expected=expected: {
                    r.id for r in containers.records.values() if r.host == host.name
                } == expected,
                f"{host.name}'s containers",
            )
        # Kept live from events: a new container appears without any refresh.
        extra = engine(lab.host("lab1").socket).containers.run(
            "corral-lab/busybox:1", ["sleep", "3600"], detach=True
        )
        try:
            await until(pilot, lambda: f"lab1/{extra.id[:12]}" in containers.records, "extra")
            extra.remove(force=True)
            await until(pilot, lambda: f"lab1/{extra.id[:12]}" not in containers.records,
                        "extra removed")
        finally:
            with contextlib.suppress(docker.errors.NotFound):
                extra.remove(force=True)


async def test_hosts_stacks_volumes_images_views(lab: Lab, sleeper, unique: str) -> None:
    client = engine(lab.host("lab2").socket)
    volume, user = volume_in_use(client, f"v-{unique}", f"u-{unique}")
    app = console(lab)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await command(pilot, "hosts")
            hosts = view(app, "hosts")
            await until(pilot, lambda: len(hosts.records) == 3 and all(
                r.details is not None for r in hosts.records.values()), "host details")
            for host in lab.hosts:
                info = engine(host.socket).info()
                record = hosts.records[host.name]
                assert record.facts.docker_version == info["ServerVersion"]
                assert record.details.cpus == info["NCPU"]
                assert record.details.kernel == info["KernelVersion"]

            await command(pilot, "stacks")
            stacks = view(app, "stacks")
            await until(pilot, lambda: f"st{unique}/svc" in stacks.records, "the stack")
            assert [c.name for c in stacks.records[f"st{unique}/svc"].containers] == [
                f"c-{unique}"
            ]

            await command(pilot, "vol")
            volumes = view(app, "volumes")
            await until(pilot, lambda: f"lab2/{volume.name}" in volumes.records, "the volume")
            assert volumes.records[f"lab2/{volume.name}"].users == [f"u-{unique}"]

            await command(pilot, "images")
            images = view(app, "images")
            await until(pilot, lambda: len(images.records) >= 3 * len(lab.hosts), "images")
            tags = {t for r in images.records.values() if r.host == "lab3" for t in r.tags}
            assert "corral-lab/busybox:1" in tags
            busybox = next(r for r in images.records.values()
                           if r.host == "lab2" and "corral-lab/busybox:1" in r.tags)
            assert f"c-{unique}" in busybox.users
    finally:
        user.remove(force=True)
        volume.remove(force=True)


async def test_filter_inverts_and_escape_clears(lab: Lab, sleeper, unique: str) -> None:
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        containers = view(app, "containers")
        await until(pilot, lambda: f"lab2/{sleeper.id[:12]}" in containers.records, "sleeper")
        await select(pilot, app, "containers", f"c-{unique}")
        await pilot.press("slash", "ctrl+a", "exclamation_mark", "enter")
        await until(pilot, lambda: containers.row_count == len(containers.records) - 1,
                    "inverted filter")
        await pilot.press("escape")
        await until(pilot, lambda: containers.row_count == len(containers.records), "clear")


async def test_inspect_shows_the_engine_document(lab: Lab, sleeper, unique: str) -> None:
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        await select(pilot, app, "containers", f"c-{unique}")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, TextScreen), "inspect screen")
        assert sleeper.id in str(app.screen.body.code)


CONTAINER_ACTIONS = {
    "container.start": ("u", "exited", "running"),
    "container.stop": ("t", "running", "exited"),
    "container.restart": ("r", "running", "running"),
    "container.kill": ("ctrl+k", "running", "exited"),
    "container.remove": ("ctrl+d", "running", None),
}


@pytest.mark.parametrize("action_id", list(CONTAINER_ACTIONS))
async def test_container_action_changes_the_engine(
    lab: Lab, sleeper, unique: str, action_id: str
) -> None:
    key, before, after = CONTAINER_ACTIONS[action_id]
    if before == "exited":
        sleeper.kill()
    started = sleeper.attrs["State"]["StartedAt"]
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        await select(pilot, app, "containers", f"c-{unique}")
        await pilot.press(key)
        if ACTIONS[action_id].destructive:
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
            assert f"lab2/c-{unique}" in app.screen.objects
            await pilot.press("y")
        await until(pilot, lambda: state_of(sleeper) == after
                    and (action_id != "container.restart"
                         or sleeper.attrs["State"]["StartedAt"] != started),
                    f"{action_id} to take effect", timeout=30)


async def test_declining_the_confirmation_changes_nothing(lab: Lab, sleeper, unique) -> None:
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        await select(pilot, app, "containers", f"c-{unique}")
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the dismissal")
        # A duration, not a synchronisation: nothing must happen for a while
        # after declining (an action sent anyway would take effect within it).
        await pilot.pause(1.0)
        assert state_of(sleeper) == "running"


async def test_marked_rows_are_acted_on_together(lab: Lab, unique: str) -> None:
    client = engine(lab.host("lab3").socket)
    made = [client.containers.run("corral-lab/busybox:1", ["sleep", "3600"],
                                  name=f"m{i}-{unique}", detach=True) for i in range(3)]
    app = console(lab)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await online(pilot, app)
            await command(pilot, "ps")
            await pilot.press("slash", *unique, "enter")
            containers = view(app, "containers")
            await until(pilot, lambda: containers.row_count == 3, "three rows")
            await pilot.press("space", "space", "space")
            assert len(containers.marks) == 3
            await pilot.press("t")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
            assert len(app.screen.objects) == 3
            await pilot.press("y")
            await until(pilot, lambda: all(state_of(c) == "exited" for c in made), "all stop",
                        timeout=30)
    finally:
        for container in made:
            container.remove(force=True)


async def test_volume_and_image_removal(lab: Lab, unique: str) -> None:
    client = engine(lab.host("lab1").socket)
    volume = client.volumes.create(f"rm-{unique}")
    image = client.images.get("corral-lab/busybox:1")
    image.tag(f"corral-lab/scratch-{unique}", "1")
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        await select(pilot, app, "volumes", f"rm-{unique}")
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
        await pilot.press("y")
        await until(pilot, lambda: volume.name not in {v.name for v in client.volumes.list()},
                    "volume removed")
        await select(pilot, app, "images", f"scratch-{unique}")
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
        await pilot.press("y")
        await until(pilot, lambda: not client.images.list(f"corral-lab/scratch-{unique}"),
                    "image tag removed")


async def test_volume_in_use_is_refused_naming_its_users(lab: Lab, unique: str) -> None:
    client = engine(lab.host("lab1").socket)
    volume, user = volume_in_use(client, f"busy-{unique}", f"holder-{unique}")
    app = console(lab)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await online(pilot, app)
            await select(pilot, app, "volumes", f"busy-{unique}")
            await pilot.press("ctrl+d")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
            await pilot.press("y")
            await until(pilot, lambda: any(f"holder-{unique}" in n.message
                                           for n in kept_notifications(app)), "refusal")
            assert volume.name in {v.name for v in client.volumes.list()}
    finally:
        user.remove(force=True)
        volume.remove(force=True)


READONLY_KEYS = {
    "container.start": ("containers", "u"),
    "container.stop": ("containers", "t"),
    "container.restart": ("containers", "r"),
    "container.kill": ("containers", "ctrl+k"),
    "container.remove": ("containers", "ctrl+d"),
    "volume.remove": ("volumes", "ctrl+d"),
}


@pytest.mark.parametrize("action_id", list(READONLY_KEYS))
async def test_readonly_refuses(lab: Lab, sleeper, unique: str, action_id: str) -> None:
    view_name, key = READONLY_KEYS[action_id]
    client = engine(lab.host("lab2").socket)
    volume = client.volumes.create(f"ro-{unique}")
    if action_id == "container.start":
        sleeper.stop(timeout=1)
    state = state_of(sleeper)
    text = {"containers": f"c-{unique}", "volumes": f"ro-{unique}"}[view_name]
    app = console(lab, readonly=True)
    try:
        async with app.run_test(size=SIZE) as pilot:
            assert "READ-ONLY" in app.title
            await online(pilot, app)
            await select(pilot, app, view_name, text)
            current = view(app, view_name)
            # Absent from the bindings the footer and help show...
            assert current.check_action("request_action", (action_id,)) is False
            await pilot.press("question_mark")
            assert action_id not in str(app.screen.body.columns[2]._cells)
            await pilot.press("escape")
            # ...pressing the key does nothing...
            await pilot.press(key)
            # A duration, not a synchronisation: no confirmation and no change
            # must follow the key for a while.
            await pilot.pause(0.5)
            assert not isinstance(app.screen, ConfirmScreen)
            assert state_of(sleeper) == state
            assert volume.name in {v.name for v in client.volumes.list()}
            # ...and the backend refuses it whatever the path.
            session = app.fleet.session("lab2")
            ref = {"containers": sleeper.id, "volumes": volume.name}[view_name]
            with pytest.raises(ActionRefused):
                act(session, action_id, ref)
            assert state_of(sleeper) == state
    finally:
        volume.remove(force=True)


async def test_host_going_offline_keeps_the_console_usable(lab: Lab, sleeper) -> None:
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        containers = view(app, "containers")
        await until(pilot, lambda: f"lab2/{sleeper.id[:12]}" in containers.records, "sleeper")
        with lab.faulted("lab2", "sshd-stop"):
            await until(pilot, lambda: "lab2" in containers.stale, "lab2 stale", timeout=20)
            # Its rows stay, marked stale, and the console still works.
            assert f"lab2/{sleeper.id[:12]}" in containers.records
            assert "stale" in containers.describe()
            await command(pilot, "hosts")
            hosts = view(app, "hosts")
            await until(pilot, lambda: hosts.records.get("lab2") is not None
                        and hosts.records["lab2"].facts.state != "online", "lab2 offline")
            # The other hosts keep answering (a reconnect of theirs on a loaded
            # machine is allowed, so wait rather than sample once).
            await until(pilot, lambda: hosts.records["lab1"].facts.state == "online",
                        "lab1 online", timeout=30)
        await command(pilot, "ps")
        await until(pilot, lambda: "lab2" not in containers.stale, "lab2 back", timeout=30)


async def test_events_and_problems_only(lab: Lab, unique: str) -> None:
    client = engine(lab.host("lab3").socket)
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        await events_followed(pilot, [app.fleet.session("lab3")])
        failing = client.containers.run("corral-lab/busybox:1", ["sh", "-c", "exit 7"],
                                        name=f"fail-{unique}", detach=True)
        healthy = client.containers.run("corral-lab/busybox:1", ["true"],
                                         name=f"ok-{unique}", detach=True)
        try:
            await command(pilot, "events")
            events = view(app, "events")
            await until(pilot, lambda: any(
                e.actor == f"fail-{unique}" and e.action == "die"
                for e in events.records.values()), "the die event")
            newest = next(iter(events.visible()))[1]
            assert newest.time == max(e.time for e in events.records.values())

            await command(pilot, "ps")
            containers = view(app, "containers")
            await until(pilot, lambda: all(
                containers.records.get(f"lab3/{c.id[:12]}") is not None
                and containers.records[f"lab3/{c.id[:12]}"].state == "exited"
                for c in (failing, healthy)), "both exited")
            await pilot.press("p")
            shown = {record.name for _, record in containers.visible()}
            assert f"fail-{unique}" in shown and f"ok-{unique}" not in shown
            assert "problems only" in containers.describe()
        finally:
            failing.remove(force=True)
            healthy.remove(force=True)
