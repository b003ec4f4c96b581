"""What an idle console does not do: read host facts for a hidden view, repaint unchanged
figures, pile stats reads up, or let the health pass miss a change it waits for (issue 17)."""

from __future__ import annotations

import dataclasses
import threading
import time

from corral.backends.engine.watch import Upsert
from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.model.stats_schedule import StatsSchedule
from corral.tui.console.screens.console import DRAIN_IDLE_SECONDS, DRAIN_SECONDS, ConsoleScreen
from corral.tui.console.views.containers import ContainersView
from corral.tui.console.widgets.health_watch import HealthWatch
from tests.support import fleet_data
from tests.support.pilot import until
from tests.support.still_console import SIZE, feed
from tests.support.still_data import StillData


class CountingData(StillData):
    """StillData that counts host-fact reads and holds stats reads until released."""

    def __init__(self) -> None:
        super().__init__()
        self.host_reads = 0
        self.stats_reads = 0
        self.release = threading.Event()

    def host_records(self):
        self.host_reads += 1
        return None

    def usage(self, keys):
        self.stats_reads += 1
        self.release.wait(10)
        return None


def app_on(data: CountingData) -> CorralApp:
    specs = tuple(HostSpec(name, SshTarget("127.0.0.1", "root", 9), labels=labels)
                  for name, (_, labels) in fleet_data.HOSTS.items())
    return CorralApp(Inventory(hosts=specs), SshSettings(), Config(),
                     data=data)  # type: ignore[arg-type]


async def test_host_facts_are_read_only_while_the_hosts_view_shows() -> None:
    data = CountingData()
    data.release.set()
    async with app_on(data).run_test(size=SIZE) as pilot:
        await feed(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ConsoleScreen)
        await pilot.pause()
        reads = data.host_reads
        for _ in range(3):  # the periodic refresh, with the containers view shown
            screen.refresh_hosts_view()
        await pilot.pause()
        assert data.host_reads == reads
        screen.show_view("hosts")  # shown: read at once, and then on each refresh
        await until(pilot, lambda: data.host_reads == reads + 1, "the read on showing")
        screen.refresh_hosts_view()
        await until(pilot, lambda: data.host_reads == reads + 2, "the periodic read")


async def test_unchanged_figures_touch_no_cell_and_changed_ones_only_theirs() -> None:
    async with app_on(CountingData()).run_test(size=SIZE) as pilot:
        await feed(pilot)
        view = pilot.app.screen.query_one(ContainersView)
        usage = {k: v for k, v in fleet_data.usage().items() if k in view.rows}
        updated: list[tuple[str, str]] = []
        original = view.update_cell

        def counting(row_key, column_key, value, **kwargs):
            updated.append((str(row_key), str(column_key)))
            original(row_key, column_key, value, **kwargs)

        view.update_cell = counting  # type: ignore[method-assign]
        view.set_usage(dict(usage))  # the same figures again (feed showed them)
        assert updated == []
        key = next(iter(usage))
        cpu, mem = usage[key]
        view.set_usage({**usage, key: ((cpu or 0) + 12.5, mem)})
        assert updated == [(key, "cpu")]
        view.redraw()  # a rebuild knows what set_usage drew: nothing to do again
        assert updated == [(key, "cpu")]


async def test_a_stats_read_still_running_is_not_joined_by_another() -> None:
    data = CountingData()
    async with app_on(data).run_test(size=SIZE) as pilot:
        await feed(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ConsoleScreen)
        screen.sample_visible_stats()
        await until(pilot, lambda: data.stats_reads == 1, "the first read")
        for _ in range(3):  # the timer ticks while the host is slow
            screen.sample_visible_stats()
        await pilot.pause()
        assert data.stats_reads == 1
        data.release.set()
        await until(pilot, lambda: not screen._stats_reading, "the read to end")
        screen.sample_visible_stats()
        await until(pilot, lambda: data.stats_reads == 2, "the next read")


async def test_a_changed_container_or_host_wakes_a_quiet_health_pass() -> None:
    data = CountingData()
    data.release.set()
    async with app_on(data).run_test(size=SIZE) as pilot:
        await feed(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ConsoleScreen)
        watch = screen.query_one(HealthWatch)
        screen.drain_updates()
        watch._changed = False
        screen.drain_updates()  # nothing new
        assert not watch._changed
        row = fleet_data.containers()["lab1"][0]
        # The engine's healthcheck verdict alone: the row changes, the pass has nothing new
        # to read (across 20 hosts × 100 containers, these made most of an idle console's
        # engine calls: three a host per pass).
        flipped = dataclasses.replace(row, status="Up 3 minutes (unhealthy)")
        screen.store.put(Upsert("lab1", flipped, health_only=True))
        screen.drain_updates()
        assert not watch._changed
        assert screen.query_one(ContainersView).records[f"lab1/{row.id}"] == flipped
        screen.store.put(Upsert("lab1", dataclasses.replace(row, status="Exited (1) 1 second ago")))
        screen.drain_updates()
        assert watch._changed
        watch._changed = False
        screen._online_seen = {"lab9"}  # a host went offline (or came back)
        screen.drain_updates()
        assert watch._changed


