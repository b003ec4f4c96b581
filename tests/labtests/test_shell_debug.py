"""A shell on a crash-looping container: the error in the pane, and a debug copy to look in."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from textual.app import ComposeResult

from corral.backends.inventory.load import load_inventory
from corral.backends.ssh.connect import SshSettings
from corral.tui.console.fleet_app import FleetApp
from corral.tui.console.widgets.terminal.pane import ShellPane, wait_for_shells
from tests.support.console import until
from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.support.shell_pane import prompt_ready, run
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab

DEBUG_OF = "io.corral.debug-of"


class OneShell(FleetApp):
    """One shell pane on the lab fleet."""

    def __init__(self, lab: Lab, target: str):
        settings = SshSettings(known_hosts=(str(lab.known_hosts),), connect_timeout=5)
        super().__init__(load_inventory(lab.inventory), settings)
        self.target = target

    def compose(self) -> ComposeResult:
        yield ShellPane(self.fleet, self.target)

    async def on_unmount(self) -> None:
        await asyncio.to_thread(wait_for_shells)  # before FleetApp closes the tunnels


@pytest.fixture
def crash_loop(lab: Lab):
    """A container on lab2 that exits 3 at once and is restarted for ever."""
    client = engine(lab.host("lab2").socket)
    name = f"crashy-{uuid.uuid4().hex[:6]}"
    volume = client.volumes.create(f"{name}-data")
    # Leave a file in the volume for the debug shell to find.
    client.containers.run("corral-lab/busybox:1", ["sh", "-c", "echo kept > /data/hello"],
                          volumes={volume.name: {"bind": "/data"}}, remove=True)
    container = client.containers.run(
        "corral-lab/busybox:1", ["sh", "-c", "echo boom; exit 3"], name=name, detach=True,
        environment={"DEBUG_MARK": "mark-42"}, volumes={volume.name: {"bind": "/data"}},
        restart_policy={"Name": "always"},
    )

    def restarting() -> bool:
        # Five restarts in, the engine waits seconds between two: no exec
        # slips into one of its millisecond runs.
        container.reload()
        return container.attrs["State"]["Restarting"] and container.attrs["RestartCount"] >= 5

    wait_until(restarting, "the container to crash-loop", timeout=30)
    yield client, container
    for leftover in client.containers.list(all=True, filters={"label": DEBUG_OF}):
        leftover.remove(force=True)
    container.remove(force=True)
    with contextlib.suppress(Exception):
        volume.remove(force=True)


def copies(client, original_id: str) -> list:
    return client.containers.list(all=True, filters={"label": f"{DEBUG_OF}={original_id}"})


async def test_crash_loop_says_why_and_offers_a_debug_copy_removed_with_the_pane(
    lab: Lab, crash_loop
) -> None:
    client, container = crash_loop
    app = OneShell(lab, f"lab2/{container.name}")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(ShellPane)
        await until(pilot, lambda: pane.ended, "the shell to fail", timeout=20)
        body = str(pane.query_one("#shell-failure").render())
        assert "is restarting, wait until the container is running" in body
        assert f"{container.name} is restarting (last exit code 3" in body
        assert "d: open a debug shell" in body

        await pilot.press("d")
        await until(pilot, lambda: prompt_ready(pane), "the debug shell's prompt", timeout=30)
        (copy,) = copies(client, container.id)
        assert copy.status == "running"
        assert copy.name == pane.debug_copy and "DEBUG COPY" in pane.border_title
        assert copy.attrs["Config"]["Entrypoint"] == ["sh"]
        assert copy.attrs["HostConfig"]["RestartPolicy"]["Name"] == "no"
        await run(pilot, pane, "echo $DEBUG_MARK", "mark-42")  # same environment
        await run(pilot, pane, "cat /data/hello", "kept")  # same mounts
        container.reload()
        assert container.attrs["State"]["Restarting"] or container.status == "running"

        await pane.remove()
        await asyncio.to_thread(
            wait_until, lambda: not copies(client, container.id), "the copy to be removed",
            timeout=20,
        )
