"""The terminal widget without a container: keys out, bytes in, what it draws."""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import Button

from corral.tui.console.widgets.terminal.view import TerminalView
from tests.support.pilot import until


class ViewHost(App):
    """A terminal whose writer records what it sends, and a button to leave to."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.left = 0

    def compose(self) -> ComposeResult:
        yield TerminalView()
        yield Button("elsewhere")

    def on_mount(self) -> None:
        view = self.query_one(TerminalView)
        view.writer = self.sent.append
        view.focus()

    def on_terminal_view_focus_left(self, message: TerminalView.FocusLeft) -> None:
        self.left += 1


def spy_on(obj: object, name: str) -> list[tuple]:
    """Record the positional arguments of every call to `obj.name`."""
    calls: list[tuple] = []
    original = getattr(obj, name)

    def spy(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    setattr(obj, name, spy)
    return calls


async def test_keys_reach_the_program_including_tab_and_ctrl_c() -> None:
    app = ViewHost()
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.press("l", "s", "tab", "ctrl+c", "up", "enter", "ctrl+d")
        assert b"".join(app.sent) == b"ls\t\x03\x1b[A\r\x04"
        assert isinstance(app.focused, TerminalView)


async def test_arrows_follow_application_cursor_mode() -> None:
    app = ViewHost()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(TerminalView)
        view.feed(b"\x1b[?1h")
        await pilot.press("up", "left")
        assert b"".join(app.sent) == b"\x1bOA\x1bOD"


async def test_the_leave_chord_sends_nothing_and_moves_the_focus() -> None:
    app = ViewHost()
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.press("ctrl+right_square_bracket")
        await pilot.pause()
        assert app.sent == []
        assert isinstance(app.focused, Button)
        assert app.left == 1


async def test_queries_are_answered_through_the_writer() -> None:
    app = ViewHost()
    async with app.run_test(size=(40, 10)) as pilot:
        app.query_one(TerminalView).feed(b"/ # \x1b[6n")
        await pilot.pause()
        assert app.sent == [b"\x1b[1;5R"]


async def test_paste_is_bracketed_when_the_program_asks() -> None:
    app = ViewHost()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(TerminalView)
        view.feed(b"\x1b[?2004h")
        app.post_message(events.Paste("a\nb"))
        await pilot.pause()
        assert app.sent == [b"\x1b[200~a\rb\x1b[201~"]


async def test_resize_reports_the_size_in_cells() -> None:
    app = ViewHost()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(TerminalView)
        await pilot.pause()
        posted = spy_on(view, "post_message")
        await pilot.resize_terminal(60, 20)

        def sizes() -> list[tuple[int, int]]:
            return [(m.rows, m.columns) for (m,) in posted if isinstance(m, TerminalView.Resized)]

        await until(pilot, lambda: bool(sizes()), "a resize")
        assert sizes()[-1] == (view.size.height, 60)
        assert (view.terminal.lines, view.terminal.columns) == sizes()[-1]


async def test_only_changed_rows_are_redrawn() -> None:
    app = ViewHost()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(TerminalView)
        view.feed(b"one\r\ntwo\r\n")
        await until(pilot, lambda: view.settled, "the first output painted")
        regions = spy_on(view, "refresh")
        view.feed(b"three")
        await until(pilot, lambda: view.settled and regions, "the new output painted")
        assert regions and all(
            all(isinstance(region, Region) and region.height == 1 for region in call)
            for call in regions
        )
        assert {region.y for call in regions for region in call} == {2}


async def test_colours_and_the_cursor_are_drawn() -> None:
    app = ViewHost()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(TerminalView)
        view.feed(b"\x1b[1;31mred\x1b[0m ok")
        await until(pilot, lambda: view.settled, "the output painted")
        segments = list(view.render_line(0))
        red = next(segment for segment in segments if segment.text == "red")
        assert red.style.bold and red.style.color.name == "red"
        cursor = next(segment for segment in segments if segment.style.reverse)
        assert cursor.text == " "


async def test_scrollback_shows_earlier_output_until_a_key_is_typed() -> None:
    app = ViewHost()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(TerminalView)
        view.feed(b"".join(b"line %d\r\n" % n for n in range(50)))
        await until(pilot, lambda: view.settled, "the output painted")
        first = 50 - (view.terminal.lines - 1)
        assert view.screen_lines()[0] == f"line {first}"
        await pilot.press("shift+pageup")
        assert view.history_offset > 0
        top = "".join(segment.text for segment in view.render_line(0)).strip()
        assert top == f"line {first - view.history_offset}"
        await pilot.press("x")
        assert view.history_offset == 0
        assert app.sent == [b"x"]


async def test_a_flood_is_collapsed_and_its_end_shown() -> None:
    app = ViewHost()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(TerminalView)
        view.feed(b"".join(b"row %d\r\n" % n for n in range(100_000)) + b"$ ")
        await until(pilot, lambda: not view.busy, "the flood to be drawn", timeout=10)
        assert view.screen_lines()[-2:] == ["row 99999", "$"]
        assert view.skipped_lines > 90_000
        # The dropped rows are in the scrollback as text, then real rows.
        history = view.terminal.history
        first_kept = 100_000 - view.terminal.lines
        assert history[-2] == f"row {first_kept - 1}"
        assert "".join(char.data for _, char in sorted(history[-1].items())) == f"row {first_kept}"
