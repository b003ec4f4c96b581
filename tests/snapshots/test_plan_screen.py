"""Pictures of the plan screen: the demo's placement, its apply, an unplaceable stack.

The planner is the real one on three made-up hosts (`tests/support/plan_pilot.py`), so
the pictures only change when the planner, the catalog entry or the screen do.
Update after an intended change with `pytest tests/snapshots --snapshot-update`
and look at the SVGs in `__snapshots__/` before committing them.
"""

from __future__ import annotations

from textual.pilot import Pilot

from corral.backends.plan.model import HostInfo
from tests.support.pilot import until
from tests.support.plan_pilot import FakeFlow, PlanApp, image_rows, planned_screen

SIZE = (140, 40)


def test_plan(snap_compare) -> None:
    """Each replica's host and reason, the hosts not chosen, the link warning, the changes."""

    async def run_before(pilot: Pilot) -> None:
        await planned_screen(pilot)

    assert snap_compare(PlanApp(FakeFlow()), terminal_size=SIZE, run_before=run_before)


def test_plan_applying(snap_compare) -> None:
    """Every container's progress during the apply, and the count under the table."""
    flow = FakeFlow()

    async def run_before(pilot: Pilot) -> None:
        screen = await planned_screen(pilot)
        await pilot.press("a", "y")
        await until(pilot, lambda: all(
            str(screen.table.get_row(key)[6]) == "healthy ✓" for key in screen.table.step_keys),
            "every container healthy")
        await pilot.pause()

    try:
        assert snap_compare(PlanApp(flow), terminal_size=SIZE, run_before=run_before)
    finally:
        flow.gate.set()


def test_plan_unplaceable(snap_compare) -> None:
    """No host has role=media: each host and the rule that excluded it; nothing changed."""
    edge_only = tuple(HostInfo(f"edge{i}", {"role": "edge"}, cpus=2) for i in (1, 2))

    async def run_before(pilot: Pilot) -> None:
        await planned_screen(pilot)

    assert snap_compare(PlanApp(FakeFlow(edge_only)), terminal_size=SIZE, run_before=run_before)


def test_plan_images(snap_compare) -> None:
    """How each image reaches each host: present, pushed (bytes), pulled, unavailable."""

    async def run_before(pilot: Pilot) -> None:
        await planned_screen(pilot)

    assert snap_compare(PlanApp(FakeFlow(images=image_rows)), terminal_size=(140, 50),
                        run_before=run_before)
