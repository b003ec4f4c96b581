"""The host strip with dozens of hosts: a host that is down is never cut off (issue 17)."""

from __future__ import annotations

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
        text = bar.render_statuses()
        lines = text.wrap(pilot.app.console, bar.content_region.width)
        assert len(lines) <= 3
        plain = text.plain
        assert plain.startswith("48/50 online   ✖ lab49 (connection refused)   ✖ lab50")
        shown = sum(1 for n in range(1, 51) if f"lab{n} " in plain or plain.endswith(f"lab{n}"))
        assert plain.endswith(f"+{50 - shown} more") and 10 < shown < 50
        # A host coming back moves back among the others; the count says so.
        bar.set_status(HostStatus("lab49", HostState.ONLINE))
        assert bar.render_statuses().plain.startswith("49/50 online   ✖ lab50")
        # A wider terminal shows more of them.
        await pilot.resize_terminal(200, 10)
        await pilot.pause()
        assert bar.render_statuses().plain.count("●") > plain.count("●")
