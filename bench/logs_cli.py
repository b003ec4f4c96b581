#!/usr/bin/env python3
"""`corral logs` against `ssh HOST docker logs`, and the log pane in a real terminal.

One lab container prints N numbered lines as fast as it can (the worker of
`bench/logs.py`). Measured in the same run, on the same engine:

* one-shot: a container that already wrote its N lines; `corral logs
  HOST/NAME` against `ssh root@HOST docker logs NAME` (OpenSSH, a new
  connection as a user types it), each into a pipe that counts lines; from
  spawn to the N-th line (start-up and SSH handshake included on both sides).
  Target: corral >= 1.0x.
* follow: a fresh container per reader; `corral logs -f` against `ssh
  root@HOST docker logs -f`, the same way. Target >= 1.0x.
* the pane in a real terminal (tmux, Textual's terminal writes included):
  `corral logs --view --tail all HOST/NAME` run under `bench/stall_probe.py`
  (a 10 ms timer on the app's loop, gaps written to a file), live (a fresh
  container) and backlog (written before the pane opens). Its ingest rate
  (pane appeared to N lines in its history), the longest UI stall (with the
  CPU time the console process had during it) and the RSS of the console
  plus its stream relay. Targets: longest stall < 50 ms pinned, < 100 ms
  shared; RSS growth (console + relay) <= 100 MB at 1,000,000 lines.

Usage: bench/logs_cli.py [--dir LAB_DIR] [--lines N] [--no-pin] [--skip-tmux | --tmux-only]
                         [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import docker  # noqa: E402
from logs import (  # noqa: E402  (bench/ is on sys.path as a script)
    count_until,
    pin_note,
    relay_pids,
    rss_mb,
    start_worker,
    wait_written,
)
from pinning import cpu_split, lab_cpus, pin_self  # noqa: E402
from tunnel import lab_status, ssh_config  # noqa: E402

from tests.support.tmux import TmuxTerminal, tmux_available  # noqa: E402

CORRAL = str(Path(sys.executable).with_name("corral"))
PROBE = str(Path(__file__).with_name("stall_probe.py"))
NAME = "bench-logs"


@dataclass
class TermRun:
    """What the stall probe saw of one pane in tmux."""

    rate: float
    stall_ms: float
    stall_cpu_ms: float
    stall_ui_cpu_ms: float
    p99_ms: float
    rss_start_mb: float
    rss_mb: float
    relay_mb: float
    gc_max_ms: float
    gc_full_count: int
    gc_full_ms: float
    slowest_ms: dict[str, float]
    gap_parts_ms: dict[str, float]

    @property
    def growth_mb(self) -> float:
        """Console growth since the pane appeared, plus all of the relay's RSS."""
        return self.rss_mb - self.rss_start_mb + self.relay_mb


def child_pid(parent: int, deadline: float) -> int:
    """The first child of `parent` (the program a tmux pane's shell started)."""
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == parent:
                return int(entry.name)
        time.sleep(0.05)
    raise SystemExit("the console did not start in tmux")


