"""Quiet containers' figures are read less often (issue 17: an idle console)."""

from __future__ import annotations

from corral.tui.console.model.stats_schedule import StatsSchedule

MB = 2**20


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_quiet_container_waits_a_busy_one_is_read_every_tick() -> None:
    clock = Clock()
    schedule = StatsSchedule(quiet_seconds=15, clock=clock)
    keys = ["lab1/idle", "lab1/busy", "lab1/new"]
    assert schedule.due(keys) == keys  # never read: every one
    # The first read has no CPU rate yet: read again at the next tick.
    schedule.read({"lab1/idle": (None, 10 * MB), "lab1/busy": (None, 10 * MB)})
    clock.now += 3
    assert schedule.due(keys) == keys
    schedule.read({"lab1/idle": (0.1, 10 * MB + 4096), "lab1/busy": (55.0, 10 * MB)})
    clock.now += 3
    assert schedule.due(keys) == ["lab1/busy", "lab1/new"]
    clock.now += 12
    assert schedule.due(keys) == keys  # the quiet one's figures are 15 s old
    # Memory that moves makes a container busy again, even at no CPU.
    schedule.read({"lab1/idle": (0.0, 30 * MB)})
    clock.now += 3
    assert "lab1/idle" in schedule.due(keys)


def test_gone_containers_are_forgotten() -> None:
    clock = Clock()
    schedule = StatsSchedule(clock=clock)
    schedule.read({"lab1/a": (None, MB)})
    schedule.read({"lab1/a": (0.0, MB), "lab1/b": (None, MB)})
    schedule.forget_except({"lab1/b"})
    assert schedule.due(["lab1/a"]) == ["lab1/a"]


def test_the_rows_figures_are_read_side_by_side() -> None:
    # One after the other, 38 rows of a busy engine took most of a minute to show.
    import threading
    from types import SimpleNamespace

    from corral.tui.console.model.data import read_usage

    barrier = threading.Barrier(3, timeout=5)

    class Tracker:
        def sample(self, session, container_id):
            barrier.wait()  # broken (an error) unless three reads run at once
            return SimpleNamespace(cpu_percent=0.5, memory=MB)

    fleet = SimpleNamespace(session=lambda host: host)
    usage = read_usage(fleet, Tracker(), ["lab1/a", "lab2/b", "lab1/c"])  # type: ignore[arg-type]
    assert usage == {key: (0.5, MB) for key in ("lab1/a", "lab2/b", "lab1/c")}
