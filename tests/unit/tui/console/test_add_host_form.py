"""The Add host form validates inline and reports failed tries (no lab needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Static

from corral.backends.errors import InventoryError
from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.loop import BackendLoop
from corral.backends.ssh.session import HostState
from corral.tui.app import CorralApp
from corral.tui.console.screens.add_host import AddHostScreen
from tests.support.pilot import until
from tests.support.waits import wait_until


def error_text(form: AddHostScreen, field: str) -> str:
    widget = form.query_one(f"#{field}-error", Static)
    return str(widget.render()) if widget.display else ""


async def open_form(pilot) -> AddHostScreen:
    await pilot.press("colon", *"hosts", "enter")
    await pilot.press("a")
    form = pilot.app.screen
    assert isinstance(form, AddHostScreen)
    return form


async def test_form_validates_each_field_inline(tmp_path: Path) -> None:
    existing = HostSpec("taken", SshTarget("127.0.0.1", "root", 9))
    app = CorralApp(Inventory(hosts=(existing,), path=tmp_path / "inventory.yaml"),
                    SshSettings(connect_timeout=2))
    async with app.run_test(size=(110, 45)) as pilot:
        form = await open_form(pilot)
        await pilot.press(*"bad name")
        assert "letters, digits" in error_text(form, "name")
        assert error_text(form, "ssh") == ""  # untouched fields stay quiet while typing

        values = {"name": "taken", "ssh": "root@", "identity": str(tmp_path / "nope"),
                  "socket": "docker.sock", "labels": "zone"}
        for field, value in values.items():
            form.query_one(f"#{field}", Input).value = value
        await pilot.pause()
        assert "already managed" in error_text(form, "name")
        assert "user@address:port" in error_text(form, "ssh")
        assert "no such file" in error_text(form, "identity")
        assert "absolute path" in error_text(form, "socket")
        assert "KEY=VALUE" in error_text(form, "labels")

        for field in values:
            form.query_one(f"#{field}", Input).value = ""
        await pilot.pause()
        await pilot.click("#try")
        assert error_text(form, "name") == "required" and error_text(form, "ssh") == "required"
        assert form.report is None

        await pilot.press("escape")
        assert not isinstance(app.screen, AddHostScreen)
        assert not (tmp_path / "inventory.yaml").exists()


async def test_failed_try_is_reported_and_cannot_be_saved(tmp_path: Path) -> None:
    app = CorralApp(Inventory(hosts=(), path=tmp_path / "inventory.yaml"),
                    SshSettings(connect_timeout=2))
    async with app.run_test(size=(110, 45)) as pilot:
        form = await open_form(pilot)
        form.query_one("#name", Input).value = "gone"
        form.query_one("#ssh", Input).value = "root@127.0.0.1:9"
        await pilot.click("#try")
        await until(pilot, lambda: form.report is not None, "the try's report", timeout=10)
        assert not form.report.ssh_ok
        assert "Host unreachable" in str(form.query_one("#result").render())
        assert form.query_one("#save").disabled
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, AddHostScreen)
        assert not (tmp_path / "inventory.yaml").exists()


def test_fleet_add_host_keeps_the_new_host_online() -> None:
    from corral.backends.ssh.fleet import Fleet

    statuses = []
    with BackendLoop() as loop:
        fleet = Fleet(Inventory(hosts=()), SshSettings(connect_timeout=1),
                      on_status=statuses.append, backend=loop)
        loop.run(fleet.keep_online())
        spec = HostSpec("late", SshTarget("127.0.0.1", "root", 9))
        session = loop.run(fleet.add_host(spec))
        assert fleet.session("late") is session
        assert fleet.inventory.names() == ["late"]
        # The console's inventory reload got there first: the same host is no error.
        assert loop.run(fleet.add_host(spec)) is session
        assert fleet.inventory.names() == ["late"]
        other = HostSpec("late", SshTarget("127.0.0.2", "root", 9))
        with pytest.raises(InventoryError, match="already managed"):
            loop.run(fleet.add_host(other))
        wait_until(lambda: any(s.state is HostState.OFFLINE and s.error for s in statuses),
                   "the new host's first failure", timeout=5)
        assert any("refused" in (s.error or "") for s in statuses)
        loop.run(fleet.close(), timeout=10)
