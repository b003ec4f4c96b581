"""Pictures of every console view at 140x40 on a made-up, frozen fleet.

Update after an intended change with `pytest tests/snapshots --snapshot-update`
and look at the SVGs in `__snapshots__/` before committing them.
"""

from __future__ import annotations

from textual.pilot import Pilot

from corral.backends.deploy import ReconcileReport
from corral.tui.console.screens.modals import ConfirmScreen, TextScreen
from corral.tui.console.widgets.command_line import CommandLine
from corral.tui.console.widgets.health_watch import HealthWatch
from tests.support.pilot import command, until
from tests.support.still_console import SIZE, feed


def test_containers(snap_compare, still_console) -> None:
    """Every host's containers with health, uptime, ports, CPU and memory."""
    assert snap_compare(still_console(), terminal_size=SIZE, run_before=feed)


def test_containers_with_a_host_down(snap_compare, still_console) -> None:
    """lab3 is offline: the bar says why and its rows are marked stale, not dropped."""

    async def run_before(pilot: Pilot) -> None:
        await feed(pilot, offline=("lab3",))

    assert snap_compare(still_console(), terminal_size=SIZE, run_before=run_before)


def test_containers_filtered(snap_compare, still_console) -> None:
    """`/web` keeps the web replicas; the subtitle names the filter."""

    async def run_before(pilot: Pilot) -> None:
        await feed(pilot)
        await command(pilot, "/", "web")

    assert snap_compare(still_console(), terminal_size=SIZE, run_before=run_before)


def test_containers_problems_only(snap_compare, still_console) -> None:
    """`p` keeps exited non-zero, restarting and unhealthy containers."""

    async def run_before(pilot: Pilot) -> None:
        await feed(pilot)
        await pilot.press("p")

    assert snap_compare(still_console(), terminal_size=SIZE, run_before=run_before)


def test_command_line_completes(snap_compare, still_console) -> None:
    """`:` opens the command line, which suggests the rest of a view's name."""

    async def run_before(pilot: Pilot) -> None:
        await feed(pilot)
        await pilot.press("colon", "v", "o", "l", "u")
        pilot.app.screen.query_one(CommandLine).cursor_blink = False

    assert snap_compare(still_console(), terminal_size=SIZE, run_before=run_before)


def view_test(name: str, offline: tuple[str, ...] = ()):
    """A snapshot test of the view `:name` switches to."""

    def test(snap_compare, still_console) -> None:
        async def run_before(pilot: Pilot) -> None:
            await feed(pilot, offline=offline)
            await command(pilot, ":", name)

        assert snap_compare(still_console(), terminal_size=SIZE, run_before=run_before)

    test.__doc__ = f"`:{name}` on the made-up fleet."
    return test


test_hosts = view_test("hosts", offline=("lab3",))


def test_stacks(snap_compare, still_console) -> None:
    """`:stacks` once a health pass has said each stack's state (as `corral stacks` does)."""

    async def run_before(pilot: Pilot) -> None:
        await feed(pilot)
        await command(pilot, ":", "stacks")
        states = {"shop": "active", "billing": "upgraded", "cron": "degraded", "edge": "unknown"}
        pilot.app.screen.post_message(HealthWatch.PassDone(ReconcileReport(states=states), None))
        await pilot.pause()

    assert snap_compare(still_console(), terminal_size=SIZE, run_before=run_before)


test_volumes = view_test("volumes")
test_images = view_test("images")
test_events = view_test("events")


def test_help(snap_compare, still_console) -> None:
    """`?` lists every key of the containers view with its binding id."""

    async def run_before(pilot: Pilot) -> None:
        await feed(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(pilot.app.screen, TextScreen), "help")

    assert snap_compare(still_console(), terminal_size=SIZE, run_before=run_before)


def test_inspect(snap_compare, still_console) -> None:
    """`y` shows the container as the engine describes it, in YAML."""

    async def run_before(pilot: Pilot) -> None:
        await feed(pilot)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(pilot.app.screen, TextScreen), "inspect")

    assert snap_compare(still_console(), terminal_size=SIZE, run_before=run_before)


def test_confirm_remove(snap_compare, still_console) -> None:
    """Removing two marked containers asks first, naming host and container."""

    async def run_before(pilot: Pilot) -> None:
        await feed(pilot)
        await pilot.press("space", "space", "ctrl+d")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "confirm")

    assert snap_compare(still_console(), terminal_size=SIZE, run_before=run_before)


def test_no_hosts(snap_compare, still_console) -> None:
    """With an empty inventory the console explains how to add a host."""
    assert snap_compare(still_console(hosts=False), terminal_size=SIZE)


def test_readonly(snap_compare, still_console) -> None:
    """`--readonly`: the header says so and no mutating key is offered."""
    assert snap_compare(still_console(readonly=True), terminal_size=SIZE, run_before=feed)


def test_nodes(snap_compare, still_console) -> None:
    """`:nodes`: a made-up swarm's nodes, one of them down."""
    from corral.tui.console.screens.console import ConsoleScreen
    from tests.support import swarm_data

    async def run_before(pilot: Pilot) -> None:
        await feed(pilot)
        await command(pilot, ":", "nodes")
        pilot.app.screen.post_message(ConsoleScreen.Loaded("nodes", swarm_data.nodes(), []))
        await pilot.pause()

    assert snap_compare(still_console(), terminal_size=SIZE, run_before=run_before)
