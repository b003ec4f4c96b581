#!/usr/bin/env python3
"""`corral ARGS…` with a stall probe, for timing the UI in a real terminal.

Runs the `corral` command line unchanged (same process, same terminal
writes), with one addition: every Corral app gets a 10 ms timer on its
event loop once mounted. Each tick records the gap since the previous one;
a gap far above 10 ms is a stall (the loop was busy or had no CPU). Once a
log pane is on screen the probe also watches its history, and it writes
what it saw as JSON to the file named by `CORRAL_BENCH_PROBE` four times a
second and once more when `CORRAL_BENCH_LINES` lines are in the pane:

    {"lines": N, "seconds": since the pane appeared, "done": bool,
     "max_gap_ms", "max_gap_cpu_ms", "p99_ms", "rss_start_mb", "rss_mb"}

Gaps count from the moment the pane appears. This is a bench tool: the
product has no such hook.

Usage: CORRAL_BENCH_PROBE=FILE CORRAL_BENCH_LINES=N stall_probe.py CORRAL_ARGS…
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from corral.tui.cli.main import main
from corral.tui.console.fleet_app import FleetApp
from corral.tui.console.widgets.logs.view import LogPane


def rss_mb() -> float:
    """This process's resident set size in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Probe:
    """The ticks of one app, and the log pane they watch."""

    def __init__(self, app, out: Path, lines: int) -> None:
        self.app, self.out, self.lines = app, out, lines
        self.pane: LogPane | None = None
        self.start = self.done_at = 0.0
        self.rss_start = 0.0
        self.last = self.last_cpu = 0.0
        self.gaps: list[float] = []
        self.max_gap = self.max_gap_cpu = 0.0

    def tick(self) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        if self.pane is None:
            found = self.app.query(LogPane)
            if not found:
                return
            self.pane, self.start, self.rss_start = found.first(), now, rss_mb()
        elif self.last and not self.done_at:
            gap = now - self.last
            self.gaps.append(gap)
            if gap > self.max_gap:
                self.max_gap, self.max_gap_cpu = gap, cpu - self.last_cpu
        self.last, self.last_cpu = now, cpu
        if not self.done_at and self.pane.history.end >= self.lines:
            self.done_at = now
            self.write()

    def write(self) -> None:
        if self.pane is None:
            return
        gaps = sorted(self.gaps)
        end = self.done_at or time.perf_counter()
        report = {
            "lines": self.pane.history.end,
            "seconds": end - self.start,
            "done": bool(self.done_at),
            "max_gap_ms": self.max_gap * 1000,
            "max_gap_cpu_ms": self.max_gap_cpu * 1000,
            "p99_ms": gaps[int(len(gaps) * 0.99)] * 1000 if gaps else 0.0,
            "rss_start_mb": self.rss_start,
            "rss_mb": rss_mb(),
        }
        part = self.out.with_suffix(".part")
        part.write_text(json.dumps(report))
        part.replace(self.out)


def install(out: Path, lines: int) -> None:
    """Give every Corral app a probe once it is mounted."""
    mounted = FleetApp.on_mount

    def on_mount(self) -> None:
        mounted(self)
        probe = Probe(self, out, lines)
        self.set_interval(0.01, probe.tick)
        self.set_interval(0.25, probe.write)

    FleetApp.on_mount = on_mount


if __name__ == "__main__":
    install(Path(os.environ["CORRAL_BENCH_PROBE"]), int(os.environ["CORRAL_BENCH_LINES"]))
    sys.exit(main(sys.argv[1:]))
