#!/usr/bin/env python3
"""Log throughput into the pane against independent ceilings (OpenSSH, the engine itself).

One lab container prints N numbered lines as fast as it can. Measured in the
same run, on the same engine, so only the ratios travel:

* live: follow a fresh container from its start until N lines arrived;
* backlog: follow a container that already wrote its N lines (replay, then wait).

For each, four readers of the same container, each until N lines arrived:

* the ceiling: `docker -H unix://LOCAL logs -f` where LOCAL is an OpenSSH
  stream-local forward of the host's engine socket (`ssh -N -L
  LOCAL:REMOTE_SOCKET root@HOST`, started once, its handshake not timed),
  into a pipe that only counts lines: what a user would type;
* beside it, the same with `-t`: the request the pane makes (it needs each
  line's engine time to merge containers and to resume after an outage
  without losing or repeating a line), so the engine's own cost of those
  timestamps shows apart from Corral's;
* the physical limit: the same `docker logs -f` on the engine's own socket
  (the lab's engines are on this machine), with no SSH at all;
* the pane: a headless Textual app (`App.run_test`: no terminal write; see
  `bench/logs_cli.py` for a real terminal) with the real `LogPane` and
  `LogFollower`, reading through the stream relay.

For the pane also: the longest UI stall (the largest gap between ticks of a
10 ms timer while lines stream, with the CPU time the console process, all
threads together, got during that gap: far less than the gap means the
process was mostly not running, not busy), and the RSS growth after N lines
of the console process plus its stream relay child (which the pane starts:
all of the relay's RSS counts as growth).

Targets (issue 17): the pane >= 0.9x the OpenSSH ceiling, live and backlog;
RSS growth (console + relay) <= 100 MB at 1,000,000 lines. Stall targets
(< 50 ms pinned, < 100 ms shared) are for a real terminal: `bench/logs_cli.py`.

Usage: bench/logs.py [--dir LAB_DIR] [--lines N] [--no-pin]   (starts the lab if needed;
the lab runs on its own CPUs unless --no-pin, see pinning.py)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
from pinning import cpu_split, lab_cpus, pin_self  # bench/ is on sys.path as a script
from tunnel import lab_status, ssh_config

from corral.backends.inventory.load import Inventory, load_inventory
from corral.backends.logs.follow import LogOptions
from corral.backends.logs.target import LogTarget
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.session import HostState
from corral.tui.console.fleet_app import FleetApp
from corral.tui.console.widgets.logs.view import LogPane

#: What a stream relay child's command line holds (see backends/ssh/relay.py): the
#: Python child's module, or the socket directory of OpenSSH's (`ssh -N -L`).
RELAY_MARKS = (b"relay_process", b"corral-pump-")


@dataclass
class PaneRun:
    """What one pane run measured."""

    rate: float
    stall_ms: float
    stall_cpu_ms: float
    p99_ms: float
    console_growth_mb: float
    relay_mb: float
    rss_mb: float

    @property
    def growth_mb(self) -> float:
        """RSS growth of the console plus all of its relay's RSS."""
        return self.console_growth_mb + self.relay_mb


def rss_mb(pid: int | str = "self") -> float:
    """A process's resident set size in MB (0 if it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def relay_pids(parent: int) -> list[int]:
    """Stream relay children of `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and any(mark in command for mark in RELAY_MARKS):
            found.append(int(entry.name))
    return found


def relay_rss_mb(parent: int) -> float:
    """RSS of `parent`'s stream relays together."""
    return sum(rss_mb(pid) for pid in relay_pids(parent))


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


def count_until(command: list[str], lines: int, env: dict | None = None) -> tuple[float, float]:
    """Spawn `command` and count its stdout lines until `lines`.

    Returns:
        (lines/s from spawn to the last line, CPU seconds of the process and of
        every child it reaped: the relay of `corral logs`, not the remote side).
    """
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
    count = 0
    while count < lines:
        chunk = process.stdout.read1(1 << 20)
        if not chunk:
            break
        count += chunk.count(b"\n")
    elapsed = time.perf_counter() - start
    # SIGTERM, not SIGKILL: `corral` then ends its relay and reaps it (its CPU counts).
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if count < lines:
        raise SystemExit(f"{command[0]} ended after {count:,} of {lines:,} lines")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime)
    return count / elapsed, cpu


def docker_logs(socket: str, name: str, lines: int, *, timestamps: bool = False) -> float:
    """Lines/s of `docker -H unix://SOCKET logs -f [-t] NAME` into a counting pipe."""
    env = dict(os.environ)
    env.pop("DOCKER_HOST", None)
    stamp = ["-t"] if timestamps else []
    return count_until(
        ["docker", "-H", f"unix://{socket}", "logs", "-f", *stamp, name], lines, env
    )[0]


@contextlib.contextmanager
def openssh_forward(lab_dir: Path, host: dict) -> Iterator[str]:
    """`ssh -N -L LOCAL:REMOTE_SOCKET root@HOST` (OpenSSH) while inside; yields LOCAL."""
    folder = Path(tempfile.mkdtemp(prefix="corral-bench-fwd-"))
    config = ssh_config(lab_dir, folder, persist=False)
    local = folder / "docker.sock"
    process = subprocess.Popen([
        "/usr/bin/ssh", "-F", str(config), "-N", "-o", "ExitOnForwardFailure=yes",
        "-L", f"{local}:{host['socket']}", f"root@{host['address']}",
    ])
    try:
        deadline = time.monotonic() + 15
        while not local.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the OpenSSH forward did not come up")
            time.sleep(0.02)
        yield str(local)
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


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


