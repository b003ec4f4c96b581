"""Live logs against the lab: merge order, CLI output, replicas, outages."""

from __future__ import annotations

import collections
import contextlib
import json
import signal
import subprocess
import sys

import docker.errors
import pytest

from corral.backends.inventory.load import load_inventory
from corral.backends.logs.demux import NOTICE, parse_rfc3339_ns
from corral.backends.logs.follow import LogOptions
from corral.backends.logs.target import parse_target
from corral.backends.ssh.connect import SshSettings
from corral.tui.console.fleet_app import PaneApp
from corral.tui.console.widgets.logs.view import LogPane
from tests.support.lab import Lab
from tests.support.lab_cli import engine, run_corral
from tests.support.pilot import events_followed, until
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab

CART = {"com.docker.compose.project": "logshop", "com.docker.compose.service": "cart"}
WEB = {"io.corral.stack": "logshop", "io.corral.service": "web"}


@pytest.fixture(scope="module")
def workloads(lab: Lab):
    """Two cart replicas (lab1, lab2) that print 60 numbered lines; a mixed-stream container."""
    created = []
    for host in ("lab1", "lab2"):
        created.append(engine(lab.host(host).socket).containers.run(
            "corral-lab/worker:1", name=f"logs-cart-{host}", labels=CART,
            environment={"RATE": "40", "COUNT": "60"}, detach=True,
        ))
    created.append(engine(lab.host("lab1").socket).containers.run(
        "corral-lab/busybox:1", name="logs-mixed", detach=True,
        command=["sh", "-c", "for i in 1 2 3; do echo out$i; echo err$i >&2; done; sleep 3600"],
    ))
    for container in created:
        last = b"seq=60 " if container.name.startswith("logs-cart") else b"err3"
        wait_until(lambda c=container, last=last: last in c.logs(),
                   f"{container.name} to print its last line", timeout=20, step=0.2)
    yield
    for container in created:
        container.remove(force=True)


def corral_logs(lab: Lab, *args: str):
    return run_corral("logs", *args, *lab.corral_args())


def test_cli_merges_two_hosts_in_timestamp_order(lab: Lab, workloads: None) -> None:
    result = corral_logs(lab, "logshop/cart", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 120
    assert {row["host"] for row in rows} == {"lab1", "lab2"}
    assert set(rows[0]) == {"host", "container", "id", "stream", "timestamp", "line"}
    stamps = [parse_rfc3339_ns(row["timestamp"]) for row in rows]
    assert stamps == sorted(stamps)
    for host in ("lab1", "lab2"):
        numbers = [int(r["line"].split()[0][4:]) for r in rows if r["host"] == host]
        assert numbers == list(range(1, 61))
    # Both hosts printed at the same time: merged, they alternate, not one after the other.
    switches = sum(1 for a, b in zip(rows, rows[1:], strict=False) if a["host"] != b["host"])
    assert switches > 40


def test_cli_text_tail_since_grep_and_streams(lab: Lab, workloads: None) -> None:
    result = corral_logs(lab, "lab1/logs-cart-lab1", "--tail", "5", "--timestamps")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines] == [f"seq={n}" for n in range(56, 61)]
    assert all(parse_rfc3339_ns(line.split()[0]) for line in lines)

    every = json.loads("[" + ",".join(corral_logs(lab, "lab1/logs-cart-lab1", "--json")
                                      .stdout.splitlines()) + "]")
    since = every[49]["timestamp"]  # seq=50
    result = corral_logs(lab, "lab1/logs-cart-lab1", "--since", since)
    assert [line.split()[0] for line in result.stdout.splitlines()] == [
        f"seq={n}" for n in range(50, 61)
    ]

    result = corral_logs(lab, "logshop/cart", "--grep", r"^seq=(7|17) ")
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    prefixes = {line.split(" | ")[0] for line in lines}
    assert prefixes == {"lab1/logs-cart-lab1", "lab2/logs-cart-lab2"}
    assert len(corral_logs(lab, "logshop/cart", "--grep", "seq=", "-v").stdout.splitlines()) == 0

    result = corral_logs(lab, "lab1/logs-mixed", "--json")
    streams = [(row["stream"], row["line"]) for row in map(json.loads, result.stdout.splitlines())]
    assert sorted(streams) == sorted(
        [("stdout", f"out{i}") for i in (1, 2, 3)] + [("stderr", f"err{i}") for i in (1, 2, 3)]
    )


def test_cli_errors_are_one_line(lab: Lab, workloads: None) -> None:
    result = corral_logs(lab, "a/b/c")
    assert result.returncode == 2 and "bad log target" in result.stderr
    result = corral_logs(lab, "lab1/no-such-container")
    assert result.returncode == 1
    assert result.stderr.strip() == "corral: lab1: no container 'no-such-container'"
    result = corral_logs(lab, "lab1/logs-cart-lab1", "--since", "soon")
    assert result.returncode == 2 and "bad --since" in result.stderr
    assert "Traceback" not in result.stderr


