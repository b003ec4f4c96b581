"""One engine under two inventory names, the console following its inventory, pausing a host.

`lab1b` is lab1's engine reached through lab1's second sshd (port 2222). Added
under that second name, Corral used to count lab1's containers twice and its
health loop removed and recreated the stack's containers every few seconds.
Now engines are told apart by their `docker info` ID: the second name is
refused, and a hand-written one stops every change until it is removed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from textual.widgets import Input

from corral.backends import labels as L
from corral.backends.inventory.load import load_inventory
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.screens.add_host import AddHostScreen
from corral.tui.console.widgets.health_watch import ACTING, BLOCKED, HealthWatch
from corral.tui.console.widgets.host_bar import HostBar
from tests.support.console import SIZE, command, online, until, view
from tests.support.deploy import corral_here
from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.support.pilot import kept_notifications

pytestmark = pytest.mark.lab

STACK = "dup"
COMPOSE = """\
version: '2'
services:
  web:
    image: corral-lab/busybox:1
    command: ["sleep", "3600"]
    labels:
      io.rancher.scheduler.affinity:container_label_ne: io.rancher.stack_service.name=dup/web
"""
RANCHER = """\
version: '2'
catalog:
  name: dup
  version: "1"
services:
  web:
    scale: 3
"""


#: Seconds between the console's health passes here (5 s in use): "several passes
#: later" is counted in passes, not waited for in seconds.
PASS_SECONDS = 1.0


@pytest.fixture(autouse=True)
def quick_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(HealthWatch.__init__.__kwdefaults__, "interval", PASS_SECONDS)


def counted_passes(watch: HealthWatch) -> list[int]:
    """`[n]`: how many health passes of `watch` have ended since (refused ones too)."""
    ended = [0]
    run = watch.data.health_pass

    def counted(changed: bool = True):
        try:
            return run(changed)
        finally:
            ended[0] += 1

    watch.data.health_pass = counted
    return ended


async def passes(pilot, ended: list[int], count: int, what: str) -> None:
    """Let `count` more health passes end."""
    target = ended[0] + count
    await until(pilot, lambda: ended[0] >= target, what, timeout=30 + 5 * count)


def lab1b(lab: Lab) -> dict:
    """lab1's engine under a second name: lab1's address, its second sshd."""
    host = lab.host("lab1")
    return {"name": "lab1b", "ssh": f"root@{host.address}:{host.ssh_port_nostream}",
            "identity": str(lab.key), "socket": host.socket}


@pytest.fixture(scope="module")
def inventory(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the lab's inventory this module edits, with the stack deployed on it."""
    folder = tmp_path_factory.mktemp("dup")
    path = folder / "inventory.yaml"
    shutil.copy(lab.inventory, path)
    (folder / "docker-compose.yml").write_text(COMPOSE)
    (folder / "rancher-compose.yml").write_text(RANCHER)
    result = corral(lab, path, "deploy", str(folder), "--stack", STACK, "--yes")
    assert result.returncode == 0, result.stderr
    yield path
    write_hosts(path, [h for h in hosts_of(path) if h["name"] != "lab1b"])
    corral(lab, path, "rm", STACK, "--yes")


def corral(lab: Lab, inventory: Path, *args: str):
    return corral_here(*args, "--inventory", str(inventory), "--known-hosts",
                       str(lab.known_hosts))


def hosts_of(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text())["hosts"]


def write_hosts(path: Path, hosts: list[dict]) -> None:
    # A new file renamed into place, as editors save.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump({"hosts": hosts}, sort_keys=False))
    tmp.replace(path)


def stack_ids(lab: Lab) -> dict[str, str]:
    """name -> id of the stack's containers, read from the engines themselves."""
    return {c.name: c.id for host in lab.hosts for c in engine(host.socket).containers.list(
        all=True, filters={"label": f"{L.STACK}={STACK}"})}


def console_on(lab: Lab, inventory: Path) -> CorralApp:
    settings = SshSettings(known_hosts=(str(lab.known_hosts),), keepalive_interval=2,
                           connect_timeout=5)
    app = CorralApp(load_inventory(inventory), settings, Config())
    kept_notifications(app)  # read after long waits: an expired toast still counts
    return app


def test_hosts_add_refuses_a_second_name_for_an_engine(lab: Lab, inventory: Path) -> None:
    before = inventory.read_bytes()
    spec = lab1b(lab)
    result = corral(lab, inventory, "hosts", "add", "lab1b", spec["ssh"], "--identity",
                    spec["identity"], "--socket", spec["socket"])
    assert result.returncode == 1, result.stdout
    assert "lab1b: not added:" in result.stderr
    assert "reaches the Docker engine of lab1" in result.stderr
    assert "nothing was written" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert inventory.read_bytes() == before


async def test_add_host_form_refuses_a_second_name_for_an_engine(
        lab: Lab, inventory: Path) -> None:
    before = inventory.read_bytes()
    spec = lab1b(lab)
    app = console_on(lab, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        await command(pilot, "hosts")
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, AddHostScreen)
        for field, value in {"name": "lab1b", "ssh": spec["ssh"], "identity": spec["identity"],
                             "socket": spec["socket"]}.items():
            form.query_one(f"#{field}", Input).value = value
        await pilot.pause()
        await pilot.click("#try")
        await until(pilot, lambda: form.report is not None, "the try")
        assert form.report.same_engine_as == "lab1"
        result = str(form.query_one("#result").render())
        assert "Not addable" in result and "engine of lab1" in result
        assert form.query_one("#save").disabled
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form
    assert inventory.read_bytes() == before