def pane_in_tmux(lab_args: list[str], host: str, lines: int, before) -> TermRun:
    """`corral logs --view` of the worker in tmux, until `lines` lines are in the pane."""
    folder = Path(tempfile.mkdtemp(prefix="corral-bench-probe-"))
    out = folder / "probe.json"
    before()
    terminal = TmuxTerminal(
        [sys.executable, PROBE, *lab_args, "logs", "--view", "--tail", "all", f"{host}/{NAME}"],
        env={"CORRAL_BENCH_PROBE": str(out), "CORRAL_BENCH_LINES": str(lines)},
    )
    try:
        deadline = time.monotonic() + 600
        console = child_pid(terminal.pane_pid(), deadline)
        report: dict = {}
        while not report.get("done"):
            if time.monotonic() > deadline:
                raise SystemExit(f"the pane did not reach {lines:,} lines; screen:\n"
                                 f"{terminal.screen()}")
            time.sleep(0.1)
            if out.exists():
                report = json.loads(out.read_text())
        relay = sum(rss_mb(pid) for pid in relay_pids(console))
        return TermRun(
            report["lines"] / report["seconds"], report["max_gap_ms"],
            report["max_gap_cpu_ms"], report["max_gap_ui_cpu_ms"], report["p99_ms"],
            report["rss_start_mb"], report["rss_mb"], relay, report["gc_max_ms"],
            report["gc_full_count"], report["gc_full_ms_total"], report["slowest_ms"],
            report["max_gap_parts_ms"],
        )
    finally:
        terminal.close()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/corral-lab", type=Path)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--no-pin", action="store_true",
                        help="let the lab share every CPU with the console (see pinning.py)")
    parser.add_argument("--skip-tmux", action="store_true", help="only the CLI rows")
    parser.add_argument("--tmux-only", action="store_true", help="only the pane in tmux")
    parser.add_argument("--runs", type=int, default=1,
                        help="pane runs in tmux, each backlog then live (stalls vary run to run)")
    args = parser.parse_args()
    hosts = lab_status(args.dir)
    host = hosts[0]
    split = None if args.no_pin else cpu_split()
    if split is not None:
        pin_self(split[0])
    client = docker.DockerClient(base_url=f"unix://{host['socket']}", version="auto")
    n = args.lines
    worker: list = []
    lab_args = ["--inventory", str(args.dir / "inventory.yaml"),
                "--known-hosts", str(args.dir / "known_hosts")]
    folder = Path(tempfile.mkdtemp(prefix="corral-bench-ssh-"))
    ssh = ["/usr/bin/ssh", "-F", str(ssh_config(args.dir, folder, persist=False)),
           f"root@{host['address']}", "docker", "logs"]
    corral = [CORRAL, *lab_args, "logs"]
    target = f"{host['name']}/{NAME}"

    def fresh() -> None:
        worker[:] = [start_worker(client, NAME, n)]
        lab_cpus(hosts, split)

    def written() -> None:
        if not worker:
            fresh()
        wait_written(worker[0], n)

    lab_cpus(hosts, split)
    load_before = os.getloadavg()
    rows: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {}
    terms: list[tuple[str, TermRun]] = []
    try:
        if not args.tmux_only:
            # Follow: a fresh container for each reader.
            fresh()
            ssh_follow = count_until([*ssh, "-f", NAME], n)
            fresh()
            corral_follow = count_until([*corral, "-f", target], n)
            rows["follow (-f, live)"] = (ssh_follow, corral_follow)
            # One-shot: one container, fully written first.
            fresh()
            written()
            rows["one-shot (backlog)"] = (count_until([*ssh, NAME], n),
                                          count_until([*corral, target], n))
        if not args.skip_tmux and tmux_available():
            for _ in range(args.runs):
                terms.append(("backlog", pane_in_tmux(lab_args, host["name"], n, written)))
                terms.append(("live", pane_in_tmux(lab_args, host["name"], n, fresh)))
    finally:
        for old in client.containers.list(all=True, filters={"name": f"^{NAME}$"}):
            old.remove(force=True)
        shutil.rmtree(folder, ignore_errors=True)

    load_after = os.getloadavg()
    print(f"{n:,} lines from one lab container printing flat out ({host['name']}); "
          "each reader from spawn to the last line, counted in a pipe")
    print(f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
          f"(1 min; 5 min {load_after[1]:.1f}) on {os.cpu_count()} CPUs")
    print(pin_note(split))
    for name, ((baseline, base_cpu), (ours, our_cpu)) in rows.items():
        verdict = "meets" if ours >= baseline else "misses"
        print(f"  {name:20} ssh HOST docker logs {baseline:>10,.0f} lines/s   corral logs "
              f"{ours:>10,.0f} lines/s   {ours / baseline:.2f}x (target >= 1.0x: {verdict})")
        print(f"  {'':20} local CPU: ssh {base_cpu:.1f} s, corral (with its relay) "
              f"{our_cpu:.1f} s")
    stall_target = 100 if split is None else 50
    for name, run in terms:
        verdict = "meets" if run.stall_ms < stall_target else "misses"
        print(f"  pane in tmux, {name:8} {run.rate:>10,.0f} lines/s into the pane; longest UI "
              f"stall {run.stall_ms:.0f} ms (target < {stall_target}: {verdict}; p99 of 10 ms "
              f"ticks {run.p99_ms:.0f} ms; the console had a CPU for {run.stall_cpu_ms:.0f} ms "
              f"of it, its UI thread {run.stall_ui_cpu_ms:.0f} ms)")
        print(f"  {'':23}garbage collector: longest pause {run.gc_max_ms:.0f} ms, "
              f"{run.gc_full_count} full collections while the pane filled "
              f"({run.gc_full_ms / max(1, run.gc_full_count):.0f} ms each on average); "
              "longest call: "
              + ", ".join(f"{step} {ms:.0f} ms" for step, ms in sorted(run.slowest_ms.items())))
        print(f"  {'':23}within the longest stall: "
              + ", ".join(f"{step} {ms:.0f} ms" for step, ms in sorted(run.gap_parts_ms.items()))
              + " (a collection or the rows within a step count in both)")
        verdict = "meets" if run.growth_mb <= 100 else "misses"
        print(f"  {'':23}RSS growth, console + relay {run.growth_mb:.0f} MB (console "
              f"{run.rss_start_mb:.0f} -> {run.rss_mb:.0f} MB, relay {run.relay_mb:.0f} MB; "
              f"target <= 100: {verdict})")
    for name in ("backlog", "live"):
        stalls = sorted(run.stall_ms for kind, run in terms if kind == name)
        if len(stalls) > 1:
            met = sum(stall < stall_target for stall in stalls)
            print(f"  pane in tmux, {name:8} longest stall over {len(stalls)} runs: "
                  + ", ".join(f"{stall:.0f}" for stall in stalls)
                  + f" ms; under {stall_target} ms in {met} of {len(stalls)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
