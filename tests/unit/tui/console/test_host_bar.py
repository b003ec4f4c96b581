"""The host strip with dozens of hosts: a host that is down is never cut off (issue 17)."""

from __future__ import annotations

import re

from rich.cells import cell_len
from textual.app import App, ComposeResult

from corral.backends.ssh.session import HostState
from corral.backends.ssh.status import HostStatus
from corral.tui.console.widgets.host_bar import HostBar


def statuses(count: int, down: tuple[str, ...] = ()) -> list[HostStatus]:
    return [HostStatus(f"lab{n}", HostState.OFFLINE if f"lab{n}" in down else HostState.ONLINE,
                       error="connection refused" if f"lab{n}" in down else None)
            for n in range(1, count + 1)]


class BarApp(App):
    def __init__(self, hosts: list[HostStatus]) -> None:
        super().__init__()
        self.hosts = hosts

    def compose(self) -> ComposeResult:
        yield HostBar(self.hosts)


async def test_a_few_hosts_read_in_inventory_order_then_the_count() -> None:
    async with BarApp(statuses(3, down=("lab2",))).run_test(size=(120, 10)) as pilot:
        await pilot.pause()
        text = pilot.app.query_one(HostBar).render_statuses().plain
        assert text == "● lab1   ✖ lab2 (connection refused)   ● lab3   2/3 online"


async def test_fifty_hosts_lead_with_the_count_and_the_hosts_that_are_down() -> None:
    async with BarApp(statuses(50, down=("lab49", "lab50"))).run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        bar = pilot.app.query_one(HostBar)
        plain = bar.render_statuses().plain
        lines = plain.split("\n")
        assert len(lines) <= 3 and all(cell_len(line) <= bar.content_region.width
                                       for line in lines)
        assert plain.startswith("48/50 online   ✖ lab49 (connection refused)   ✖ lab50")
        shown = len(re.findall(r"lab\d+\b", plain))
        assert plain.endswith(f"+{50 - shown} more") and 10 < shown < 50
        assert "● lab1   ● lab2" in plain  # the online ones in inventory order
        # A host coming back moves back among the others; the count says so.
        bar.set_status(HostStatus("lab49", HostState.ONLINE))
        assert bar.render_statuses().plain.startswith("49/50 online   ✖ lab50")
        # A wider terminal shows more of them.
        await pilot.resize_terminal(200, 10)
        await pilot.pause()
        assert bar.render_statuses().plain.count("●") > plain.count("●")


def test_cells_are_never_split() -> None:
    from corral.tui.console.widgets.host_bar import _lines_taken, _place

    assert _place([3, 3, 3], 9) == [0, 0, 1, 1]  # "abc   abc", then the third below
    assert _lines_taken([9, 1, 9], 9) == 3


async def test_a_long_reason_is_cut_to_the_width_and_the_count_stays() -> None:
    hosts = statuses(3)
    hosts[1] = HostStatus("lab2", HostState.OFFLINE, error="link lost: " + "no answer " * 12)
    async with BarApp(hosts).run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        bar = pilot.app.query_one(HostBar)
        lines = bar.render_statuses().plain.split("\n")
        assert len(lines) <= 3 and all(cell_len(line) <= bar.content_region.width
                                       for line in lines)
        assert lines[1].startswith("✖ lab2 (link lost: no answer") and lines[1].endswith("…")
        assert lines[-1].endswith("2/3 online")


async def test_down_hosts_that_do_not_fit_are_counted_as_down() -> None:
    down = tuple(f"lab{n}" for n in range(1, 13))
    async with BarApp(statuses(14, down=down)).run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        plain = pilot.app.query_one(HostBar).render_statuses().plain
        assert plain.startswith("2/14 online   ✖ lab1 (connection refused)")
        shown = len(re.findall(r"lab\d+\b", plain))
        assert plain.endswith(f"+{14 - shown} more ({12 - shown} not online)")  # 2 online
