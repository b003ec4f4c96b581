#!/usr/bin/env python3
"""What the console costs while nobody touches it: CPU and memory at idle.

The lab runs HOSTS × PER_HOST small containers (busybox `sleep`, with a Docker
healthcheck every 30 s as real services have: each check is three engine
events). `corral` opens in a real terminal (tmux: Textual's terminal writes are
part of the cost), with health checks on (not read-only); once the first full
frame is up (every host online, every container counted), the CPU figures of
the rows on screen are shown and a few seconds have settled, the bench reads
the CPU time (utime + stime from /proc) of the console and every process
under it over SECONDS with no key pressed, and the resident memory summed
over that process tree (stream relays included).

Rows: "pinned" puts the console on the first CPUs and the lab on the others
(`bench/pinning.py`, as if the hosts were other machines); "shared" lets both
use every CPU. Both count equally; the CPU sets are printed in the header.
The tmux server (the terminal, not Corral) is printed beside, not counted.

Targets: 3 hosts × 30 containers ≤ 1% of a core over 60 s and ≤ 100 MB
resident including every child process; 20 hosts × 100 containers ≤ 3%.

With `--beside OTHER`, the console of `--corral` and OTHER's run at once on the
same lab (both receive the same engine events, which move with the lab's load from
one run to the next), and each one's share of a core is printed per window.

Usage: bench/idle.py [--dir LAB_DIR] [--hosts 3] [--per-host 30] [--seconds 60]
                     [--modes pinned,shared] [--health-every K] [--keep] [--corral PATH]
                     [--beside OTHER [--windows N]]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pinning import cpu_split, lab_cpus  # noqa: E402  (bench/ is on sys.path as a script)

from tests.support.lab_cli import engine  # noqa: E402
from tests.support.tmux import TmuxTerminal, tmux_available  # noqa: E402
from tests.support.workloads import (  # noqa: E402
    SECOND_NS,
    ensure_lab,
    fill_sleepers,
    remove_workload,
)

WORKLOAD = "idle-bench"
CORRAL = str(Path(sys.executable).with_name("corral"))
SIZE = (160, 45)
#: After the first full frame, before measuring: the first host-facts read,
#: stats sample and health pass finish.
SETTLE_SECONDS = 10.0
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
#: A Docker healthcheck as a service would have (Docker's default interval).
HEALTH = {"test": ["CMD", "true"], "interval": 30 * SECOND_NS, "timeout": 5 * SECOND_NS,
          "retries": 3}


def workload(hosts: list[dict], per_host: int, health_every: int = 1) -> int:
    """`per_host` sleepers on each host (created once, kept across runs); the total.

    Every `health_every`-th one has a Docker healthcheck (each check is an
    exec in the lab: 2,000 checked containers would cost the lab about two
    cores, which this machine does not have).
    """
    sockets = [host["socket"] for host in hosts]
    fill_sleepers(sockets, per_host, WORKLOAD, prefix="idle", stack="idle",
                  per_container=lambda number: (
                      {"healthcheck": HEALTH} if number % health_every == 0 else {}))
    return sum(len(engine(socket).containers.list(all=True)) for socket in sockets)


# --- /proc ---------------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree(root: int) -> list[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat(int(entry.name))[1]), []).append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime of each live process in `pids`."""
    times = {}
    for pid in pids:
        try:
            fields = _stat(pid)
        except OSError:
            continue
        times[pid] = (int(fields[11]) + int(fields[12])) / TICK
    return times


def rss_bytes(pids: list[int]) -> dict[int, int]:
    """Resident bytes of each live process in `pids`."""
    sizes = {}
    for pid in pids:
        try:
            sizes[pid] = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
    return sizes


