"""Adding and removing hosts against the lab: `corral hosts add|rm` and the console form."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.widgets import Input

from corral.backends.inventory.load import load_inventory
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.session import HostState
from corral.tui.app import CorralApp
from corral.tui.console.screens.add_host import AddHostScreen
from corral.tui.console.widgets.host_bar import HostBar
from tests.support.console import until
from tests.support.lab import Lab, fingerprint_of
from tests.support.lab_cli import engine, run_corral, write_inventory

pytestmark = pytest.mark.lab


@dataclass
class Files:
    """An inventory of lab1 and lab2 and a known_hosts without lab3's key."""

    inventory: Path
    known_hosts: Path

    def args(self) -> list[str]:
        return ["--inventory", str(self.inventory), "--known-hosts", str(self.known_hosts)]

    def snapshot(self) -> tuple[bytes, bytes]:
        return self.inventory.read_bytes(), self.known_hosts.read_bytes()


@pytest.fixture
def files(lab: Lab, tmp_path: Path) -> Files:
    lab3 = lab.host("lab3").address
    hosts = [
        {
            "name": host.name,
            "ssh": f"root@{host.address}:{host.ssh_port}",
            "identity": str(lab.key),
            "socket": host.socket,
            "labels": host.labels,
        }
        for host in lab.hosts
        if host.name in ("lab1", "lab2")
    ]
    inventory = write_inventory(tmp_path / "inventory.yaml", hosts)
    known = tmp_path / "known_hosts"
    known.write_text(
        "".join(
            line + "\n" for line in lab.known_hosts.read_text().splitlines()
            if line.split()[0] not in (lab3, f"[{lab3}]:2222")
        )
    )
    return Files(inventory, known)


def add_lab3(lab: Lab, files: Files, *extra: str) -> subprocess.CompletedProcess:
    host = lab.host("lab3")
    return run_corral(
        "hosts", "add", "lab3", f"root@{host.address}:{host.ssh_port}",
        "--identity", str(lab.key), "--socket", host.socket,
        "--label", "zone=a", "--label", "role=edge", *files.args(), *extra,
    )


def test_unknown_key_is_refused_with_its_fingerprint(lab: Lab, files: Files) -> None:
    before = files.snapshot()
    result = add_lab3(lab, files)
    assert result.returncode == 1
    fingerprint = fingerprint_of(lab, "lab3")
    assert f"--accept-fingerprint {fingerprint}" in result.stderr
    assert "nothing was written" in result.stderr
    assert files.snapshot() == before


def test_wrong_fingerprint_is_refused(lab: Lab, files: Files) -> None:
    before = files.snapshot()
    result = add_lab3(lab, files, "--accept-fingerprint", fingerprint_of(lab, "lab1"))
    assert result.returncode == 1
    assert "does not match the fingerprint you accepted" in result.stderr
    assert files.snapshot() == before


def test_accepted_fingerprint_adds_the_host_and_ps_sees_it(lab: Lab, files: Files) -> None:
    host = lab.host("lab3")
    client = engine(host.socket)
    container = client.containers.run(
        "corral-lab/busybox:1", ["sleep", "600"], name="t-addhost", detach=True
    )
    try:
        result = add_lab3(lab, files, "--accept-fingerprint", fingerprint_of(lab, "lab3"))
        assert result.returncode == 0, result.stderr
        assert f"added lab3 (root@{host.address}:22) to {files.inventory}" in result.stdout
        assert f"Docker {client.version()['Version']}" in result.stdout
        assert "recorded in" in result.stderr
        assert host.address in files.known_hosts.read_text()
        added = load_inventory(files.inventory).get("lab3")
        assert added.labels == {"zone": "a", "role": "edge"}
        assert added.socket == host.socket and added.identity == (str(lab.key),)

        # The new inventory works on its own, with no fingerprint to accept.
        ps = run_corral("ps", "--json", "--host", "lab3", *files.args())
        assert ps.returncode == 0, ps.stderr
        assert [row["name"] for row in json.loads(ps.stdout)] == ["t-addhost"]
        hosts = run_corral("hosts", "--json", *files.args())
        assert hosts.returncode == 0, hosts.stderr
        assert [row["name"] for row in json.loads(hosts.stdout)] == ["lab1", "lab2", "lab3"]

        again = add_lab3(lab, files)
        assert again.returncode == 2
        assert "already in the inventory" in again.stderr
    finally:
        container.remove(force=True)


def test_host_without_an_engine_is_added_with_a_warning(
    lab: Lab, files: Files, tmp_path: Path
) -> None:
    host = lab.host("lab3")
    result = run_corral(
        "hosts", "add", "bare", f"root@{host.address}", "--identity", str(lab.key),
        "--socket", str(tmp_path / "no-engine.sock"), "--known-hosts", str(lab.known_hosts),
        "--inventory", str(files.inventory),
    )
    assert result.returncode == 0, result.stderr
    assert "SSH works, but the Docker engine did not answer" in result.stderr
    assert load_inventory(files.inventory).names() == ["lab1", "lab2", "bare"]


