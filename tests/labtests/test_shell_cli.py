"""`corral exec` and `corral shell` against the lab: exit codes, pipes, a real TTY."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from corral.backends.exec.target import ContainerTarget
from corral.backends.inventory.load import load_inventory
from corral.backends.ssh.connect import SshSettings
from corral.tui.console.widgets.terminal.app import ShellApp
from corral.tui.console.widgets.terminal.pane import ShellPane
from tests.support.console import until
from tests.support.lab import Lab
from tests.support.lab_cli import engine, run_corral, tty_sizes
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab

NAME = "shell-cli-t"


@pytest.fixture(scope="module")
def box(lab: Lab):
    """A busybox container `shell-cli-t` on lab1."""
    client = engine(lab.host("lab1").socket)
    with contextlib.suppress(Exception):
        client.containers.get(NAME).remove(force=True)
    container = client.containers.run(
        "corral-lab/busybox:1", ["sleep", "3600"], name=NAME, detach=True
    )
    yield container
    container.remove(force=True)


def corral_exec(lab: Lab, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return run_corral("exec", *lab.corral_args(), *args, **kwargs)


def test_exec_passes_the_exit_code_and_keeps_streams_apart(lab: Lab, box) -> None:
    result = corral_exec(lab, f"lab1/{NAME}", "--", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert result.returncode == 7
    assert (result.stdout, result.stderr) == ("out\n", "err\n")


def test_exec_takes_options_after_the_target(lab: Lab, box) -> None:
    """The README's synopsis: `corral exec HOST/CONTAINER [-u USER] [-T] [-- CMD...]`."""
    no_tty = corral_exec(lab, f"lab1/{NAME}", "-T", "--", "sh", "-c", "echo out; echo err >&2")
    assert no_tty.returncode == 0, no_tty.stderr
    assert (no_tty.stdout, no_tty.stderr) == ("out\n", "err\n")
    user = corral_exec(lab, f"lab1/{NAME}", "-u", "1234", "--", "id", "-u")
    assert user.returncode == 0, user.stderr
    assert user.stdout == "1234\n"
    both = corral_exec(lab, f"lab1/{NAME}", "-u", "1234:5", "-T", "--", "id", "-g")
    assert both.returncode == 0, both.stderr
    assert both.stdout == "5\n"


def test_exec_forwards_piped_input(lab: Lab, box) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "corral.tui.cli.main", "exec", *lab.corral_args(), f"lab1/{NAME}",
         "--", "sh", "-c", "wc -l"],
        input="a\nb\nc\n", capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_exec_errors_are_one_line(lab: Lab, box) -> None:
    missing = corral_exec(lab, "lab1/no-such-box", "--", "true")
    assert missing.returncode == 1
    assert missing.stderr == "corral: lab1: No such container: no-such-box\n"
    bad = corral_exec(lab, NAME, "--", "true")
    assert bad.returncode == 2
    assert bad.stderr.startswith("corral: bad target 'shell-cli-t': expected HOST/CONTAINER")
    unknown = corral_exec(lab, f"lab9/{NAME}")
    assert unknown.returncode == 2 and "no host named 'lab9'" in unknown.stderr


def _set_size(fd: int, rows: int, columns: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def test_exec_in_a_terminal_is_raw_sized_and_exits_with_the_shells_code(lab: Lab, box) -> None:
    command = [sys.executable, "-m", "corral.tui.cli.main", "exec", *lab.corral_args(),
               f"lab1/{NAME}"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: corral in a pseudo-terminal, as from a user's shell
        os.execvpe(command[0], command, dict(os.environ, TERM="xterm"))
    _set_size(fd, 33, 101)
    seen = bytearray()

    def read_until(marker: bytes, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while marker not in seen:
            assert time.monotonic() < deadline, f"no {marker!r} in {bytes(seen[-300:])!r}"
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    return
                seen.extend(chunk)
                if b"\x1b[6n" in chunk:  # busybox asks where the cursor is
                    os.write(fd, b"\x1b[1;5R")

    def prompt() -> None:
        read_until(b"\x1b[6n")
        del seen[:]
        # busybox drops keys that reach it in the same read as the answer to
        # its cursor query (so does every terminal's user who types that
        # fast); type as a person would, a moment after the prompt. A
        # duration, not a synchronisation: nothing outside busybox tells when
        # it has read the answer.
        time.sleep(0.3)

    try:
        prompt()
        os.write(fd, b"stty size\r")
        read_until(b"33 101")
        prompt()
        _set_size(fd, 40, 120)
        os.kill(pid, 28)  # SIGWINCH, as the terminal would send
        wait_until(lambda: (40, 120) in tty_sizes(box), "the exec's terminal to be 40x120")
        os.write(fd, b"stty size\r")
        read_until(b"40 120")
        prompt()
        os.write(fd, b"exit 5\r")
        read_until(b"exit 5\r\n")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 5
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)


def test_closing_the_terminal_ends_the_command_in_the_container(lab: Lab, box) -> None:
    command = [sys.executable, "-m", "corral.tui.cli.main", "exec", *lab.corral_args(),
               f"lab1/{NAME}", "--", "sleep", "1002"]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(command[0], command, dict(os.environ, TERM="xterm"))
    try:
        deadline = time.monotonic() + 20
        while not any("sleep 1002" in row[-1] for row in box.top()["Processes"]):
            assert time.monotonic() < deadline, "sleep never started"
            with contextlib.suppress(OSError):
                if select.select([fd], [], [], 0.2)[0]:
                    os.read(fd, 65536)
        os.kill(pid, signal.SIGHUP)  # what closing a terminal window does
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 128 + signal.SIGHUP
        wait_until(lambda: not any("sleep 1002" in row[-1] for row in box.top()["Processes"]),
                   "the command to end with corral (it outlived it)", step=0.2)
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)


async def test_shell_full_screen_exits_with_the_shells_code(lab: Lab, box) -> None:
    settings = SshSettings(known_hosts=(str(lab.known_hosts),), connect_timeout=5)
    app = ShellApp(load_inventory(lab.inventory), settings, ContainerTarget("lab1", NAME))
    async with app.run_test(size=(90, 24)) as pilot:
        pane = app.query_one(ShellPane)
        view = pane.view
        await until(pilot, lambda: "/ #" in view.screen_lines(), "the prompt", timeout=20)
        await pilot.press("ctrl+right_square_bracket")
        assert app.focused is None
        await pilot.press("enter")
        assert app.focused is view
        await pilot.press(*"exit 4", "enter")
        await until(pilot, lambda: pane.ended, "the shell to exit")
        await pilot.press("enter")
    assert app.return_code == 4
