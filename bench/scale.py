#!/usr/bin/env python3
"""Corral against many hosts: connect, refresh and memory at HOSTS × PER_HOST.

The lab runs HOSTS engines (each its own sshd + dockerd in a network
namespace) with PER_HOST busybox `sleep` containers each (no network, the
smallest footprint a container has; created on the engines' own sockets in
parallel). Measured in one run:

1. Connect: Corral's fleet connecting one host vs all HOSTS (SSH handshake,
   engine tunnel, first engine call), the rounds interleaved so both see the
   same load. Target: all ≤ 2× one. Beside it, the machine's floor: every CPU's
   busy time during a connect (`/proc/stat`: Corral, and the lab's sshd and
   dockerd answering it) divided by the CPUs. Where the lab's hosts share the
   client's CPUs, connecting HOSTS cannot take less wall time than that.
2. Refresh after one change, headless (`App.run_test`, no terminal write):
   (a) a console holding HOSTS × PER_HOST synthetic rows, one row changes
   (an `Upsert` through the store, as an engine event would), timed from the
   drain to the app being idle again (`bench/console.py`'s machinery); (b) the
   real lab: the console connected to every host, containers created and
   removed on one engine, every drain that changed rows timed, and the time
   from the create call to the row being in the table. Target: ≤ 150 ms.
3. Memory: `corral` in a real terminal (tmux, `bench/idle.py`'s machinery):
   resident memory of the console and every process under it once every
   container is listed and the CPU figures are up, and its CPU over
   `--idle-seconds`. Target: ≤ 150 MB.

Rows are printed with the load average; "pinned" puts the console on the
first CPU and the lab on the others (`bench/pinning.py`), "shared" lets both
use every CPU. Only ratios measured in the same run compare.

Usage: bench/scale.py [--dir LAB_DIR] [--hosts 20] [--per-host 50] [--rounds 5]
                      [--idle-seconds 30] [--modes pinned,shared] [--skip STEP,…] [--keep]
       (steps: connect, synthetic, real, memory)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# bench/ is on sys.path as the script's folder: the other benches' machinery.
from console import (  # noqa: E402
    Sample,
    both,
    median,
    real_refresh,
    settings,
    synthetic_refresh,
    worst,
)
from idle import measure  # noqa: E402
from pinning import belongs, cpu_split, lab_cpus  # noqa: E402
from startup import fan_out, ssh_command  # noqa: E402

from corral.backends.inventory.load import Inventory, load_inventory  # noqa: E402
from corral.backends.ssh.fleet import Fleet  # noqa: E402
from corral.backends.ssh.loop import BackendLoop  # noqa: E402
from tests.support.lab_cli import engine  # noqa: E402
from tests.support.workloads import ensure_lab, fill_sleepers, remove_workload  # noqa: E402

WORKLOAD = "scale-bench"
REFRESH_TARGET = 0.150
MEMORY_TARGET_MB = 150
T = TypeVar("T")


def load() -> str:
    """The load average, as printed beside every figure."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# --- 0. what the lab costs ------------------------------------------------------


def kind_of(cmdline: bytes) -> str:
    """dockerd, containerd, shim, sshd, or the containers' own processes."""
    argv0 = cmdline.split(b"\0", 1)[0].decode(errors="replace")
    if argv0.startswith("sshd"):  # sshd retitles itself `sshd: PATH [listener] …`
        return "sshd"
    first = Path(argv0).name
    if first.startswith("containerd-shim"):
        return "shim"
    return first if first in ("dockerd", "containerd") else "in containers"


