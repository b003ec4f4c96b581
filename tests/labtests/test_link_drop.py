"""A link that silently drops every packet: seen within 5 s, said in every pane, quick to return.

The fault is `link-drop` (iptables DROP in and out of the host's eth0: no reset,
no ICMP, connects hang), not an sshd stop, which any client notices at once.
The console runs with the default keepalives, as a user gets them.
"""

from __future__ import annotations

import sys
import time
import uuid

import pytest

from corral.backends.inventory.load import load_inventory
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.widgets.host_bar import HostBar
from corral.tui.console.widgets.logs.view import LogPane
from tests.support.console import SIZE, command, online, select, shell_and_log_panes, until, view
from tests.support.lab import Lab
from tests.support.lab_cli import engine

pytestmark = pytest.mark.lab

#: What the issue asks: a dropped link shows within 5 s (plus the test's own polling).
DETECT_WITHIN = 5.0 + 1.5
#: After the link is back and the operator presses C, the host is online within this.
RECOVER_WITHIN = 3.0


def log_text(pane: LogPane) -> str:
    return "\n".join(line.text for line in pane.history.iter())


async def test_a_dropped_link_shows_in_seconds_and_reconnect_now_brings_it_back(lab: Lab) -> None:
    unique = uuid.uuid4().hex[:6]
    lab3 = engine(lab.host("lab3").socket)
    worker = lab3.containers.run("corral-lab/worker:1", name=f"ld-{unique}",
                                 environment={"RATE": "10"}, detach=True)
    box = lab3.containers.run("corral-lab/busybox:1", ["sleep", "3600"], name=f"lds-{unique}",
                              detach=True)
    settings = SshSettings(known_hosts=(str(lab.known_hosts),), connect_timeout=5)
    app = CorralApp(load_inventory(lab.inventory), settings, Config())
    dropped = False
    try:
        async with app.run_test(size=SIZE) as pilot:
            await online(pilot, app)
            shell, logs = await shell_and_log_panes(pilot, app, f"lds-{unique}", f"ld-{unique}")
            await until(pilot, lambda: "seq=" in log_text(logs), "log lines")
            bar = app.screen.query_one(HostBar)
            assert "3/3 online" in bar.render_statuses().plain
            assert logs._status.startswith("● following")

            lab.fault("lab3", "link-drop")
            dropped = True
            start = time.monotonic()
            await until(pilot, lambda: "2/3 online" in bar.render_statuses().plain,
                        "the strip to show lab3 down", timeout=DETECT_WITHIN)
            detected = time.monotonic() - start
            strip = bar.render_statuses().plain
            assert "✖ lab3 (" in strip or "◌ lab3 (retrying" in strip, strip
            assert "link lost: no answer for 4 s (keepalives)" in strip, strip
            await until(pilot, lambda: logs._status.startswith("◌ waiting for lab3"),
                        "the log pane to say it waits", timeout=10)
            assert logs.query_one("#log-status").has_class("-waiting")
            await until(pilot, lambda: "waiting for lab3" in str(shell.border_subtitle),
                        "the shell pane to say it waits", timeout=10)
            assert shell.lost and "connection to lab3 lost" in str(shell.border_subtitle)
            assert shell.has_class("-waiting")  # a line inside the pane says it too

            # Let the backoff grow and an attempt hang on the dead link, as in a real
            # outage; then the link comes back and the operator asks for lab3 now.
            await pilot.pause(8)
            await command(pilot, "hosts")
            await select(pilot, app, "hosts", "lab3")
            lab.fault("lab3", "link-pass")
            dropped = False
            start = time.monotonic()
            await pilot.press("C")
            await until(pilot, lambda: app.fleet.session("lab3").online,
                        "lab3 online after C", timeout=RECOVER_WITHIN)
            recovered = time.monotonic() - start
            await until(pilot, lambda: "3/3 online" in bar.render_statuses().plain, "the strip")
            await until(pilot, lambda: logs._status.startswith("● following"),
                        "the log pane following again")
            seen = log_text(logs).count("seq=")
            await until(pilot, lambda: log_text(logs).count("seq=") > seen, "new log lines")
            assert "lab3 is back" in str(shell.border_subtitle)
            assert not shell.has_class("-waiting")
            assert view(app, "hosts").row_count == 1
            print(f"\nlink drop: detected in {detected:.2f}s, back {recovered:.2f}s after C",
                  file=sys.stderr)
    finally:
        if dropped:
            lab.fault("lab3", "link-pass")
        lab.restored("lab3")
        worker.remove(force=True)
        box.remove(force=True)
