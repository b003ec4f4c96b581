"""The log pane as a user drives it, fed synthetic batches (no host needed)."""

from __future__ import annotations

from pathlib import Path

from rich.style import Style
from textual.scrollbar import ScrollTo

from corral.backends.logs.demux import NOTICE, STDERR, STDOUT, LogLine
from corral.tui.console.widgets.logs.view import LogPane
from tests.support.log_pane import T0, PaneHost, sample


def shown(pane: LogPane) -> list[str]:
    rows = pane.lines.rows
    return [pane.history.get(rows.seq_at(i)).text for i in range(rows.lines)]


async def prompt(pilot, key: str, text: str) -> None:
    await pilot.press(key)
    field = pilot.app.query_one("#log-prompt")
    field.value = text
    await pilot.press("enter")
    await pilot.pause()


def test_every_binding_has_an_id_and_a_tooltip() -> None:
    for binding in LogPane.BINDINGS:
        assert binding.id and binding.id.startswith("logs.")
        assert binding.tooltip


async def test_batches_show_and_the_view_follows_the_end() -> None:
    async with PaneHost().run_test(size=(100, 20)) as pilot:
        pane = pilot.app.query_one(LogPane)
        for start in range(0, 500, 100):
            pane.feed(sample(100, start))
        await pilot.pause()
        lines = pane.lines
        assert len(pane.history) == 500
        assert lines.follow and lines.scroll_y == lines.max_scroll_y > 0
        assert "lab1/shop-cart-1" in pane.border_title or "2 container" in pane.border_title
        await pilot.press("p")
        pane.feed(sample(50, 500))
        assert not lines.follow and lines.scroll_y < lines.max_scroll_y
        await pilot.press("end")
        assert lines.follow and lines.scroll_y == lines.max_scroll_y


async def test_a_scroll_to_the_end_not_yet_applied_does_not_pause_following() -> None:
    """Under load the last scroll to the end may land after the next batch arrives."""
    async with PaneHost().run_test(size=(100, 20)) as pilot:
        pane = pilot.app.query_one(LogPane)
        lines = pane.lines
        pane.feed(sample(100, 0))
        await pilot.pause()
        applied = lines.scroll_end
        lines.scroll_end = lambda *args, **kwargs: None  # the scrolls lag behind
        for start in range(100, 400, 100):
            pane.feed(sample(100, start))
        assert lines.follow and not lines.auto_paused
        lines.scroll_end = applied
        pane.feed(sample(10, 400))
        assert lines.follow and lines.scroll_y == lines.max_scroll_y
        lines.post_message(ScrollTo(y=lines.scroll_y - 5, animate=False))  # the user drags
        await pilot.pause()
        pane.feed(sample(10, 410))
        assert not lines.follow and lines.auto_paused
        lines.post_message(ScrollTo(y=lines.max_scroll_y, animate=False))
        await pilot.pause()
        pane.feed(sample(10, 420))
        assert lines.follow and not lines.auto_paused


async def test_only_the_user_pauses_following_not_a_layout_that_moved_the_view() -> None:
    """CI: after an outage and a view switch the pane paused itself, off the end by layout."""
    async with PaneHost().run_test(size=(100, 20)) as pilot:
        pane = pilot.app.query_one(LogPane)
        lines = pane.lines
        pane.feed(sample(300, 0))
        await pilot.pause()
        lines.scroll_to(y=lines.scroll_y - 5, animate=False, immediate=True, force=True)
        lines._followed_y = lines.scroll_y + 1  # as a shrink-then-grow of the pane leaves it
        pane.feed(sample(10, 300))
        assert lines.follow and not lines.auto_paused
        assert lines.scroll_y == lines.max_scroll_y
        lines.focus()
        await pilot.press("up")  # a key pauses at once, before any batch
        assert not lines.follow and lines.auto_paused
        assert "paused" in pane._status
        pane.feed(sample(10, 310))
        assert not lines.follow
        await pilot.press("end")
        assert lines.follow and not lines.auto_paused
        await pilot.press("pageup")
        await pilot.pause()
        pane.feed(sample(10, 320))
        assert not lines.follow and lines.scroll_y < lines.max_scroll_y