async def online(app: BenchApp, host: str) -> None:
    """Wait until `host`'s session is online."""
    session = app.fleet.session(host)
    while session.status.state is not HostState.ONLINE:
        await asyncio.sleep(0.05)


def pane_job(target: LogTarget, lines: int, before):
    """A job: follow `target` in a fresh pane until `lines` lines are in it."""

    async def job(app: BenchApp) -> PaneRun:
        await online(app, target.host)
        await asyncio.to_thread(before)
        await asyncio.sleep(0.5)  # the connect's garbage settles before RSS is read
        rss_before = rss_mb()
        relay_before = relay_rss_mb(os.getpid())  # 0: the pane starts the relay
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
        relay = relay_rss_mb(os.getpid()) - relay_before
        await pane.remove()
        return PaneRun(
            lines / elapsed, app.max_gap * 1000, app.max_gap_cpu * 1000, app.p99_gap() * 1000,
            rss_after - rss_before, relay, rss_after,
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


def pin_note(split) -> str:
    """The header line naming the CPU sets."""
    if split is None:
        return (f"shared: console and lab hosts on every CPU "
                f"{sorted(os.sched_getaffinity(0))} (--no-pin, or too few CPUs)")
    return (f"pinned: console (and its children: relay, ssh, docker CLI) on CPU "
            f"{sorted(split[0])}, lab hosts on CPU {sorted(split[1])} "
            "(as if the hosts were other machines; --no-pin to share)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/corral-lab", type=Path)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--no-pin", action="store_true",
                        help="let the lab share every CPU with the console (see pinning.py)")
    args = parser.parse_args()
    if shutil.which("docker") is None or not Path("/usr/bin/ssh").exists():
        raise SystemExit("the docker CLI and OpenSSH are needed for the ceilings")
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

    def write_all() -> None:
        fresh()
        written()

    def written() -> None:
        wait_written(worker[0], n)

    lab_cpus(hosts, split)
    load_before = os.getloadavg()
    baseline = run_app(inventory, settings, idle_job(5.0))
    results = {}
    try:
        with openssh_forward(args.dir, host) as forwarded:
            # Live: a fresh container for each reader. Backlog: one container,
            # all of it written before any reader starts, read by each in turn.
            for scenario, prepare, before in (("live", None, fresh),
                                              ("backlog", write_all, written)):
                if prepare is not None:
                    prepare()
                before()
                ceiling = docker_logs(forwarded, target.name, n)
                before()
                stamped = docker_logs(forwarded, target.name, n, timestamps=True)
                before()
                physical = docker_logs(host["socket"], target.name, n)
                pane = run_app(inventory, settings, pane_job(target, n, before))
                results[scenario] = (ceiling, stamped, physical, pane)
    finally:
        for old in client.containers.list(all=True, filters={"name": f"^{target.name}$"}):
            old.remove(force=True)

    load_after = os.getloadavg()
    print(f"{n:,} lines from one lab container printing flat out ({host['name']}); headless "
          "pane (App.run_test: no terminal write)")
    print(f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
          f"(1 min; 5 min {load_after[1]:.1f}) on {os.cpu_count()} CPUs; longest UI stall of "
          f"an idle app (no pane): {baseline:.0f} ms")
    print(pin_note(split))
    for scenario, (ceiling, stamped, physical, pane) in results.items():
        print(f"  {scenario:8} engine socket (physical limit)   {physical:>10,.0f} lines/s")
        print(f"  {'':8} OpenSSH -L + docker logs -f    {ceiling:>10,.0f} lines/s   (ceiling)")
        print(f"  {'':8} OpenSSH -L + docker logs -f -t {stamped:>10,.0f} lines/s   "
              f"(the pane's own request: with the engine's timestamps; "
              f"{stamped / ceiling:.2f}x the ceiling)")
        verdict = "meets" if pane.rate >= 0.9 * ceiling else "misses"
        print(f"  {'':8} into the pane (headless)       {pane.rate:>10,.0f} lines/s   "
              f"{pane.rate / ceiling:.2f}x the ceiling, {pane.rate / stamped:.2f}x -t, "
              f"{pane.rate / physical:.2f}x the physical limit (target >= 0.9x the ceiling: "
              f"{verdict})")
        print(f"  {'':8} longest UI stall (headless)    {pane.stall_ms:>10.0f} ms        "
              f"(p99 of 10 ms ticks: {pane.p99_ms:.0f} ms; the console process had a CPU "
              f"for {pane.stall_cpu_ms:.0f} ms of it)")
        verdict = "meets" if pane.growth_mb <= 100 else "misses"
        print(f"  {'':8} RSS growth, console + relay    {pane.growth_mb:>10.0f} MB        "
              f"(console +{pane.console_growth_mb:.0f} MB to {pane.rss_mb:.0f} MB, relay "
              f"{pane.relay_mb:.0f} MB; target <= 100: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