def pane_app(lab: Lab, target: str, options: LogOptions) -> PaneApp:
    inventory = load_inventory(lab.inventory)
    settings = SshSettings(
        known_hosts=(str(lab.known_hosts),), connect_timeout=3.0,
        keepalive_interval=1.0, keepalive_count_max=3,
    )
    parsed = parse_target(target, inventory)
    return PaneApp(inventory, settings, lambda fleet: LogPane(fleet, parsed, options, id="logs"))


def texts(pane: LogPane, notices: bool = False) -> list[tuple[str, str]]:
    return [
        (pane.sources[line.source].label, line.text)
        for line in pane.history.iter() if (line.stream == NOTICE) == notices
    ]


async def test_pane_follows_a_new_replica_and_marks_its_removal(lab: Lab) -> None:
    first = engine(lab.host("lab1").socket).containers.run(
        "corral-lab/worker:1", name="logs-web-1", labels=WEB, environment={"RATE": "10"},
        detach=True,
    )
    later = None
    try:
        app = pane_app(lab, "logshop/web", LogOptions(tail=5))
        async with app.run_test(size=(120, 30)) as pilot:
            pane = app.query_one(LogPane)
            await until(pilot, lambda: any(s == "lab1/logs-web-1" for s, _ in texts(pane)),
                        "lines of the first replica", 15)
            # The follow hears of a replica starting on lab3 once it follows lab3's events.
            await events_followed(pilot, [app.fleet.session("lab3")])
            later = engine(lab.host("lab3").socket).containers.run(
                "corral-lab/worker:1", name="logs-web-2", labels=WEB,
                environment={"RATE": "10"}, detach=True,
            )
            await until(
                pilot, lambda: sum(1 for s, _ in texts(pane) if s == "lab3/logs-web-2") >= 3,
                "lines of the new replica", 15,
            )
            notes = texts(pane, notices=True)
            assert ("lab3/logs-web-2", "new replica lab3/logs-web-2: following it") in notes
            numbers = [int(t.split()[0][4:]) for s, t in texts(pane) if s == "lab3/logs-web-2"]
            assert numbers[:3] == [1, 2, 3]  # from its very first line
            assert "2 container(s) on lab1, lab3" in pane.border_title
            later.remove(force=True)
            await until(
                pilot,
                lambda: ("lab3/logs-web-2", "container removed: end of its log")
                in texts(pane, notices=True), "the removal marker", 15,
            )
    finally:
        first.remove(force=True)
        if later is not None:
            with contextlib.suppress(docker.errors.NotFound):
                later.remove(force=True)


async def test_outage_loses_and_duplicates_nothing(lab: Lab) -> None:
    worker = engine(lab.host("lab2").socket).containers.run(
        "corral-lab/worker:1", name="logs-outage", environment={"RATE": "20"}, detach=True,
    )
    try:
        app = pane_app(lab, "lab2/logs-outage", LogOptions(tail=None))
        async with app.run_test(size=(120, 30)) as pilot:
            pane = app.query_one(LogPane)
            session = app.fleet.session("lab2")

            def numbers() -> collections.Counter:
                return collections.Counter(int(t.split()[0][4:]) for _, t in texts(pane))

            await until(pilot, lambda: len(numbers()) >= 20, "the first lines", 15)
            for down in ("sshd-stop", "link-down"):
                before = max(numbers())
                with lab.faulted("lab2", down):
                    await until(pilot, lambda: not session.online, f"{down} noticed", 15)
                    # A duration, not a synchronisation: the outage lasts while the
                    # worker keeps printing, lines the pane must catch up on.
                    await pilot.pause(2.0)
                await until(pilot, lambda: session.online, f"reconnect after {down}", 30)
                await until(pilot, lambda b=before: max(numbers()) > b + 60,
                            f"lines after {down}", 20)
            seen = numbers()
            top = max(seen)
            assert [n for n in range(1, top + 1) if seen[n] != 1] == []

            def notes() -> list[str]:
                return [t for _, t in texts(pane, notices=True)]

            # The notices travel beside the lines: wait for them rather than sample once.
            await until(pilot, lambda: sum("back online" in t for t in notes()) == 2,
                        "two 'back online' notices", 15)
            # The notices themselves on failure: a third "offline" (seen once in a
            # full run, never alone) says which session went down, and why.
            assert sum("offline" in t for t in notes()) == 2, notes()
    finally:
        worker.remove(force=True)


def test_cli_follow_prints_new_lines_until_interrupted(lab: Lab) -> None:
    ticker = engine(lab.host("lab3").socket).containers.run(
        "corral-lab/worker:1", name="logs-ticker", environment={"RATE": "10"}, detach=True,
    )
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "corral.tui.cli.main", "logs", "-f", "--tail", "0", "--json",
             "lab3/logs-ticker", *lab.corral_args()],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            # As a terminal's Ctrl-C would find it: a test run started in the background
            # by a shell (`make test &`) has SIGINT ignored, and children inherit that.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        rows = [json.loads(process.stdout.readline()) for _ in range(5)]
        numbers = [int(row["line"].split()[0][4:]) for row in rows]
        assert numbers == list(range(numbers[0], numbers[0] + 5))
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        ticker.remove(force=True)
