"""`:audit` in the console: the local file (and online hosts' history), read-only."""

from __future__ import annotations

import time

from corral.backends.audit import AuditEntry
from corral.backends.audit.local import append
from corral.backends.inventory.load import Inventory
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.console.actions_ui import is_mutating
from corral.tui.console.screens.modals import ConfirmScreen, TextScreen
from corral.tui.console.views.audit import AuditView
from tests.support.pilot import until


def write(when: float, verb: str, result: str, target: str | None = None,
          detail: str = "") -> None:
    append(AuditEntry(id=f"{verb}-{when}", time=when, user="ann", machine="desk", verb=verb,
                      result=result, hosts=("lab1",), ssh_users={"lab1": "root"},
                      stack="demo", target=target, detail=detail))


def texts(view: AuditView) -> list[str]:
    return [" ".join(str(cell) for cell in view.get_row_at(row)) for row in range(view.row_count)]


async def test_audit_view_lists_filters_sorts_and_inspects() -> None:
    now = time.time()
    write(now - 300, "stack.deploy", "ok")
    write(now - 200, "stack.scale", "failed", detail="lab2: offline")
    write(now - 100, "stack.rm", "refused", target="\x1b]52;c;eA==\x07demo",
          detail="read-only (--readonly): refusing to stack.rm demo on lab1")
    app = CorralApp(Inventory(hosts=()), SshSettings())
    async with app.run_test(size=(180, 40)) as pilot:
        await pilot.press("colon", *"audit", "enter")
        view = app.screen.query_one("#audit", AuditView)
        await until(pilot, lambda: view.row_count == 3, "the three entries")
        assert app.screen.focused is view
        rows = texts(view)
        assert "stack.rm" in rows[0] and "stack.deploy" in rows[2]  # newest first
        assert "ann@desk" in rows[0] and "lab1 (root)" in rows[0] and "refused" in rows[0]
        assert "\x1b" not in rows[0] and "\\x1b]52" in rows[0]  # hostile text made visible
        await pilot.press("slash", *"failed", "enter")
        await until(pilot, lambda: view.row_count == 1, "the filter")
        assert "lab2: offline" in texts(view)[0]
        await pilot.press("escape")
        await until(pilot, lambda: view.row_count == 3, "the filter cleared")
        await pilot.press("O")  # oldest first
        await until(pilot, lambda: "stack.deploy" in texts(view)[0], "the reverse sort")
        await pilot.press("g", "y")
        await until(pilot, lambda: isinstance(app.screen, TextScreen), "the inspect screen")
        body = app.screen.body.code  # a rich Syntax of the YAML
        assert "verb: stack.deploy" in body and "ssh_users:" in body
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.query("#audit"), "back to the view")
        # Read-only by nature: no binding of the view changes anything.
        assert not any(is_mutating(b.action, ()) for b in AuditView.BINDINGS)
        await pilot.press("space", "d")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen)


async def test_audit_alias_and_empty_view() -> None:
    app = CorralApp(Inventory(hosts=()), SshSettings())
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("colon", *"history", "enter")
        view = app.screen.query_one("#audit", AuditView)
        await until(pilot, lambda: app.screen.focused is view, "the audit view")
        await pilot.pause(0.3)
        assert view.row_count == 0