def lab_cost(hosts: list[dict]) -> None:
    """Print the lab's proportional memory (PSS) by kind of process, and per host."""
    inodes = set()
    for host in hosts:
        with contextlib.suppress(OSError):
            inodes.add(os.stat(f"/var/run/netns/{host['netns']}").st_ino)
    names = [host["netns"] for host in hosts]
    counts: dict[str, int] = {}
    pss: dict[str, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or not belongs(proc, inodes, names):
            continue
        try:
            kind = kind_of((proc / "cmdline").read_bytes())
            rollup = (proc / "smaps_rollup").read_text()
        except OSError:
            continue
        kb = next((int(line.split()[1]) for line in rollup.splitlines()
                   if line.startswith("Pss:")), 0)
        counts[kind] = counts.get(kind, 0) + 1
        pss[kind] = pss.get(kind, 0) + kb
    total = sum(pss.values()) / 1024
    parts = ", ".join(f"{kind} {counts[kind]}× {pss[kind] / 1024:.0f} MB"
                      for kind in sorted(pss, key=pss.get, reverse=True))
    print(f"0. the lab's memory (PSS): {total:.0f} MB, {total / len(hosts):.0f} MB a host: {parts}")


# --- 1. connect ----------------------------------------------------------------


def machine_busy() -> float:
    """CPU seconds all of this machine's CPUs have been busy since boot (`/proc/stat`)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]
    # Steal (the hypervisor running other guests) is not this machine's work: left out.
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields)
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def busy_during(run: Callable[[], T]) -> tuple[T, float]:
    """What `run()` returns, and the machine's busy CPU seconds while it ran."""
    before = machine_busy()
    result = run()
    return result, machine_busy() - before


def connect_once(loop: BackendLoop, inventory: Inventory,
                 lab_dir: Path) -> tuple[Sample, float, dict]:
    """Wall and CPU seconds (this process: the backend loop and its threads) for a fleet
    to connect every host of `inventory`; the machine's busy CPU seconds meanwhile; the
    hosts that failed."""
    fleet = Fleet(inventory, settings(lab_dir))
    start, cpu = time.perf_counter(), time.process_time()
    errors, busy = busy_during(lambda: loop.run(fleet.connect_all()))
    elapsed = Sample(time.perf_counter() - start, time.process_time() - cpu)
    loop.run(fleet.close())
    return elapsed, busy, {name: str(error) for name, error in errors.items() if error}


def bench_connect(lab_dir: Path, rounds: int) -> None:
    """Print connect one vs connect all, interleaved rounds, medians."""
    inventory = load_inventory(lab_dir / "inventory.yaml")
    one = Inventory(hosts=inventory.hosts[:1], path=inventory.path)
    singles, fleets, failures = [], [], {}
    single_busy, fleet_busy = [], []
    with BackendLoop() as loop:
        connect_once(loop, one, lab_dir)  # warm: imports, key loading
        for _ in range(rounds):
            elapsed, busy, _failed = connect_once(loop, one, lab_dir)
            singles.append(elapsed)
            single_busy.append(busy)
            elapsed, busy, failed = connect_once(loop, inventory, lab_dir)
            fleets.append(elapsed)
            fleet_busy.append(busy)
            failures.update(failed)
    single, fleet = median(singles), median(fleets)
    ratio = fleet.wall / single.wall
    print(f"1. connect (Corral's fleet: SSH, tunnel, first engine call), median of {rounds}, "
          f"load {load()}")
    print(f"  1 host                       {both(single)}")
    print(f"  {len(inventory.hosts):3d} hosts                    {both(fleet)}  "
          f"{ratio:.2f}x one ({'meets' if ratio <= 2 else 'misses'} ≤ 2x), "
          f"{fleet.cpu / single.cpu:.1f}x its CPU; "
          f"slowest round {worst(fleets).wall * 1000:.0f} ms")
    print_floor("Corral", len(inventory.hosts), single.wall, statistics.mean(single_busy),
                statistics.mean(fleet_busy))
    for name, error in sorted(failures.items()):
        print(f"  FAILED {name}: {error}")
    openssh_fan_out(lab_dir, inventory, rounds)


def print_floor(client: str, hosts: int, single_wall: float, single_busy: float,
                fleet_busy: float) -> None:
    """Print the machine's busy CPU time during a connect, and the wall time it forces.

    All CPUs' busy time, divided by the CPUs, is the least wall time that work can
    take here; `hosts` × one host's busy time is the same from the one-host rounds.
    The busy time includes whatever else the machine ran meanwhile (it is shared);
    it is counted in 10 ms ticks, so the means of the rounds are printed.
    """
    cpus = os.cpu_count() or 1
    floor = fleet_busy / cpus
    from_one = hosts * single_busy / cpus
    print(f"  the machine's CPUs, busy during a connect ({client}, and the lab's sshd and "
          f"dockerd), mean: 1 host {single_busy * 1000:.0f} ms, {hosts} hosts "
          f"{fleet_busy * 1000:.0f} ms over {cpus} CPUs")
    print(f"  floor on this machine: {floor * 1000:.0f} ms = {floor / single_wall:.1f}x one "
          f"host's wall ({hosts} × one host's busy time / {cpus}: {from_one * 1000:.0f} ms = "
          f"{from_one / single_wall:.1f}x)")


def openssh_fan_out(lab_dir: Path, inventory: Inventory, rounds: int) -> None:
    """Print OpenSSH's own connect-and-ask, one host vs every host at once: the ceiling.

    `ssh HOST docker version` (a new connection each time, the engine asked once, as
    Corral's connect does) started for every host together, until the last exits: the
    lab's sshd and dockerd share the machine's CPUs with the clients, so this is what
    connecting them all costs here before any Corral code runs.
    """
    wrap = Path(tempfile.mkdtemp(prefix="corral-bench-"))
    try:
        ssh = ssh_command(lab_dir, wrap)

        def ask(spec) -> list[str]:
            return [*ssh, f"{spec.ssh.user or 'root'}@{spec.ssh.address}", "docker", "version",
                    "--format", "{{.Server.APIVersion}}"]

        singles, fleets, single_busy, fleet_busy = [], [], [], []
        for _ in range(rounds):
            sample, busy = busy_during(lambda: fan_out([ask(inventory.hosts[0])]))
            singles.append(sample)
            single_busy.append(busy)
            sample, busy = busy_during(lambda: fan_out([ask(spec) for spec in inventory.hosts]))
            fleets.append(sample)
            fleet_busy.append(busy)
        single, fleet = median(singles), median(fleets)
        print(f"  OpenSSH, `ssh HOST docker version`: 1 host {both(single)}; "
              f"{len(inventory.hosts)} at once {both(fleet)}  {fleet.wall / single.wall:.2f}x one "
              "(the ceiling on this machine)")
        print_floor("OpenSSH", len(inventory.hosts), single.wall, statistics.mean(single_busy),
                    statistics.mean(fleet_busy))
    finally:
        shutil.rmtree(wrap, ignore_errors=True)


# --- 2. refresh ------------------------------------------------------------------


def verdict(seconds: float) -> str:
    return f"{'meets' if seconds <= REFRESH_TARGET else 'misses'} ≤ {REFRESH_TARGET * 1000:.0f} ms"


def bench_synthetic(hosts: int, per_host: int, rounds: int) -> None:
    """Print the drain-until-idle figures of hosts × per_host synthetic rows."""
    times = asyncio.run(synthetic_refresh(hosts, per_host, rounds))
    idle = times["idle"]
    print(f"2a. refresh, {hosts} hosts × {per_host} synthetic rows (headless), {rounds} changes, "
          f"load {load()}")
    print(f"  first fill, until idle                 {both(times['initial'][0])}")
    print(f"  one container changed: drain until idle {both(median(idle))} median, "
          f"{both(worst(idle))} max; {verdict(median(idle).wall)}")
    print(f"  filter change, until idle              {both(median(times['filter']))} median")


def bench_real(lab_dir: Path, hosts: list[dict], rounds: int) -> None:
    """Print the real lab's first rows, drains and create-to-row latencies (headless)."""
    total = sum(len(engine(h["socket"]).containers.list(all=True)) for h in hosts)
    first, drains, latencies = asyncio.run(real_refresh(lab_dir, hosts, total, rounds))
    print(f"2b. real lab: {len(hosts)} hosts, {total} containers (headless), {rounds} changes, "
          f"load {load()}")
    print(f"  console in-process, app to all rows    {both(first)}")
    if drains:
        print(f"  drains with updates: {len(drains):3d}             {both(median(drains))} "
              f"median, {both(worst(drains))} max; {verdict(median(drains).wall)}")
    print(f"  container created → row in the table   "
          f"{statistics.median(latencies) * 1000:8.0f} ms median, {max(latencies) * 1000:.0f} ms "
          f"max (the engine's create and the 100 ms drain tick included)")


# --- 3. memory -------------------------------------------------------------------


def bench_memory(lab_dir: Path, hosts: list[dict], seconds: float, modes: list[str]) -> None:
    """Print the console's resident memory (with children) and its idle CPU, per mode."""
    total = sum(len(engine(h["socket"]).containers.list(all=True)) for h in hosts)
    split = cpu_split()
    print(f"3. memory: `corral` in tmux (real terminal), {len(hosts)} hosts, {total} containers, "
          f"load {load()}")
    try:
        for mode in modes:
            pinned = mode == "pinned" and split is not None
            lab_cpus(hosts, split if pinned else None)
            result = measure(lab_dir, hosts, total, seconds, split[0] if pinned else None)
            mb, peak = result["rss"] / 2**20, result["peak"] / 2**20
            share = result["cpu"] / result["elapsed"] * 100
            where = (f"console CPUs {sorted(split[0])}, lab {sorted(split[1])}" if pinned
                     else f"all on CPUs {sorted(os.sched_getaffinity(0))}")
            print(f"  {mode:7s} ({where}) first full frame {result['first']:5.1f} s, "
                  f"figures {result['figures']:5.1f} s; {mb:6.1f} MB resident, peak "
                  f"{peak:.1f} ({'meets' if peak <= MEMORY_TARGET_MB else 'misses'} ≤ "
                  f"{MEMORY_TARGET_MB} MB); idle {share:.2f}% of a core over "
                  f"{result['elapsed']:.0f} s; load {load()}")
    finally:
        lab_cpus(hosts, None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/corral-lab-scale"))
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--per-host", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--modes", default="pinned,shared")
    parser.add_argument("--skip", default="", help="steps to skip: connect,synthetic,real,memory")
    parser.add_argument("--keep", action="store_true", help="leave the containers in place")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    started = time.monotonic()
    hosts = ensure_lab(args.dir, args.hosts)
    sockets = [h["socket"] for h in hosts]
    print(f"scale: {args.hosts} lab hosts × {args.per_host} busybox sleep containers "
          f"(network none); load before {load()} on {os.cpu_count()} CPUs", flush=True)
    fill_start = time.monotonic()
    made = fill_sleepers(sockets, args.per_host, WORKLOAD, network_mode="none")
    print(f"  lab ready in {fill_start - started:.0f} s; {made} containers created in "
          f"{time.monotonic() - fill_start:.0f} s", flush=True)
    lab_cost(hosts)
    try:
        if "connect" not in skip:
            bench_connect(args.dir, args.rounds)
        if "synthetic" not in skip:
            bench_synthetic(args.hosts, args.per_host, max(10, args.rounds))
        if "real" not in skip:
            bench_real(args.dir, hosts, max(10, args.rounds))
        if "memory" not in skip:
            bench_memory(args.dir, hosts, args.idle_seconds, args.modes.split(","))
    finally:
        if not args.keep:
            remove_workload(sockets, WORKLOAD)
    print(f"load average after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