async def test_quiet_containers_are_not_read_at_every_stats_tick() -> None:
    data = CountingData()
    data.release.set()
    read: list[list[str]] = []

    def usage(keys):
        read.append(list(keys))
        return {key: (0.0, 1_000_000) for key in keys}

    data.usage = usage  # type: ignore[method-assign]
    async with app_on(data).run_test(size=SIZE) as pilot:
        await feed(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ConsoleScreen)
        now = [0.0]
        screen.stats_schedule = StatsSchedule(clock=lambda: now[0])
        for count in (1, 2):  # read once, then once more for a CPU rate
            screen.sample_visible_stats()
            await until(pilot, lambda c=count: not screen._stats_reading and len(read) == c,
                        "a read")
            now[0] += 3  # the next tick
        first = len(read)
        screen.sample_visible_stats()  # each was quiet: none due
        await pilot.pause()
        assert len(read) == first and read[0]


async def test_an_empty_queue_is_not_polled_and_a_put_from_a_thread_is_drained_soon() -> None:
    async with app_on(CountingData()).run_test(size=SIZE) as pilot:
        await feed(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ConsoleScreen)
        drains: list[float] = []
        original = screen.store.drain

        def counting(*args, **kwargs):
            drains.append(time.monotonic())
            return original(*args, **kwargs)

        screen.store.drain = counting  # type: ignore[method-assign]
        began = time.monotonic()
        await pilot.pause(0.7)
        # Nothing put: only the once-a-second heartbeat may look (a 10 Hz poll
        # would have drained about seven times).
        assert len(drains) <= 1 + (time.monotonic() - began) / DRAIN_IDLE_SECONDS
        row = fleet_data.containers()["lab1"][0]
        changed = dataclasses.replace(row, status="Exited (1) 1 second ago")
        worker = threading.Thread(target=screen.store.put, args=(Upsert("lab1", changed),))
        worker.start()
        worker.join()
        assert screen._drain_asked  # the put itself woke the drain
        view = screen.query_one(ContainersView)
        key = f"lab1/{row.id}"
        await until(pilot, lambda: view.records[key].status == changed.status, "the drained put")
        await until(pilot, lambda: not screen._drain_asked, "the next put to be able to wake it")


async def test_one_changed_container_computes_and_repaints_only_its_row(monkeypatch) -> None:
    async with app_on(CountingData()).run_test(size=SIZE) as pilot:
        await feed(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ConsoleScreen)
        view = screen.query_one(ContainersView)
        now = time.time()
        monkeypatch.setattr("corral.tui.console.views.containers.time.time", lambda: now)
        listed = dataclasses.replace(fleet_data.containers()["lab3"][0], listed_at=now)
        screen.store.put(Upsert("lab3", listed))  # its SINCE counts on from now
        screen.drain_updates()  # at a clock that stands still: SINCE moves no cell by itself
        await pilot.pause()
        computed: list[str] = []
        whole: list[bool] = []
        cells, refresh = view.cells, view.refresh

        def counting_cells(record):
            computed.append(record.name)
            return cells(record)

        def counting_refresh(*regions, **kwargs):
            whole.append(not regions)
            return refresh(*regions, **kwargs)

        monkeypatch.setattr(view, "cells", counting_cells)
        monkeypatch.setattr(view, "refresh", counting_refresh)
        row = fleet_data.containers()["lab1"][0]
        screen.store.put(Upsert("lab1", dataclasses.replace(
            row, state="exited", status="Exited (1) 1 second ago")))
        screen.drain_updates()
        assert computed == [row.name]  # the other rows' cells are reused
        assert whole and not any(whole)  # its row alone (the border's count did not change)
        assert str(view.get_cell(f"lab1/{row.id}", "state")) == "exited"

        # What the cells read besides the record still counts: the clock (SINCE),
        # a stale host.
        since = {key: str(view.get_cell(key, "since")) for key in view.records}
        later = now + 3 * 86400
        monkeypatch.setattr("corral.tui.console.views.containers.time.time", lambda: later)
        view.redraw()
        moved = [key for key in view.records if str(view.get_cell(key, "since")) != since[key]]
        assert moved == [f"lab3/{listed.id}"] and computed == [row.name, listed.name]
        view.stale = {"lab2": "connection refused"}
        view.redraw()
        states = {key: str(view.get_cell(key, "state")) for key in view.records}
        assert {states[key] for key in states if key.startswith("lab2/")} == {"stale"}
        assert "stale" not in {states[key] for key in states if key.startswith("lab1/")}


async def test_a_put_after_a_quiet_spell_drains_at_once_and_a_burst_still_batches() -> None:
    async with app_on(CountingData()).run_test(size=SIZE) as pilot:
        await feed(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ConsoleScreen)
        await until(pilot, lambda: not screen._drain_asked, "the feed drained")
        for timer in list(screen._timers):  # no heartbeat drain in between
            timer.pause()
        timers: list[float] = []
        set_timer = screen.set_timer

        def recording(delay, callback=None, **kwargs):
            if callback == screen._woken_drain:
                timers.append(delay)
            return set_timer(delay, callback, **kwargs)

        screen.set_timer = recording  # type: ignore[method-assign]
        view = screen.query_one(ContainersView)
        rows = fleet_data.containers()["lab1"]
        screen._drained_at = time.monotonic() - 2 * DRAIN_SECONDS  # quiet since
        first = dataclasses.replace(rows[0], status="Exited (1) 1 second ago")
        screen.store.put(Upsert("lab1", first))
        key = f"lab1/{rows[0].id}"
        await until(pilot, lambda: view.records[key].status == first.status, "the first put")
        assert timers == []  # drained without waiting
        second = dataclasses.replace(rows[1], status="Exited (2) 1 second ago")
        screen.store.put(Upsert("lab1", second))  # right after: waits for the batch
        key = f"lab1/{rows[1].id}"
        await until(pilot, lambda: view.records[key].status == second.status, "the second")
        assert len(timers) == 1 and 0 < timers[0] <= DRAIN_SECONDS
