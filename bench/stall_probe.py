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
     "max_gap_ms", "max_gap_cpu_ms", "max_gap_ui_cpu_ms", "p99_ms", "rss_start_mb", "rss_mb",
     "gc_max_ms", "gc_max_generation", "gc_ms_total", "gc_full_count", "gc_full_ms_total",
     "slowest_ms": {"feed": ms, "spill": ms, "screen": ms, "display": ms},
     "max_gap_parts_ms": {"feed": ms, "screen": ms, "rows": ms, "gc": ms, …}}

The gc_ fields time the interpreter's garbage collections after the pane
appears (`gc.callbacks`): a stall as long as the longest collection is the
collector's, not Corral's code. "slowest_ms" holds the longest single call of
the pane taking a batch (`LogPane.feed`), of its history moving lines to
disk (`LogHistory._spill`), of Textual working out the screen's changes
(`Screen._compositor_refresh`, `Screen._refresh_layout`) and of writing
them to the terminal (`App._display`). "max_gap_parts_ms" is the anatomy of
the longest gap: how much of it each timed step took (the rows Textual
rendered, `LogLines.render_line`, and the collections counted too; a
collection or the rows inside a step count in both).

Gaps count from the moment the pane appears. This is a bench tool: the
product has no such hook.

Usage: CORRAL_BENCH_PROBE=FILE CORRAL_BENCH_LINES=N stall_probe.py CORRAL_ARGS…
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from collections import deque
from pathlib import Path

from textual.app import App
from textual.screen import Screen

from corral.backends.logs.spool import LogHistory
from corral.tui.cli.main import main
from corral.tui.console.fleet_app import FleetApp
from corral.tui.console.widgets.logs.lines import LogLines
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
        self.last = self.last_cpu = self.last_ui_cpu = 0.0
        self.max_gap_ui_cpu = 0.0
        self.gaps: list[float] = []
        self.max_gap = self.max_gap_cpu = 0.0
        self.gc_began = self.gc_max = self.gc_total = 0.0
        self.gc_max_generation = -1
        self.gc_full = 0
        self.gc_full_total = 0.0
        self.gap_parts: dict[str, float] = {}
        gc.callbacks.append(self.collection)

    def collection(self, phase: str, info: dict) -> None:
        """Time each collection once the pane is on screen (gc.callbacks)."""
        if self.pane is None or self.done_at:
            return
        if phase == "start":
            self.gc_began = time.perf_counter()
            return
        ended = time.perf_counter()
        took = ended - self.gc_began
        RECENT.append(("gc", self.gc_began, ended))
        self.gc_total += took
        if info["generation"] == 2:
            self.gc_full += 1
            self.gc_full_total += took
        if took > self.gc_max:
            self.gc_max, self.gc_max_generation = took, info["generation"]

    def tick(self) -> None:
        # The process's CPU (every thread), and this (the UI) thread's own.
        now, cpu, ui_cpu = time.perf_counter(), time.process_time(), time.thread_time()
        if self.pane is None:
            found = self.app.query(LogPane)
            if not found:
                return
            self.pane, self.start, self.rss_start = found.first(), now, rss_mb()
            SLOWEST.clear()  # start-up's own steps are not the pane's stalls
        elif self.last and not self.done_at:
            gap = now - self.last
            self.gaps.append(gap)
            if gap > self.max_gap:
                self.max_gap, self.max_gap_cpu = gap, cpu - self.last_cpu
                self.max_gap_ui_cpu = ui_cpu - self.last_ui_cpu
                self.gap_parts = parts_of(self.last, now)
        self.last, self.last_cpu, self.last_ui_cpu = now, cpu, ui_cpu
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
            "max_gap_ui_cpu_ms": self.max_gap_ui_cpu * 1000,
            "p99_ms": gaps[int(len(gaps) * 0.99)] * 1000 if gaps else 0.0,
            "rss_start_mb": self.rss_start,
            "rss_mb": rss_mb(),
            "gc_max_ms": self.gc_max * 1000,
            "gc_max_generation": self.gc_max_generation,
            "gc_ms_total": self.gc_total * 1000,
            "gc_full_count": self.gc_full,
            "gc_full_ms_total": self.gc_full_total * 1000,
            "slowest_ms": {step: took * 1000 for step, took in SLOWEST.items()},
            "max_gap_parts_ms": {step: took * 1000 for step, took in self.gap_parts.items()},
        }
        part = self.out.with_suffix(".part")
        part.write_text(json.dumps(report))
        part.replace(self.out)


#: The longest single call of each timed step (see the module's docstring).
SLOWEST: dict[str, float] = {}
#: The latest timed calls and collections: (step, began, ended).
RECENT: deque[tuple[str, float, float]] = deque(maxlen=4096)


def parts_of(began: float, ended: float) -> dict[str, float]:
    """Seconds of each step (summed over its calls) within `began .. ended`."""
    parts: dict[str, float] = {}
    while True:
        try:
            events = list(RECENT)
            break
        except RuntimeError:
            continue  # a collection (gc.callbacks) appended while it was copied
    for step, start, stop in events:
        overlap = min(stop, ended) - max(start, began)
        if overlap > 0:
            parts[step] = parts.get(step, 0.0) + overlap
    return parts


def timed(owner: type, method: str, step: str) -> None:
    """Record the longest call of `owner.method` under `step`."""
    original = getattr(owner, method)

    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            ended = time.perf_counter()
            took = ended - began
            RECENT.append((step, began, ended))
            if took > SLOWEST.get(step, 0.0):
                SLOWEST[step] = took

    setattr(owner, method, wrapper)


def install(out: Path, lines: int) -> None:
    """Give every Corral app a probe once it is mounted."""
    for owner, method, step in ((LogPane, "feed", "feed"), (LogHistory, "_spill", "spill"),
                                (Screen, "_compositor_refresh", "screen"),
                                (Screen, "_refresh_layout", "screen"),
                                (App, "_display", "display"),
                                (LogLines, "render_line", "rows")):
        timed(owner, method, step)
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
