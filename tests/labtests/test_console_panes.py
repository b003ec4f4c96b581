"""Split panes in the console: logs beside the views, stacked, maximised, closed."""

from __future__ import annotations

import uuid

import pytest

from corral.backends.engine.events import host_events
from corral.tui.console.widgets.logs.view import LogPane
from corral.tui.console.widgets.panes import Pane
from tests.support.console import SIZE, console, online, select, until, view
from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.support.shell_pane import prompt_ready, run

pytestmark = pytest.mark.lab


def text_of(pane: LogPane) -> str:
    return "\n".join(line.text for line in pane.history.iter())


async def one_event_stream_each(pilot, lab: Lab, app, subscribers: dict[str, int]) -> None:
    """Each host has `subscribers` to its event follower and streams its events once."""
    sessions = app.fleet.sessions
    assert {name: host_events(s).subscribers for name, s in sessions.items()} == subscribers
    await until(pilot, lambda: all(host_events(s).open_streams == 1 for s in sessions.values()),
                "one open event stream per host")
    # The engines count their `/events` listeners too (closed streams leave at once):
    # the event follower's, and the host session's engine watch (a request that
    # matches no event, held to notice an engine restart: `backends/ssh/session.py`).
    await until(pilot, lambda: all(
        engine(lab.host(name).socket).info()["NEventsListener"] == 2 for name in sessions
    ), "one events listener per engine besides the engine watch")


async def test_log_panes_open_split_maximise_and_close(lab: Lab) -> None:
    unique = uuid.uuid4().hex[:6]
    labels = {"io.corral.stack": f"ps{unique}", "io.corral.service": "worker"}
    workers = [
        engine(lab.host(host).socket).containers.run(
            "corral-lab/worker:1", name=f"pw{index}-{unique}", environment={"RATE": "20"},
            labels=labels, detach=True,
        )
        for index, host in enumerate(("lab1", "lab2"))
    ]
    app = console(lab)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await online(pilot, app)
            await select(pilot, app, "containers", f"pw0-{unique}")
            await pilot.press("l")
            workspace = app.screen.workspace
            await until(pilot, lambda: len(workspace.panes) == 1, "a log pane")
            first = workspace.panes[0]
            assert isinstance(first.content, LogPane)
            assert f"lab1/pw0-{unique}" in str(first.content.border_title)
            await until(pilot, lambda: "seq=" in text_of(first.content), "log lines")
            # Side by side: the pane shares the views' row.
            assert first.parent is view(app, "containers").parent.parent.parent

            # Stacked: the service's logs (both replicas, both hosts) in a new row.
            view(app, "containers").focus()
            await pilot.press("underscore", "L")
            await until(pilot, lambda: len(workspace.panes) == 2, "a second pane")
            second = workspace.panes[1]
            assert second.parent is not first.parent
            assert f"ps{unique}/worker" in str(second.content.border_title)
            # A container's hostname is its short id: the worker prints it.
            await until(pilot, lambda: all(f"host={w.id[:12]}" in text_of(second.content)
                                           for w in workers), "both replicas")
            # The containers view and both panes share each host's one event stream.
            await one_event_stream_each(pilot, lab, app, {"lab1": 3, "lab2": 2, "lab3": 2})

            # The layout follows a terminal resize.
            await pilot.resize_terminal(120, 36)
            await until(pilot, lambda: all(
                pane.size.width > 0 and pane.size.height > 0
                and pane.region.right <= 120 and pane.region.bottom <= 36
                for pane in workspace.panes), "the panes laid out in 120x36")

            # Maximise and restore, then close with the pane's keys.
            second.content.lines.focus()
            await pilot.press("ctrl+o")
            assert app.screen.maximized is second
            await pilot.press("ctrl+o")
            assert app.screen.maximized is None
            second.content.lines.focus()
            await pilot.press("ctrl+w")
            await until(pilot, lambda: len(workspace.panes) == 1, "second pane closed")
            # The log view's own close key removes its pane too.
            first.content.lines.focus()
            await pilot.press("q")
            await until(pilot, lambda: not workspace.panes, "first pane closed")
            assert not list(app.screen.query(Pane))
            await one_event_stream_each(pilot, lab, app, {"lab1": 1, "lab2": 1, "lab3": 1})
    finally:
        for worker in workers:
            worker.remove(force=True)


async def test_shell_pane_beside_the_views(lab: Lab) -> None:
    from corral.tui.console.widgets.terminal.pane import ShellPane

    unique = uuid.uuid4().hex[:6]
    box = engine(lab.host("lab3").socket).containers.run(
        "corral-lab/busybox:1", ["sleep", "3600"], name=f"sh-{unique}", detach=True
    )
    app = console(lab)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await online(pilot, app)
            await select(pilot, app, "containers", f"sh-{unique}")
            await pilot.press("s")
            workspace = app.screen.workspace
            await until(pilot, lambda: len(workspace.panes) == 1, "a shell pane")
            pane = workspace.panes[0].content
            assert isinstance(pane, ShellPane)
            assert "lab3" in str(pane.border_title) and f"sh-{unique}" in str(pane.border_title)
            await until(pilot, lambda: prompt_ready(pane), "the prompt", timeout=20)
            await run(pilot, pane, "hostname", box.id[:12])
            await pilot.press("ctrl+right_square_bracket")
            assert not pane.view.has_focus
    finally:
        box.remove(force=True)
