"""The console in a real terminal (tmux) against the lab, read back with capture-pane."""

from __future__ import annotations

import os
import sys

import pytest

from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.support.tmux import TmuxTerminal, tmux_available
from tests.support.workloads import BUSYBOX, WEB, remove_workload, run, stack_labels

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(not tmux_available(), reason="needs tmux (run `make deps`)"),
]

WORKLOAD = f"tmux-{os.getpid()}"
PLACEHOLDER = {":": r"(?m)^ command \(hosts", "/": r"(?m)^ filter: regex"}


@pytest.fixture(scope="module")
def containers(lab: Lab):
    """A web replica on lab1 and a database on lab2, with a volume, made on their own engines."""
    first, second = lab.hosts[0], lab.hosts[1]
    web = engine(first.socket)
    run(web, WORKLOAD, "tmuxweb-1", WEB, labels=stack_labels(WORKLOAD, "tmuxshop", "web"))
    db = engine(second.socket)
    db.volumes.create("tmuxdata", labels={"io.corral.test.workload": WORKLOAD})
    run(db, WORKLOAD, "tmuxdb-1", BUSYBOX, command=["sleep", "3600"],
        labels=stack_labels(WORKLOAD, "tmuxshop", "db"),
        volumes={"tmuxdata": {"bind": "/data", "mode": "rw"}})
    yield
    remove_workload([host.socket for host in lab.hosts], WORKLOAD)


@pytest.fixture
def terminal(lab: Lab, containers):
    """`corral` on the lab in a 160x45 tmux terminal."""
    term = TmuxTerminal([sys.executable, "-m", "corral.tui.cli.main", *lab.corral_args()],
                        160, 45)
    yield term
    term.close()


def rows(screen: str, name: str) -> list[str]:
    """The screen lines that mention `name`."""
    return [line.strip(" │") for line in screen.splitlines() if name in line]


def command(term: TmuxTerminal, mode: str, text: str) -> None:
    """Open the `:` or `/` line, type, press enter.

    Typing before the line has focus would send the keys to the table, so
    wait for the line's placeholder (it shows only while the line is open
    and empty: callers clear any filter first).
    """
    term.type(mode)
    term.wait_for(PLACEHOLDER[mode], 5, f"the {mode} line to open")
    term.type(text)
    term.keys("Enter")


def test_console_in_tmux_switches_views_and_filters(lab: Lab, terminal: TmuxTerminal) -> None:
    names = [host.name for host in lab.hosts]
    screen = terminal.wait_for(  # every host online: a host with no rows may lag
        lambda s: "tmuxweb-1" in s and "tmuxdb-1" in s
        and f"{len(names)}/{len(names)} online" in s, 30, "both containers, hosts online"
    )
    assert f"{len(names)}/{len(names)} online" in screen
    assert rows(screen, "tmuxweb-1")[0].split()[:2] == [names[0], "tmuxweb-1"]
    assert "tmuxshop/db" in rows(screen, "tmuxdb-1")[0]

    command(terminal, ":", "hosts")
    screen = terminal.wait_for(
        lambda s: "ENGINE" in s and all(rows(s, f" {n} ") and "online" in rows(s, f" {n} ")[-1]
                                        for n in names),
        20, "every host online in the hosts view",
    )
    assert "tmuxweb-1" not in screen

    command(terminal, ":", "volumes")
    terminal.wait_for("MOUNTPOINT", 20, "the volumes view")
    # Filtered: whatever volumes earlier tests of this lab session left (tombstones
    # included) may push it off the screen, depending on which files ran before.
    command(terminal, "/", "tmuxdata")
    # The status line names the filter once it applies. Waiting for it matters:
    # an Escape pressed while Enter is still queued reaches Textual together
    # with the next key, which it then reads as Alt+key (seen under CI load).
    screen = terminal.wait_for(r"filter /tmuxdata", 20, "the volume filtered")
    assert rows(screen, "tmuxdata")[0].split()[:2] == [lab.hosts[1].name, "tmuxdata"]
    terminal.keys("Escape")
    terminal.wait_for(lambda s: "filter /tmuxdata" not in s, 10, "esc to clear the filter")

    command(terminal, ":", "images")
    screen = terminal.wait_for(lambda s: "TAGS" in s and "corral-lab/web:1" in s, 20, "images")
    assert any("tmuxweb-1" in line for line in rows(screen, "corral-lab/web:1"))

    command(terminal, ":", "stacks")
    screen = terminal.wait_for(r"tmuxshop", 20, "the stack")
    assert {line.split()[1] for line in rows(screen, "tmuxshop")} == {"web", "db"}

    command(terminal, ":", "ps")
    terminal.wait_for(lambda s: "tmuxweb-1" in s and "tmuxdb-1" in s, 10, "containers again")

    command(terminal, "/", "tmuxd")
    terminal.wait_for(lambda s: "tmuxdb-1" in s and "tmuxweb-1" not in s, 10, "/tmuxd")

    terminal.keys("Escape")
    terminal.wait_for(lambda s: "tmuxweb-1" in s and "tmuxdb-1" in s, 10, "esc to clear it")

    command(terminal, "/", "!tmuxd")
    terminal.wait_for(lambda s: "tmuxweb-1" in s and "tmuxdb-1" not in s, 10, "/!tmuxd")

    terminal.type("q")
    terminal.wait_for(lambda s: terminal.exit_status() is not None, 15, "corral to quit")
    assert terminal.exit_status() == 0
