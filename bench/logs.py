#!/usr/bin/env python3
"""Log throughput into the pane vs `docker logs -f` through the same SSH tunnel.

One lab container prints N numbered lines as fast as it can. Measured in the
same run, on the same engine and tunnel, so only the ratios travel:

* live: follow a fresh container from its start until N lines arrived;
* backlog: follow a container that already wrote its N lines (replay, then wait).

For each: lines/s reaching the pane (a headless Textual app with the real
`LogPane` and `LogFollower`) vs `docker -H unix://TUNNEL logs -f` into a
pipe that only counts lines (the ceiling); the longest UI stall (the
largest gap between ticks of a 10 ms timer while lines stream, with the
CPU time the console process, all threads together, got during that gap:
far less than the gap means the process was mostly not running, not busy);
and the pane's RSS growth after N lines.

Targets (issue 5): >= 100,000 lines/s into the pane, or >= 80% of the
ceiling if the ceiling is lower; longest stall < 100 ms; RSS growth <=
150 MB at 1,000,000 lines.

Usage: bench/logs.py [--dir LAB_DIR] [--lines N] [--no-pin]   (starts the lab if needed;
the lab runs on its own CPUs unless --no-pin, see pinning.py)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import docker
from pinning import cpu_split, lab_cpus, pin_self  # bench/ is on sys.path as a script
from tunnel import lab_status

from corral.backends.inventory.load import Inventory, load_inventory
from corral.backends.logs.follow import LogOptions
from corral.backends.logs.target import LogTarget
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.session import HostState
from corral.tui.console.fleet_app import FleetApp
from corral.tui.console.widgets.logs.view import LogPane


@dataclass
class PaneRun:
    """What one pane run measured."""

    rate: float
    stall_ms: float
    stall_cpu_ms: float
    p99_ms: float
    rss_growth_mb: float
    rss_mb: float


def rss_mb() -> float:
    """This process's resident set size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_worker(client: docker.DockerClient, name: str, lines: int):
    """A fresh worker printing `lines` lines flat out."""
    for old in client.containers.list(all=True, filters={"name": f"^{name}$"}):
        old.remove(force=True)
    return client.containers.run(
        "corral-lab/worker:1", name=name, environment={"RATE": "0", "COUNT": str(lines)},
        detach=True,
    )


def wait_written(container, lines: int) -> None:
    """Wait until the worker printed its last line."""
    last = f"seq={lines} ".encode()
    while last not in container.logs(tail=1):
        time.sleep(0.2)


def ceiling(tunnel: str, name: str, lines: int) -> float:
    """Lines/s of `docker logs -f` through the tunnel, counted in a pipe."""
    start = time.perf_counter()
    process = subprocess.Popen(
        ["docker", "-H", f"unix://{tunnel}", "logs", "-f", name], stdout=subprocess.PIPE
    )
    count = 0
    while count < lines:
        chunk = process.stdout.read1(1 << 20)
        if not chunk:
            break
        count += chunk.count(b"\n")
    elapsed = time.perf_counter() - start
    process.kill()
    process.wait()
    return count / elapsed


class BenchApp(FleetApp):
    """A headless app that runs one measuring job, with a 10 ms tick to time stalls."""

    def __init__(self, inventory: Inventory, settings: SshSettings, job) -> None:
        super().__init__(inventory, settings)
        self.job = job
        self.result = None
        self.done = False
        self._last_tick = 0.0
        self._last_cpu = 0.0
        self.max_gap = 0.0
        self.max_gap_cpu = 0.0
        self.gaps: list[float] = []

    def on_mount(self) -> None:
        self.run_worker(self._run(), exclusive=True)

    async def _run(self) -> None:
        try:
            self.result = await self.job(self)
        finally:
            self.done = True

    def tick(self) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        if self._last_tick:
            gap = now - self._last_tick
            self.gaps.append(gap)
            if gap > self.max_gap:
                self.max_gap, self.max_gap_cpu = gap, cpu - self._last_cpu
        self._last_tick, self._last_cpu = now, cpu

    def p99_gap(self) -> float:
        """The 99th percentile of the gaps between ticks, in seconds."""
        gaps = sorted(self.gaps)
        return gaps[int(len(gaps) * 0.99)] if gaps else 0.0


def run_app(inventory: Inventory, settings: SshSettings, job):
    """Run `job(app)` inside a headless app and return its result."""
    app = BenchApp(inventory, settings, job)

    async def drive() -> None:
        async with app.run_test(headless=True, size=(160, 45)) as pilot:
            while not app.done:
                await pilot.pause(0.2)

    asyncio.run(drive())
    return app.result


