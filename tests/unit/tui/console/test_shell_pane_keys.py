"""A shell pane in the console: the footer offers only keys that work where the focus is.

While the shell has the focus every key it can take is the shell's (`ctrl+w`
deletes a word, `ctrl+o`, `tab`, `q` are typed), and the footer shows only
`ctrl+]`. `ctrl+]` focuses the pane's frame, where the pane keys work and are
shown; `enter` goes back in; tab moves between views and panes, stopping at a
shell's frame rather than inside the shell.
"""

from __future__ import annotations

from corral.backends.inventory.load import Inventory
from corral.backends.logs.target import LogTarget
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.console.keys_help import binding_rows
from corral.tui.console.widgets.logs.view import LogPane
from corral.tui.console.widgets.panes import Pane
from corral.tui.console.widgets.terminal.pane import ShellPane
from tests.support.pilot import until
from tests.support.shell_pane import FakeFleet, FakeStream


def footer_keys(app: CorralApp) -> set[str]:
    """The keys the footer shows for the focused widget."""
    return {key for key, active in app.screen.active_bindings.items() if active.binding.show}


async def open_shell(pilot, app: CorralApp, stream: FakeStream) -> ShellPane:
    shell = ShellPane(FakeFleet("lab1"), "lab1/web-1", opener=lambda *args: stream)
    await app.screen.workspace.add_pane(shell, "shell lab1/web-1", False)
    await until(pilot, lambda: shell.view.has_focus and shell.view.screen_lines()[0] == "/ #",
                "the shell, focused")
    return shell


async def test_the_shell_takes_its_keys_and_the_footer_says_only_how_to_leave() -> None:
    app = CorralApp(Inventory(hosts=()), SshSettings())
    stream = FakeStream([b"/ # "])
    async with app.run_test(size=(120, 30)) as pilot:
        shell = await open_shell(pilot, app, stream)
        assert footer_keys(app) == {"ctrl+right_square_bracket"}
        await pilot.press("ctrl+w", "ctrl+o", "tab", "q", "slash", "question_mark", "colon")
        await until(pilot, lambda: len(stream.sent) == 7, "seven keys typed into the shell")
        assert stream.sent == [b"\x17", b"\x0f", b"\t", b"q", b"/", b"?", b":"]
        workspace = app.screen.workspace
        assert len(workspace.panes) == 1 and app.screen.maximized is None
        assert shell.view.has_focus

        # ctrl+] leaves the shell for its frame: the pane's keys work there.
        await pilot.press("ctrl+right_square_bracket")
        frame = workspace.panes[0]
        assert app.focused is frame
        assert {"ctrl+w", "ctrl+o", "enter"} <= footer_keys(app)
        await until(pilot, lambda: shell.view._cursor_cell is None, "no cursor without focus")
        await pilot.press("ctrl+o")
        assert app.screen.maximized is frame
        await pilot.press("ctrl+o")
        assert app.screen.maximized is None
        await pilot.press("enter")
        assert shell.view.has_focus
        assert len(stream.sent) == 7  # nothing of that reached the shell

        await pilot.press("ctrl+right_square_bracket", "ctrl+w")
        await until(pilot, lambda: not workspace.panes, "the pane closed")
        await until(pilot, lambda: stream.closed, "the exec closed")
        assert len(stream.sent) == 7


async def test_tab_moves_between_views_and_panes_and_stops_at_a_shells_frame() -> None:
    app = CorralApp(Inventory(hosts=()), SshSettings())
    stream = FakeStream([b"/ # "])
    async with app.run_test(size=(160, 30)) as pilot:
        shell = await open_shell(pilot, app, stream)
        logs = LogPane(None, LogTarget("service", "shop", service="cart"), follow=False)
        await app.screen.workspace.add_pane(logs, "logs shop/cart", False)
        shell_frame, log_frame = app.screen.workspace.panes
        shell.view.focus()
        await pilot.press("ctrl+right_square_bracket")
        assert app.focused is shell_frame
        await pilot.press("tab")
        assert app.focused is not shell.view and log_frame in app.focused.ancestors_with_self
        await pilot.press("tab")  # round to the view
        view = app.screen.current_view()
        assert app.focused is view
        await pilot.press("tab")
        assert app.focused is shell_frame
        await pilot.press("shift+tab", "shift+tab")
        assert log_frame in app.focused.ancestors_with_self
        assert not stream.sent


async def test_help_names_the_keys_that_move_the_focus_between_panes() -> None:
    app = CorralApp(Inventory(hosts=()), SshSettings())
    stream = FakeStream([b"/ # "])
    async with app.run_test(size=(120, 30)) as pilot:
        await open_shell(pilot, app, stream)
        rows = {row[2]: row for row in binding_rows(app.screen.current_view(), app)}
        assert rows["console.focus_next"][:2] == ("tab", "Next pane")
        assert rows["console.focus_previous"][0] == "shift+tab"
        await pilot.press("ctrl+right_square_bracket")
        frame_rows = {row[2] for row in binding_rows(app.focused, app)}
        assert {"pane.close", "pane.maximize", "pane.enter", "console.focus_next"} <= frame_rows
        assert isinstance(app.focused, Pane)
