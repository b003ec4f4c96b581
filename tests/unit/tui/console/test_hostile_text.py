"""Hostile text from hosts never reaches the operator's terminal as control sequences (issue 16).

A container whose name, image and labels carry OSC 52 (clipboard), a title
change, clear screen, alternate screen and a device-attributes query is shown
in the containers view, in `d` describe and in `y` inspect with those
sequences made visible; engine text with `[` shows in a notification as written.
"""

from __future__ import annotations

import dataclasses

from rich.text import Text

from corral.backends.engine.watch import Upsert
from corral.tui.console.screens.text_search import SearchableTextScreen
from corral.tui.console.views.containers import ContainersView
from tests.support import fleet_data
from tests.support.pilot import until
from tests.support.still_console import SIZE, feed
from tests.unit.tui.console.test_containers_view import still_app

CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"
TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J\x1b[H"
ALT_SCREEN = "\x1b[?1049h"
QUERY = "\x1b[c"
#: What must never be drawn as is.
RAW = ("\x1b", "\x07", "\x9b")

BASE = fleet_data.container("lab1", 7, "evil", "corral-lab/busybox:1", "Up 3 minutes",
                            "shop", "web")
EVIL = dataclasses.replace(
    BASE,
    image=f"corral-lab/busybox:1{CLIPBOARD}",
    stack=f"shop{TITLE}",
    service=f"web{CLEAR}{ALT_SCREEN}{QUERY}\x9b1m",
    labels={"io.corral.stack": f"shop{TITLE}", "note": f"x{CLIPBOARD}"},
)


def shown_rows(view: ContainersView) -> str:
    """Every character the table draws, row by row."""
    return "\n".join("".join(segment.text for segment in view.render_line(y))
                     for y in range(view.size.height))


async def fed_with_evil(pilot) -> ContainersView:
    await feed(pilot)
    screen = pilot.app.screen
    screen.store.put(Upsert("lab1", EVIL))
    view = screen.query_one(ContainersView)
    await until(pilot, lambda: f"lab1/{EVIL.id}" in view.rows, "the hostile container")
    view.focus()
    await pilot.press("slash", *"evil", "enter")
    await until(pilot, lambda: view.row_count == 1, "the hostile container alone")
    return view


async def test_containers_view_shows_control_sequences_escaped() -> None:
    app = still_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await fed_with_evil(pilot)
        key = f"lab1/{EVIL.id}"
        cells = [view.get_cell(key, column) for column in view.columns]
        plain = " ".join(cell.plain if isinstance(cell, Text) else str(cell) for cell in cells)
        for raw in RAW:
            assert raw not in plain
        assert r"\x1b]52;c;cm0gLXJmIH4=\x07" in plain
        assert r"\x1b]0;pwned\x07" in plain
        drawn = shown_rows(view)
        for raw in RAW:
            assert raw not in drawn
        assert r"shop\x1b]0;pwned" in drawn


async def test_describe_and_inspect_show_control_sequences_escaped() -> None:
    app = still_app()
    document = fleet_data.inspect_document(EVIL)
    document["Name"] = f"/evil{TITLE}"
    document["State"]["Health"]["Log"] = [
        {"ExitCode": 1, "End": "2026-01-05T09:44:59Z", "Output": f"down{CLEAR}{QUERY}"}]
    document["Config"]["Env"] = [f"EVIL={ALT_SCREEN}{CLIPBOARD}"]
    app.data.documents[EVIL.id] = document
    async with app.run_test(size=SIZE) as pilot:
        await fed_with_evil(pilot)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, SearchableTextScreen), "describe")
        text = app.screen.text
        for raw in RAW:
            assert raw not in text and raw not in app.screen.title_text
        assert r"evil\x1b]0;pwned\x07" in text
        assert r"down\x1b[2J\x1b[H\x1b[c" in text
        assert r"busybox:1\x1b]52;c;" in text
        await pilot.press("escape")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, SearchableTextScreen), "inspect")
        text = app.screen.text
        for raw in RAW:
            assert raw not in text
        assert "EVIL=" in text


async def test_notifications_show_engine_text_as_written() -> None:
    app = still_app()
    async with app.run_test(size=SIZE) as pilot:
        await feed(pilot)
        app.notify(f"lab1: Error [bold]response[/bold] from daemon{TITLE}", title=f"x{CLEAR}",
                   severity="error")
        await pilot.pause()
        notification = list(app._notifications)[-1]
        # Not markup: a Toast draws the message as plain content.
        assert notification.markup is False
        shown = f"{notification.title}\n{notification.message}"
        assert "Error [bold]response[/bold] from daemon" in shown
        assert r"\x1b]0;pwned\x07" in shown and r"x\x1b[2J" in shown
        for raw in RAW:
            assert raw not in shown