async def test_filter_and_inverse_filter() -> None:
    async with PaneHost().run_test(size=(100, 20)) as pilot:
        pane = pilot.app.query_one(LogPane)
        pane.feed(sample(70))
        await prompt(pilot, "f", "error")
        assert shown(pane) == [ln.text for ln in sample(70) if ln.stream == STDERR]
        pane.feed(sample(14, 70))  # new lines go through the filter too
        assert len(shown(pane)) == 12
        await pilot.press("exclamation_mark")
        assert len(shown(pane)) == 84 - 12 and not any("error" in t for t in shown(pane))
        await prompt(pilot, "f", "lab2")  # the source label matches too
        assert all(int(t.split()[0][4:]) % 2 == 1 for t in shown(pane)) is False  # inverse still on
        await pilot.press("exclamation_mark")
        assert all(int(t.split()[0][4:]) % 2 == 1 for t in shown(pane))
        await prompt(pilot, "f", "")
        assert len(shown(pane)) == 84
        await prompt(pilot, "f", "([")
        assert "bad regex" in str(pane.query_one("#log-status").render())


async def test_search_highlights_and_jumps_both_ways() -> None:
    async with PaneHost().run_test(size=(100, 20)) as pilot:
        pane = pilot.app.query_one(LogPane)
        pane.feed(sample(300))
        pane.lines.scroll_to(y=0, animate=False, immediate=True, force=True)
        await prompt(pilot, "slash", r"seq=1\d\d ")
        lines = pane.lines
        assert pane.history.get(lines.current).text.startswith("seq=100 ")
        assert not lines.follow
        await pilot.press("n")
        assert pane.history.get(lines.current).text.startswith("seq=101 ")
        await pilot.press("N")
        await pilot.press("N")
        assert pane.history.get(lines.current).text.startswith("seq=100 ")
        assert "no more matches" in str(pane.query_one("#log-status").render())
        # The match is on screen and drawn in the highlight colour.
        row = lines.rows.row_of(lines.rows.index_of(lines.current)) - lines.scroll_y
        assert 0 <= row < lines.size.height
        strip = lines.render_line(row)
        assert any(seg.style and seg.style.bgcolor and "seq=100" in seg.text for seg in strip)
        await pilot.press("escape")
        assert lines.search is None


async def test_ansi_colours_render_and_controls_do_not_reach_the_screen() -> None:
    async with PaneHost().run_test(size=(100, 10)) as pilot:
        pane = pilot.app.query_one(LogPane)
        pane.feed([LogLine(T0, 0, STDOUT, "\x1b[31mred\x1b[0m \x1b]0;title\x07\x1b[2Jplain\x07")])
        await pilot.pause()
        strip = pane.lines.render_line(0)
        text = "".join(seg.text for seg in strip)
        assert r"red \x1b]0;title\x07\x1b[2Jplain\x07" in text
        assert "\x1b" not in text and "\x07" not in text
        red = [seg for seg in strip if seg.text == "red"]
        assert red and red[0].style.color.number == Style(color="red").color.number == 1


async def test_timestamps_and_wrap_change_the_layout() -> None:
    async with PaneHost().run_test(size=(60, 20)) as pilot:
        pane = pilot.app.query_one(LogPane)
        pane.feed(sample(10) + [LogLine(T0 + 10**9, 0, STDOUT, "x" * 200)])
        lines = pane.lines
        assert lines.rows.rows == 11
        await pilot.press("t")
        assert pane.look.timestamps
        assert "".join(s.text for s in lines.render_line(0)).startswith("2026-11-25T17:22:07.000Z")
        await pilot.press("w")
        assert lines.rows.rows > 11
        assert lines.virtual_size.width <= lines.size.width
        await pilot.press("w")
        assert lines.rows.rows == 11


async def test_since_tail_clear_and_close() -> None:
    async with PaneHost().run_test(size=(100, 20)) as pilot:
        pane = pilot.app.query_one(LogPane)
        pane.feed(sample(10))
        await pilot.press("s")
        assert "since 1m" in str(pane.query_one("#log-status").render())
        await prompt(pilot, "l", "500")
        assert pane.tail == 500 and "tail 500" in str(pane.query_one("#log-status").render())
        await prompt(pilot, "l", "lots")
        assert "bad tail count" in str(pane.query_one("#log-status").render())
        pane.feed(sample(10, 10))
        await pilot.press("c")
        assert len(pane.history) == 0 and pane.lines.rows.rows == 0
        await pilot.press("q")
        await pilot.pause()
        assert pilot.app.closed == 1