async def online_tunnel(app: BenchApp, host: str) -> str:
    """The local path of `host`'s engine tunnel, once it is online."""
    session = app.fleet.session(host)
    while session.status.state is not HostState.ONLINE:
        await asyncio.sleep(0.05)
    return session.tunnel.path


def ceiling_job(target: LogTarget, lines: int, before):
    """A job: `docker logs -f` through the app's own tunnel."""

    async def job(app: BenchApp) -> float:
        path = await online_tunnel(app, target.host)
        await asyncio.to_thread(before)
        return await asyncio.to_thread(ceiling, path, target.name, lines)

    return job


def pane_job(target: LogTarget, lines: int, before):
    """A job: follow `target` in a fresh pane until `lines` lines are in it."""

    async def job(app: BenchApp) -> PaneRun:
        await online_tunnel(app, target.host)
        await asyncio.to_thread(before)
        rss_before = rss_mb()
        pane = LogPane(app.fleet, target, LogOptions(tail=None))
        start = time.perf_counter()
        await app.mount(pane)
        app._last_tick, app.max_gap, app.max_gap_cpu, app.gaps = 0.0, 0.0, 0.0, []
        timer = app.set_interval(0.01, app.tick)
        while pane.history.end < lines:
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - start
        timer.stop()
        await asyncio.sleep(0.5)  # the last batch settles before RSS is read
        rss_after = rss_mb()
        await pane.remove()
        return PaneRun(
            lines / elapsed, app.max_gap * 1000, app.max_gap_cpu * 1000, app.p99_gap() * 1000,
            rss_after - rss_before, rss_after,
        )

    return job


def idle_job(seconds: float):
    """A job: the longest gap between ticks with no pane at all (the machine's own noise)."""

    async def job(app: BenchApp) -> float:
        app._last_tick, app.max_gap = 0.0, 0.0
        timer = app.set_interval(0.01, app.tick)
        await asyncio.sleep(seconds)
        timer.stop()
        return app.max_gap * 1000

    return job


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/corral-lab", type=Path)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--no-pin", action="store_true",
                        help="let the lab share every CPU with the console (see pinning.py)")
    args = parser.parse_args()
    if shutil.which("docker") is None:
        raise SystemExit("the docker CLI is needed for the ceiling")
    hosts = lab_status(args.dir)
    host = hosts[0]
    split = None if args.no_pin else cpu_split()
    if split is not None:
        pin_self(split[0])
    inventory = load_inventory(args.dir / "inventory.yaml")
    settings = SshSettings(known_hosts=(str(args.dir / "known_hosts"),))
    client = docker.DockerClient(base_url=f"unix://{host['socket']}", version="auto")
    n = args.lines
    target = LogTarget.container(host["name"], "bench-logs")
    worker: list = []

    def fresh() -> None:
        worker[:] = [start_worker(client, target.name, n)]
        lab_cpus(hosts, split)

    def written() -> None:
        wait_written(worker[0], n)

    lab_cpus(hosts, split)
    load_before = os.getloadavg()[0]
    baseline = run_app(inventory, settings, idle_job(5.0))
    try:
        results = {
            "live": (
                run_app(inventory, settings, ceiling_job(target, n, fresh)),
                run_app(inventory, settings, pane_job(target, n, fresh)),
            ),
            "backlog": (
                run_app(inventory, settings, ceiling_job(target, n, written)),
                run_app(inventory, settings, pane_job(target, n, written)),
            ),
        }
    finally:
        for old in client.containers.list(all=True, filters={"name": f"^{target.name}$"}):
            old.remove(force=True)

    print(f"{n:,} lines from one lab container printing flat out ({host['name']}, SSH tunnel);")
    print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on "
          f"{os.cpu_count()} CPUs; longest UI stall of an idle app (no pane): {baseline:.0f} ms")
    if split is not None:
        print(f"console on CPU {sorted(split[0])}, lab hosts on CPU {sorted(split[1])} "
              "(as if the hosts were other machines; --no-pin to share)")
    else:
        print("lab hosts share every CPU with the console (--no-pin, or too few CPUs)")
    for scenario, (top, pane) in results.items():
        print(f"  {scenario:8} docker logs -f (ceiling) {top:>10,.0f} lines/s")
        print(f"  {'':8} into the pane            {pane.rate:>10,.0f} lines/s   "
              f"{pane.rate / top:.0%} of the ceiling (target >= 100,000/s or >= 80%)")
        print(f"  {'':8} longest UI stall         {pane.stall_ms:>10.0f} ms        (target < 100; "
              f"p99 of 10 ms ticks: {pane.p99_ms:.0f} ms; the console process had a CPU "
              f"for {pane.stall_cpu_ms:.0f} ms of it)")
        print(f"  {'':8} RSS growth               {pane.rss_growth_mb:>10.0f} MB        "
              f"(target <= 150; RSS {pane.rss_mb:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