def command_of(pid: int) -> str:
    """A short name for a process: `corral`, or the module a Python child runs."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in argv if a]
    if "-m" in words:
        return words[words.index("-m") + 1].rsplit(".", 1)[-1]
    named = [Path(word).name for word in words[:2]]
    return "corral" if "corral" in named else (named[0] if named else "?")


def child_of(pid: int) -> int:
    """The first child of `pid` (the pane's shell runs `env`, which execs corral)."""
    for candidate in tree(pid)[1:]:
        return candidate
    raise LookupError(f"no child of {pid}")


def tmux_server_pid(term: TmuxTerminal) -> int:
    return int(term._tmux("display-message", "-p", "#{pid}"))


# --- one run -------------------------------------------------------------------


def start_console(lab_dir: Path, hosts: list[dict], total: int, cpus: set[int] | None,
                  corral: str) -> tuple[TmuxTerminal, int, float, float]:
    """Open `corral` in tmux and wait until every container and its CPU figures show.

    Returns:
        The terminal, the console's pid, and the seconds to its first full frame and
        to its figures.
    """
    command = [corral, "--inventory", str(lab_dir / "inventory.yaml"),
               "--known-hosts", str(lab_dir / "known_hosts")]
    if cpus is not None:
        command = ["taskset", "-c", ",".join(map(str, sorted(cpus))), *command]
    term = TmuxTerminal(command, *SIZE)
    try:
        start = time.monotonic()
        count = len(hosts)
        term.wait_for(rf"{count}/{count} online(.|\n)*{total}/{total}", 120,
                      "the first full frame", interval=0.1)
        first = time.monotonic() - start
        # The first CPU figures need two reads of each container on screen.
        term.wait_for(lambda screen: len(re.findall(r"\d\.\d%", screen)) >= min(30, total),
                      180, "CPU figures on screen", interval=0.5)
        figures = time.monotonic() - start
        pid = child_of(term.pane_pid())
        while command_of(pid) in ("env", "taskset", "sh", "bash"):
            pid = child_of(pid)
    except BaseException:
        term.close()
        raise
    return term, pid, first, figures


def tree_cpu(pid: int) -> float:
    """CPU seconds of `pid` and every process under it."""
    return sum(cpu_seconds(tree(pid)).values())


def measure(lab_dir: Path, hosts: list[dict], total: int, seconds: float,
            cpus: set[int] | None, corral: str = CORRAL) -> dict:
    """Start the console in tmux, wait for its first frame, settle, measure."""
    term, corral_pid, first, figures = start_console(lab_dir, hosts, total, cpus, corral)
    try:
        time.sleep(SETTLE_SECONDS)
        server = tmux_server_pid(term)
        pids = tree(corral_pid)
        before, server_before = cpu_seconds(pids), cpu_seconds([server])
        began = time.monotonic()
        peak = 0
        while time.monotonic() - began < seconds:
            time.sleep(min(5.0, seconds - (time.monotonic() - began)))
            peak = max(peak, sum(rss_bytes(tree(corral_pid)).values()))
        elapsed = time.monotonic() - began
        pids = tree(corral_pid)
        after, server_after = cpu_seconds(pids), cpu_seconds([server])
        used = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
        rss = rss_bytes(pids)
        parts = [(command_of(pid), used.get(pid, 0.0), rss.get(pid, 0)) for pid in pids]
        term.type("q")
        term.wait_for(r"\[exit status", 30, "corral to quit")
        return {
            "first": first, "figures": figures, "elapsed": elapsed,
            "cpu": sum(used.values()), "rss": sum(rss.values()), "peak": peak,
            "parts": parts,
            "terminal": server_after.get(server, 0.0) - server_before.get(server, 0.0),
        }
    finally:
        term.close()


def side_by_side(lab_dir: Path, hosts: list[dict], total: int, seconds: float, windows: int,
                 cpus: set[int] | None, builds: dict[str, str]) -> None:
    """Every build's console at once on the same lab, so that all receive the same
    engine events: each one's share of a core over `windows` windows, printed as they end.
    """
    terms: list[TmuxTerminal] = []
    try:
        pids = {}
        for name, corral in builds.items():
            term, pids[name], _, _ = start_console(lab_dir, hosts, total, cpus, corral)
            terms.append(term)
        time.sleep(SETTLE_SECONDS)
        for window in range(1, windows + 1):
            before = {name: tree_cpu(pid) for name, pid in pids.items()}
            began = time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - began
            shares = (f"{name} {(tree_cpu(pid) - before[name]) / elapsed * 100:.2f}%"
                      for name, pid in pids.items())
            print(f"  window {window} ({elapsed:.0f} s): {', '.join(shares)}", flush=True)
    finally:
        for term in terms:
            term.close()


def report(label: str, result: dict, hosts: int, per_host: int) -> None:
    share = result["cpu"] / result["elapsed"] * 100
    # The targets: 3 × 30 (or fewer containers) ≤ 1% and ≤ 100 MB; bigger fleets ≤ 3%
    # (the 20 × 100 target, which has none for memory).
    small = hosts <= 3 and hosts * per_host <= 3 * 30
    target = 1.0 if small else 3.0
    verdict = "meets" if share <= target else "misses"
    mb = result["rss"] / 2**20
    memory = (f"{'meets' if mb <= 100 else 'misses'} ≤ 100 MB" if small
              else "the 100 MB target is for 3 × 30")
    print(f"  {label:7s} first frame {result['first']:4.1f} s, figures {result['figures']:4.1f} s;"
          f" over {result['elapsed']:.0f} s: "
          f"{share:5.2f}% of a core ({verdict} ≤ {target:g}%), "
          f"{mb:5.1f} MB resident ({memory}; "
          f"peak {result['peak'] / 2**20:.1f}); tmux server {result['terminal']:.2f} s CPU")
    for name, cpu, rss in result["parts"]:
        print(f"            {name:18s} {cpu:6.2f} s CPU  {rss / 2**20:6.1f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/corral-lab-bench"))
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--per-host", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--modes", default="pinned,shared")
    parser.add_argument("--health-every", type=int, default=1, metavar="K",
                        help="a Docker healthcheck on every K-th container only (default 1: all)")
    parser.add_argument("--keep", action="store_true", help="leave the containers in place")
    parser.add_argument("--corral", default=CORRAL,
                        help="the `corral` to run (another checkout's, to compare builds)")
    parser.add_argument("--beside", metavar="CORRAL",
                        help="run this other `corral` at the same time as --corral, on the same"
                             " lab, and print both one's CPU share per window of SECONDS")
    parser.add_argument("--windows", type=int, default=3, help="windows for --beside")
    args = parser.parse_args()
    if not tmux_available():
        print("tmux is missing: this bench needs a real terminal", file=sys.stderr)
        return 2
    hosts = ensure_lab(args.dir, args.hosts)
    total = workload(hosts, args.per_host, args.health_every)
    split = cpu_split()
    print(f"idle console: {args.hosts} lab hosts, {total} containers "
          f"({args.per_host} per host of the bench), real terminal (tmux {SIZE[0]}x{SIZE[1]}), "
          f"health checks on, Docker healthchecks on 1 in {args.health_every}, "
          f"{args.seconds:g} s with no key pressed")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs")
    try:
        for mode in args.modes.split(","):
            if mode == "pinned" and split is not None:
                lab_cpus(hosts, split)
                print(f"pinned: console CPUs {sorted(split[0])}, lab CPUs {sorted(split[1])}")
                cpus = split[0]
            else:
                lab_cpus(hosts, None)
                print(f"shared: console and lab on CPUs {sorted(os.sched_getaffinity(0))}")
                cpus = None
            if args.beside:
                print(f"  side by side: --corral {args.corral} and --beside {args.beside}")
                side_by_side(args.dir, hosts, total, args.seconds, args.windows, cpus,
                             {"--corral": args.corral, "--beside": args.beside})
                continue
            report(mode, measure(args.dir, hosts, total, args.seconds, cpus, args.corral),
                   args.hosts, args.per_host)
    finally:
        lab_cpus(hosts, None)
        if not args.keep:
            remove_workload([h["socket"] for h in hosts], WORKLOAD)
    print(f"load average after:  {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
