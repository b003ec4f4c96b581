"""Shell panes against the lab: a real busybox shell through each host's tunnel."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from textual.app import ComposeResult
from textual.containers import Horizontal

from corral.backends.inventory.load import load_inventory
from corral.backends.ssh.connect import SshSettings
from corral.tui.console.fleet_app import FleetApp
from corral.tui.console.widgets.terminal.pane import ShellPane, wait_for_shells
from tests.support.console import until
from tests.support.lab import Lab
from tests.support.lab_cli import engine, tty_sizes
from tests.support.shell_pane import cursor_row, prompt_ready, run
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab

NAME = "shell-t"
SIZE = (100, 30)


@pytest.fixture(scope="module")
def shells(lab: Lab):
    """A busybox container named `shell-t` on lab1, lab2 and lab3."""
    created = {}
    for host in ("lab1", "lab2", "lab3"):
        client = engine(lab.host(host).socket)
        with contextlib.suppress(Exception):
            client.containers.get(NAME).remove(force=True)
        created[host] = client.containers.run(
            "corral-lab/busybox:1", ["sleep", "3600"], name=NAME, detach=True
        )
    yield created
    for container in created.values():
        with contextlib.suppress(Exception):
            container.remove(force=True)


class ShellHost(FleetApp):
    """Shell panes side by side on the lab fleet, kept online."""

    def __init__(self, lab: Lab, *hosts: str, **pane_options):
        settings = SshSettings(
            known_hosts=(str(lab.known_hosts),), connect_timeout=5,
            keepalive_interval=1, keepalive_count_max=3,
        )
        super().__init__(load_inventory(lab.inventory), settings)
        self.hosts = hosts
        self.pane_options = pane_options
        self.closed: list[ShellPane.Closed] = []

    def compose(self) -> ComposeResult:
        with Horizontal():
            for host in self.hosts:
                yield ShellPane(self.fleet, f"{host}/{NAME}", id=host, **self.pane_options)

    def on_shell_pane_closed(self, message: ShellPane.Closed) -> None:
        self.closed.append(message)

    async def on_unmount(self) -> None:
        await asyncio.to_thread(wait_for_shells)  # before FleetApp closes the tunnels


def processes(container) -> list[str]:
    return [row[-1] for row in container.top()["Processes"]]


async def started(pilot, host: str = "lab1") -> ShellPane:
    pane = pilot.app.query_one(f"#{host}", ShellPane)
    await until(pilot, lambda: prompt_ready(pane), f"the prompt on {host}", timeout=20)
    return pane


async def test_echo_hi(lab: Lab, shells) -> None:
    async with ShellHost(lab, "lab1").run_test(size=SIZE) as pilot:
        pane = await started(pilot)
        assert pane.border_title == "lab1/shell-t · shell"
        await run(pilot, pane, "echo hi", "hi")


async def test_stty_size_follows_the_pane(lab: Lab, shells) -> None:
    async with ShellHost(lab, "lab1").run_test(size=SIZE) as pilot:
        pane = await started(pilot)
        size = pane.view.size
        await run(pilot, pane, "stty size", f"{size.height} {size.width}")
        await pilot.resize_terminal(80, 20)
        await until(pilot, lambda: pane.view.size.width == 78, "the resize")
        await until(pilot, lambda: (18, 78) in tty_sizes(shells["lab1"]),
                    "the exec's terminal to be 18x78")
        await run(pilot, pane, "clear; stty size", "18 78")


async def test_arrow_up_recalls_history(lab: Lab, shells) -> None:
    async with ShellHost(lab, "lab1").run_test(size=SIZE) as pilot:
        pane = await started(pilot)
        await run(pilot, pane, "echo recalled-$((40+2))", "recalled-42")
        await pilot.press("up")
        await until(
            pilot, lambda: cursor_row(pane) == "/ # echo recalled-$((40+2))", "the recalled line"
        )
        await pilot.press("enter")
        await until(
            pilot, lambda: pane.view.screen_lines().count("recalled-42") == 2, "the second run"
        )


async def test_vi_uses_the_alternate_screen_and_q_restores_the_shell(lab: Lab, shells) -> None:
    async with ShellHost(lab, "lab1").run_test(size=SIZE) as pilot:
        pane = await started(pilot)
        terminal = pane.view.terminal
        await run(pilot, pane, "echo before-vi", "before-vi")
        await pilot.press(*"vi /tmp/notes", "enter")
        await until(pilot, lambda: terminal.in_alternate and "~" in pane.view.screen_lines(),
                    "vi's screen")
        assert "before-vi" not in pane.view.screen_lines()
        await pilot.press("i", *"typed in vi", "escape")
        # vi waits a moment after ESC for the rest of a key sequence (as it
        # does with any terminal): let it see a lone ESC before typing on.
        await until(
            pilot,
            lambda: pane.view.screen_lines()[0] == "typed in vi"
            and pane.view.screen_lines()[-1].startswith("-"),
            "command mode",
        )
        await pilot.press(*":q!", "enter")
        await until(pilot, lambda: not terminal.in_alternate and prompt_ready(pane), "the shell")
        assert "before-vi" in pane.view.screen_lines()


async def test_top_renders_and_q_quits(lab: Lab, shells) -> None:
    async with ShellHost(lab, "lab1").run_test(size=SIZE) as pilot:
        pane = await started(pilot)
        await pilot.press(*"top", "enter")
        await until(
            pilot,
            lambda: any("PID" in row and "COMMAND" in row for row in pane.view.screen_lines())
            and any(row.startswith("Mem:") for row in pane.view.screen_lines()),
            "top's table",
        )
        await pilot.press("q")
        await until(pilot, lambda: prompt_ready(pane), "the prompt after top")


async def test_ctrl_c_interrupts_sleep(lab: Lab, shells) -> None:
    async with ShellHost(lab, "lab1").run_test(size=SIZE) as pilot:
        pane = await started(pilot)
        await pilot.press(*"sleep 100", "enter")
        await until(pilot, lambda: "sleep 100" in processes(shells["lab1"]), "sleep to start")
        start = time.monotonic()
        await pilot.press("ctrl+c")
        await until(pilot, lambda: prompt_ready(pane), "the prompt after Ctrl-C", timeout=30)
        assert time.monotonic() - start < 30  # interrupted: not the 100 s sleep
        await run(pilot, pane, "echo status=$?", "status=130")


async def test_exit_3_shows_the_exit_code(lab: Lab, shells) -> None:
    app = ShellHost(lab, "lab1")
    async with app.run_test(size=SIZE) as pilot:
        pane = await started(pilot)
        await pilot.press(*"exit 3", "enter")
        await until(pilot, lambda: pane.ended, "the shell to exit")
        assert pane.border_subtitle == "exited with code 3 — press a key to close"
        await pilot.press("space")
        assert [message.exit_code for message in app.closed] == [3]


async def test_two_hosts_side_by_side_reach_their_own_containers(lab: Lab, shells) -> None:
    async with ShellHost(lab, "lab1", "lab2").run_test(size=(140, 24)) as pilot:
        panes = [await started(pilot, "lab1"), await started(pilot, "lab2")]
        for pane in panes:
            # A container's hostname is its short id: unique to that engine.
            expected = shells[pane.target.host].id[:12]
            await run(pilot, pane, "cat /etc/hostname", expected)
        left, right = (pane.region for pane in panes)
        assert left.right <= right.x


async def test_user_and_command_are_honoured(lab: Lab, shells) -> None:
    app = ShellHost(lab, "lab1", user="nobody", command=("sh", "-c", "id -un; exit 5"))
    async with app.run_test(size=SIZE) as pilot:
        pane = pilot.app.query_one("#lab1", ShellPane)
        await until(pilot, lambda: pane.ended, "the command to finish", timeout=20)
        assert "nobody" in pane.view.screen_lines()
        assert pane.exit_code == 5


async def test_closing_the_pane_ends_what_runs_in_it(lab: Lab, shells) -> None:
    async with ShellHost(lab, "lab2").run_test(size=SIZE) as pilot:
        pane = await started(pilot, "lab2")
        await pilot.press(*"sleep 1001", "enter")
        await until(pilot, lambda: "sleep 1001" in processes(shells["lab2"]), "sleep to run")
        await pane.remove()
    # Docker keeps an exec's process when its connection closes; the pane
    # must have hung it up.
    alone = ["/sbin/docker-init -- sleep 3600", "sleep 3600"]
    try:
        wait_until(lambda: processes(shells["lab2"]) == alone, "the exec's processes to end",
                   step=0.2)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; left behind: {processes(shells['lab2'])}") from None


async def test_a_dropped_link_is_reported(lab: Lab, shells) -> None:
    async with ShellHost(lab, "lab3").run_test(size=SIZE) as pilot:
        pane = await started(pilot, "lab3")
        with lab.faulted("lab3", "link-down"):
            await until(pilot, lambda: pane.ended, "the pane to notice the drop", timeout=20)
            assert pane.lost
            await until(pilot, lambda: "waiting for lab3" in str(pane.border_subtitle),
                        "the pane to say it waits")
            assert pane.border_subtitle == (
                "waiting for lab3… · connection to lab3 lost — press a key to close")
        await until(pilot, lambda: "lab3 is back" in str(pane.border_subtitle), "lab3 back",
                    timeout=20)
