"""The README's key table lists every key `?` shows (default keymap), where no host is needed.

`?` reads the live bindings; the README is written by hand. Each screen that
opens without hosts is visited (every view, the catalog list, an entry, the
questions form, the plan) and each key its `?` lists must appear in the keys
column of the table under "## The console".
"""

from __future__ import annotations

import re
from pathlib import Path

from corral.backends.inventory.load import Inventory
from corral.backends.ssh.connect import SshSettings
from corral.catalog.loader import load_catalogs
from corral.tui.app import CorralApp
from corral.tui.console.keys_help import binding_rows
from corral.tui.console.screens.catalog import CatalogEntryScreen, CatalogScreen
from corral.tui.console.screens.catalog_form import CatalogFormScreen
from corral.tui.console.screens.console import ConsoleScreen
from corral.tui.console.screens.plan import PlanScreen
from corral.tui.console.views.registry import VIEWS
from tests.support.catalog_pilot import form_shown
from tests.support.pilot import until
from tests.support.plan_pilot import FakeFlow, demo

README = Path(__file__).parents[4] / "README.md"

#: Textual's display of a key -> how the README writes it.
SPELLED = {"esc": "esc", "escape": "esc", "⏎": "enter", "pgup": "pgup", "pageup": "pgup",
           "pgdn": "pgdn", "pagedown": "pgdn"}


def as_written(key: str) -> str:
    """One key, spelled as the README spells it (`^k` is `ctrl+k`; names lower-case)."""
    key = key.strip()
    if key.startswith("^") and len(key) > 1:
        key = "ctrl+" + key[1:]
    if len(key) > 1:
        key = key.lower()
    return SPELLED.get(key, key)


def readme_keys() -> set[str]:
    """Every key in the keys column of the table under "## The console"."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The console"):]
    section = section[:section.index("\n## ", 3)]
    keys: set[str] = set()
    for line in section.splitlines():
        if not line.startswith("| "):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) != 3:
            continue
        for token in re.findall(r"`([^`]+)`", cells[1]):
            keys.add(as_written(token.replace("\\|", "|")))
    return keys


def shown_keys(app, node) -> dict[str, str]:
    """Each key `?` lists where `node` has the focus -> its binding id."""
    return {as_written(key): binding_id for keys, _, binding_id, _ in binding_rows(node, app)
            for key in keys.split(",")}


async def test_every_key_help_shows_is_in_the_readme_table() -> None:
    documented = readme_keys()
    assert {":", "?", "f1", "q", "|", "_", "-", "ctrl+k", "esc"} <= documented
    seen: dict[str, str] = {}
    app = CorralApp(Inventory(hosts=()), SshSettings())
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen), "the console")
        console = app.screen
        for name in VIEWS:
            console.show_view(name)
            await pilot.pause()
            seen |= shown_keys(app, console.current_view())

        entry = load_catalogs([]).find("webrtc-demo")
        version = entry.find_version(None)
        for screen in (CatalogScreen(), CatalogEntryScreen(entry)):
            app.push_screen(screen)
            await until(pilot, lambda s=screen: app.screen is s and s.focused is not None,
                        f"{type(screen).__name__}")
            seen |= shown_keys(app, screen.focused)
        app.push_screen(CatalogFormScreen(entry, version))
        form = await form_shown(pilot)
        for field in ("ROOM_NAME", "ENABLE_LOG_SHIPPER"):  # a text field, a switch
            seen |= shown_keys(app, form.fields[field].control)
        stack, answers = demo()
        plan = PlanScreen(FakeFlow(), stack, answers)  # type: ignore[arg-type]
        app.push_screen(plan)
        await until(pilot, lambda: plan.phase == "planned", "the plan")
        seen |= shown_keys(app, plan.focused or plan)
    missing = {key: binding_id for key, binding_id in seen.items() if key not in documented}
    assert not missing, f"keys `?` shows that README.md's console table lacks: {missing}"