async def test_save_shown_and_whole_history(tmp_path: Path) -> None:
    async with PaneHost().run_test(size=(100, 20)) as pilot:
        pane = pilot.app.query_one(LogPane)
        pane.feed(sample(40) + [LogLine(T0 + 10**9, 1, NOTICE, "container stopped")])
        await prompt(pilot, "f", "error")
        await prompt(pilot, "o", str(tmp_path / "shown.log"))
        await pilot.app.workers.wait_for_complete()
        await prompt(pilot, "O", str(tmp_path / "all.log"))
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        shown_lines = (tmp_path / "shown.log").read_text().splitlines()
        assert len(shown_lines) == 6 and all("┃ seq=" in ln and "error" in ln for ln in shown_lines)
        assert shown_lines[0] == "lab2/shop-cart-2 ┃ seq=3 error: upstream timed out"
        every = (tmp_path / "all.log").read_text().splitlines()
        assert len(every) == 41 and every[-1] == "lab2/shop-cart-2 » container stopped"
        assert every[0] == "lab1/shop-cart-1 │ seq=0 ok"  # colours stripped
        assert "saved 41 lines" in str(pane.query_one("#log-status").render())


async def test_history_beyond_memory_scrolls_back_from_disk() -> None:
    async with PaneHost(memory_lines=1000, max_lines=50_000).run_test(size=(100, 20)) as pilot:
        pane = pilot.app.query_one(LogPane)
        for start in range(0, 20_000, 2000):
            pane.feed(sample(2000, start))
        assert pane.history.spooled >= 18_000
        pane.lines.scroll_to(y=0, animate=False, immediate=True, force=True)
        await pilot.pause()
        assert "seq=0 ok" in "".join(s.text for s in pane.lines.render_line(0))
        assert "on disk" in str(pane.query_one("#log-status").render())


async def test_a_filter_given_up_front_applies_from_the_first_line() -> None:
    async with PaneHost(keep="timed out").run_test(size=(100, 20)) as pilot:
        pane = pilot.app.query_one(LogPane)
        pane.feed(sample(21))
        assert shown(pane) == [f"seq={n} error: upstream timed out" for n in (3, 10, 17)]


class _Waiting:
    """Stands in for the follower: which hosts it waits for."""

    def __init__(self, *hosts: str) -> None:
        self.hosts = list(hosts)

    def waiting_for(self) -> list[str]:
        return self.hosts

    def stop(self) -> None:
        pass


async def test_a_host_that_is_down_shows_as_waiting_not_following() -> None:
    from corral.backends.ssh import HostState, HostStatus

    app = PaneHost()
    async with app.run_test(size=(100, 20)) as pilot:
        pane = app.query_one(LogPane)
        status_line = pane.query_one("#log-status")
        pane.follower = _Waiting("lab2")
        pane.host_status_changed(HostStatus("lab2", HostState.OFFLINE, "keepalive timeout"))
        await pilot.pause()
        # A service spread over hosts keeps following the others.
        assert pane._status.startswith("● following · ◌ waiting for lab2 · ")
        assert status_line.has_class("-waiting")
        pane.follower.hosts.clear()
        pane.host_status_changed(HostStatus("lab2", HostState.ONLINE))
        await pilot.pause()
        assert "waiting" not in pane._status and not status_line.has_class("-waiting")


async def test_a_changed_host_key_stops_the_pane_instead_of_waiting() -> None:
    from corral.backends.errors import HostKeyChanged
    from corral.backends.ssh import HostState, HostStatus

    app = PaneHost()
    async with app.run_test(size=(100, 20)) as pilot:
        pane = app.query_one(LogPane)
        pane.follower = _Waiting("lab2")
        pane.follower.fatal = HostKeyChanged("NOT the key", host="lab2")
        pane.host_status_changed(
            HostStatus("lab2", HostState.OFFLINE, "NOT the key", key_changed=True))
        await pilot.pause()
        assert pane._status.startswith("✖ stopped: HOST KEY CHANGED on lab2 · ")
        assert "waiting" not in pane._status
