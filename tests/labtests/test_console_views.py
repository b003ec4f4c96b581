"""Console views on the lab (issue 12): stack records in `:volumes`, container state
columns and describe, the events view's history."""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path

import pytest

from corral.backends import labels as L
from corral.backends.engine.actions import act
from corral.backends.errors import ActionRefused
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.screens.text_search import SearchableTextScreen
from tests.support.console import SIZE, command, console, online, told, until, view
from tests.support.deploy import corral_on as corral
from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab

COMPOSE = """\
version: '2'
services:
  idle:
    image: corral-lab/busybox:1
    command: ["sleep", "3600"]
"""


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:6]


@pytest.fixture
def small_stack(lab: Lab, unique: str, tmp_path: Path):
    """A one-container stack deployed with `corral deploy`; removed afterwards."""
    stack = f"rec{unique}"
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    result = corral(lab, "deploy", str(tmp_path), "--stack", stack, "--yes")
    assert result.returncode == 0, result.stderr
    yield stack
    corral(lab, "rm", stack, "--yes")


def records_of(lab: Lab, stack: str) -> list[tuple[str, str]]:
    """(host, volume) of the stack's record volumes, as the engines see them."""
    return [(host.name, v.name) for host in lab.hosts
            for v in engine(host.socket).volumes.list(filters={"label": f"{L.RECORD}={stack}"})]


async def test_stack_record_is_hidden_and_its_removal_refused(lab: Lab, small_stack: str) -> None:
    records = records_of(lab, small_stack)
    assert records, "the deploy wrote no record volume"
    host, name = records[0]
    key = f"{host}/{name}"
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        await command(pilot, "volumes")
        volumes = view(app, "volumes")
        await until(pilot, lambda: key in volumes.records, "the record volume to be read")
        # Hidden by default...
        assert key not in volumes.rows
        assert "stack records hidden" in str(volumes.border_subtitle)
        # ...shown by the toggle, marked as a record.
        await pilot.press("R")
        await until(pilot, lambda: key in volumes.rows, "the record volume to show")
        assert f"record of stack {small_stack}" in str(volumes.get_row(key)[5])
        await pilot.press("slash", *name, "enter")
        await until(pilot, lambda: volumes.row_count == 1, "the record alone")
        before = len(told(app))
        await pilot.press("ctrl+d")
        with contextlib.suppress(AssertionError):
            await until(pilot, lambda: any(f"corral rm {small_stack}" in m
                                           for m in told(app)[before:]), "the refusal")
        assert not isinstance(app.screen, ConfirmScreen)
        messages = told(app)[before:]
        assert any(f"corral rm {small_stack}" in m for m in messages), messages
        # Whatever the path, the backend refuses it too.
        refusal = f"remove the stack instead: corral rm {small_stack}"
        with pytest.raises(ActionRefused, match=refusal):
            act(app.fleet.session(host), "volume.remove", name)
    assert records_of(lab, small_stack) == records
    # Removing the stack takes its records with it.
    assert corral(lab, "rm", small_stack, "--yes").returncode == 0
    assert records_of(lab, small_stack) == []


async def test_events_view_opens_on_the_last_hour(lab: Lab, unique: str) -> None:
    # Something happens on lab1 before the console opens, longer ago than the
    # live stream reaches back.
    client = engine(lab.host("lab1").socket)
    name = f"ev-{unique}"
    container = client.containers.run("corral-lab/busybox:1", ["true"], name=name, detach=True)
    container.wait(timeout=30)
    container.remove()
    time.sleep(4)
    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "events")
        events = view(app, "events")

        def listed() -> set[str]:
            return {record.action for _, record in events.visible()
                    if record.host == "lab1" and record.actor == name}

        await until(pilot, lambda: {"create", "start", "die", "destroy"} <= listed(),
                    "the earlier events of the container")
        # Each event once, though the live stream also starts a little in the past.
        actions = [record.action for _, record in events.visible() if record.actor == name]
        assert len(actions) == len(set(actions)), actions


async def test_a_crash_looping_container_shows_restarts_exit_and_a_description(
    lab: Lab, unique: str
) -> None:
    client = engine(lab.host("lab3").socket)
    name = f"crash-{unique}"
    crasher = client.containers.run(
        "corral-lab/busybox:1", ["sh", "-c", "exit 3"], name=name, detach=True,
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 2})
    try:
        def given_up() -> bool:
            crasher.reload()
            return crasher.status == "exited" and crasher.attrs["RestartCount"] == 2

        wait_until(given_up, "the engine to give up restarting", 30)
        app = console(lab)
        async with app.run_test(size=SIZE) as pilot:
            containers = view(app, "containers")
            key = f"lab3/{crasher.id[:12]}"

            def restarts() -> str:
                return str(containers.get_cell(key, "restarts")) if key in containers.rows else ""

            await until(pilot, lambda: restarts() == "2", "the restart count")
            assert str(containers.get_cell(key, "exit")) == "3"
            assert str(containers.get_cell(key, "since")).endswith("s")
            await pilot.press("slash", *name, "enter")
            await until(pilot, lambda: containers.row_count == 1, "the crasher alone")
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, SearchableTextScreen), "describe")
            text = app.screen.text
            for expected in (f"lab3/{name}", "State:       exited", "code 3: the process failed",
                             "OOM killed:  no", "Restarts:    2  (policy: on-failure, at most 2)",
                             "die  exit 3"):
                assert expected in text, (expected, text)
    finally:
        crasher.remove(force=True)