def test_unreachable_host_is_not_added(lab: Lab, files: Files) -> None:
    before = files.snapshot()
    result = run_corral(
        "hosts", "add", "gone", f"root@{lab.host('lab1').address}:9", "--connect-timeout", "3",
        *files.args(),
    )
    assert result.returncode == 1
    assert "gone: not added:" in result.stderr and "refused" in result.stderr
    assert files.snapshot() == before


def test_rm_needs_confirmation_unless_yes(files: Files) -> None:
    refused = run_corral("hosts", "rm", "lab2", *files.args())
    assert refused.returncode == 2
    assert "pass --yes" in refused.stderr
    assert load_inventory(files.inventory).names() == ["lab1", "lab2"]

    unknown = run_corral("hosts", "rm", "lab9", "--yes", *files.args())
    assert unknown.returncode == 2 and "no host named 'lab9'" in unknown.stderr

    removed = run_corral("hosts", "rm", "lab2", "--yes", *files.args())
    assert removed.returncode == 0, removed.stderr
    assert load_inventory(files.inventory).names() == ["lab1"]
    hosts = run_corral("hosts", "--json", *files.args())
    assert [row["name"] for row in json.loads(hosts.stdout)] == ["lab1"]


@pytest.mark.parametrize(("answer", "kept"), [("y", ["lab1"]), ("n", ["lab1", "lab2"])])
def test_rm_asks_on_a_terminal(files: Files, answer: str, kept: list[str]) -> None:
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "corral.tui.cli.main", "hosts", "rm", "lab2", *files.args()],
        stdin=follower, stdout=subprocess.PIPE, stderr=follower,
    ) as process:
        os.close(follower)
        prompt = b""
        while b"[y/N]" not in prompt:
            prompt += os.read(leader, 1024)
        assert b"Remove host lab2 (root@" in prompt
        os.write(leader, answer.encode() + b"\n")
        process.wait(timeout=30)
    os.close(leader)
    assert process.returncode == (0 if answer == "y" else 1)
    assert load_inventory(files.inventory).names() == kept


async def test_console_form_tries_accepts_and_saves(lab: Lab, files: Files) -> None:
    host = lab.host("lab3")
    settings = SshSettings(known_hosts=(str(files.known_hosts),), connect_timeout=5)
    app = CorralApp(load_inventory(files.inventory), settings)
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.press("colon", *"hosts", "enter")
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, AddHostScreen)
        await pilot.press(*"lab3", "enter", *f"root@{host.address}")  # typed, then pasted:
        for field, value in {
            "identity": str(lab.key), "socket": host.socket, "labels": "zone=a, role=edge",
        }.items():
            form.query_one(f"#{field}", Input).value = value
        await pilot.pause()
        assert form.query_one("#save").disabled

        await pilot.click("#try")
        await until(pilot, lambda: form.report is not None, "the first try")
        assert form.report.needs_acceptance
        fingerprint = fingerprint_of(lab, "lab3")
        assert fingerprint in str(form.query_one("#key").render())
        assert form.query_one("#key-box").display
        assert form.query_one("#save").disabled

        await pilot.click("#verified")
        assert str(form.query_one("#try").label) == "Accept key and connect"
        await pilot.click("#try")
        await until(pilot, lambda: form.report is not None and form.report.ok, "the engine")
        version = engine(host.socket).version()["Version"]
        assert f"Docker {version}" in str(form.query_one("#result").render())
        assert not form.query_one("#save").disabled

        # The key, not a click: a notification (a host coming online) can lie over
        # the button on a loaded machine, and a click then closes the notification.
        await pilot.press("ctrl+s")
        try:
            await until(pilot, lambda: app.screen is not form, "the form to close")
        except AssertionError as exc:  # say what the form says
            raise AssertionError(f"{exc}; the form: {form.query_one('#result').render()}, save"
                                 f" {'disabled' if form.query_one('#save').disabled else 'enabled'}"
                                 ) from None
        added = load_inventory(files.inventory).get("lab3")
        assert added.labels == {"zone": "a", "role": "edge"}
        assert host.address in files.known_hosts.read_text()

        # The console picks the host up: kept online, in the host bar and the hosts view.
        session = app.fleet.session("lab3")
        await until(pilot, lambda: session.status.state is HostState.ONLINE, "lab3 online")
        bar = app.screen.query_one(HostBar)
        await until(pilot, lambda: "lab3" in str(bar.render_statuses()), "the host bar")
        hosts_view = app.screen.query_one("#hosts")
        await pilot.press("ctrl+r")
        await until(
            pilot, lambda: "lab3" in hosts_view.records and (
                hosts_view.records["lab3"].facts.state == "online"
            ), "lab3 in the hosts view",
        )