async def test_hand_written_duplicate_stops_all_acting_until_removed(
        lab: Lab, inventory: Path) -> None:
    before = stack_ids(lab)
    assert len(before) == 3
    app = console_on(lab, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        watch = app.screen.query_one(HealthWatch)
        ended = counted_passes(watch)
        bar = app.screen.query_one(HostBar)
        await until(pilot, lambda: str(watch.render()) == ACTING and watch.running is False,
                    "a first health pass")

        # Written by hand, behind Corral's back: the console follows the file.
        write_hosts(inventory, [*hosts_of(inventory), lab1b(lab)])
        await until(pilot, lambda: "lab1b" in app.fleet.sessions, "the inventory reload")
        await until(pilot, lambda: app.fleet.sessions["lab1b"].online, "lab1b online")
        await until(pilot, lambda: str(watch.render()) == BLOCKED, "acting to stop", timeout=30)
        await until(pilot, lambda: "lab1b ⚠ same engine as lab1" in str(bar.render_statuses()),
                    "the host strip")
        assert any("same Docker engine" in n.message and n.severity == "error"
                   for n in kept_notifications(app))
        assert "lab1b is the same Docker engine as lab1" in str(watch.tooltip)

        # Several passes later nothing was removed or recreated.
        await passes(pilot, ended, 3, "three passes refused")
        assert str(watch.render()) == BLOCKED
        assert stack_ids(lab) == before

        # Every change is refused with the reason, in the console and on the command line.
        await command(pilot, "ps")
        await pilot.press("slash", *"lab1b", "enter")
        await until(pilot, lambda: view(app, "containers").row_count >= 1, "lab1b's rows")
        cli = corral(lab, inventory, "reconcile", "--yes")
        assert cli.returncode != 0
        assert "lab1b is the same Docker engine as lab1" in cli.stderr
        assert "Traceback" not in cli.stderr
        rm = corral(lab, inventory, "rm", STACK, "--yes")
        assert rm.returncode != 0 and "same Docker engine" in rm.stderr
        stacks = corral(lab, inventory, "stacks")
        assert stacks.returncode == 1 and STACK in stacks.stdout
        assert "count its containers twice" in stacks.stderr
        hosts = corral(lab, inventory, "hosts")
        assert hosts.returncode == 1
        assert "lab1b is the same Docker engine as lab1" in hosts.stderr
        assert stack_ids(lab) == before

        # Removing the second name (as `corral hosts rm` does) takes effect without a restart.
        removed = corral(lab, inventory, "hosts", "rm", "lab1b", "--yes")
        assert removed.returncode == 0, removed.stderr
        await until(pilot, lambda: "lab1b" not in app.fleet.sessions, "the reload")
        await until(pilot, lambda: "lab1b" not in str(bar.render_statuses()), "the host bar")
        await until(pilot, lambda: str(watch.render()) == ACTING, "acting again", timeout=30)
        assert not any(key.startswith("lab1b/") for key in view(app, "containers").records)
    assert stack_ids(lab) == before


async def test_console_started_with_a_duplicate_changes_nothing(
        lab: Lab, inventory: Path) -> None:
    # Before the fix, lab1's replica was removed within the first passes.
    before = stack_ids(lab)
    write_hosts(inventory, [*hosts_of(inventory), lab1b(lab)])
    try:
        app = console_on(lab, inventory)
        async with app.run_test(size=SIZE) as pilot:
            await online(pilot, app)
            watch = app.screen.query_one(HealthWatch)
            ended = counted_passes(watch)
            await until(pilot, lambda: str(watch.render()) == BLOCKED, "acting to stop")
            await passes(pilot, ended, 3, "three passes refused")
            assert stack_ids(lab) == before
    finally:
        write_hosts(inventory, [h for h in hosts_of(inventory) if h["name"] != "lab1b"])


async def test_paused_host_is_left_alone_until_resumed(lab: Lab, inventory: Path) -> None:
    app = console_on(lab, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        ended = counted_passes(app.screen.query_one(HealthWatch))
        await command(pilot, "hosts")
        hosts = view(app, "hosts")
        await until(pilot, lambda: "lab2" in hosts.records, "the hosts view")
        await pilot.press("slash", *"lab2", "enter")
        await until(pilot, lambda: hosts.row_count == 1, "lab2's row")
        await pilot.press("P")
        bar = app.screen.query_one(HostBar)
        assert "lab2 ⏸ paused" in str(bar.render_statuses())
        assert app.screen.flow.paused == {"lab2"}

        # Its replica goes away: the health pass would create it again, but not on lab2.
        lab2 = engine(lab.host("lab2").socket)
        (gone,) = lab2.containers.list(all=True, filters={"label": f"{L.STACK}={STACK}"})
        gone.remove(force=True)
        await passes(pilot, ended, 3, "three passes with lab2 paused")
        assert lab2.containers.list(all=True, filters={"label": f"{L.STACK}={STACK}"}) == []

        await pilot.press("P")
        assert "paused" not in str(bar.render_statuses())
        await until(pilot, lambda: len(lab2.containers.list(
            filters={"label": f"{L.STACK}={STACK}"})) == 1, "the replica back", timeout=30)
