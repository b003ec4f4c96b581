#!/usr/bin/env python3
"""Shell pane speed against the lab: keystroke echo, and floods.

Everything is measured in one run on the same container, so the ratios
mean something on a shared, noisy machine:

* keystroke-to-echo latency of `cat` in a TTY (the echo comes from the
  container's line discipline) on the raw exec socket, and in the pane
  (a Textual app run headless; the key goes through the app's key
  dispatch, the writer, the tunnel, the reader thread, the parser): until
  the character is in the emulator's screen, and until its row is drawn;
* floods (`yes`, `seq`, coloured lines): the longest stall of the UI's
  event loop (a 5 ms heartbeat), and the time from Ctrl-C to a quiet
  prompt. The pane collapses floods (`terminal/feed.py`: plain lines that
  would scroll off before a frame shows them go to the scrollback as text,
  not through the emulator); the bench prints how many lines it collapsed,
  and `--no-collapse` runs the `yes` flood once more with collapsing off.

Usage: bench/shell.py [--dir LAB_DIR] [--rounds N] [--flood-seconds S] [--no-collapse]
                      [--no-pin]
(starts the lab if needed; creates and removes its own container; the lab runs
on its own CPUs unless --no-pin, see pinning.py).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import docker
from pinning import cpu_split, lab_cpus, pin_self
from textual import events
from textual.app import ComposeResult
from tunnel import lab_status

from corral.backends.exec.attach import ExecRequest, ExecStream
from corral.backends.exec.target import ContainerTarget
from corral.backends.inventory.load import Inventory, load_inventory
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.loop import BackendLoop
from corral.tui.console.fleet_app import FleetApp
from corral.tui.console.widgets.terminal import view as terminal_view
from corral.tui.console.widgets.terminal.pane import ShellPane, wait_for_shells

CONTAINER = "corral-bench-shell"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SIZE = (120, 40)
#: Seconds between keystrokes: brisk typing (20 keys/s). Echoes closer
#: together than a frame are drawn together, by design.
TYPING_GAP = 0.05
FLOODS = {
    "yes": "yes",
    "seq": "seq 1 100000000",
    "colour": "while :; do printf '\\033[32mok\\033[0m line \\033[1mbold\\033[0m\\n'; done",
}


def percentile(samples: list[float], fraction: float) -> float:
    """The `fraction` quantile of `samples` (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def raw_echo_ms(inventory: Inventory, settings: SshSettings, target: ContainerTarget,
                rounds: int) -> list[float]:
    """Keystroke-to-echo on the bare exec socket, in ms."""
    samples = []
    with BackendLoop() as loop:
        fleet = Fleet(inventory, settings, stream_relay=True)  # the pane's own path
        loop.run(fleet.connect_all())
        try:
            stream = ExecStream.open(
                fleet.session(target.host), ExecRequest(target.container, ("cat",)),
                (SIZE[1], SIZE[0]),
            )
            for index in range(rounds):
                char = b"abcdefghij"[index % 10 : index % 10 + 1]
                if index % 60 == 59:
                    stream.write(b"\r")
                    _drain(stream)
                start = time.perf_counter()
                stream.write(char)
                seen = b""
                while char not in seen:
                    seen += stream.read(1.0) or b""
                samples.append((time.perf_counter() - start) * 1000)
                time.sleep(TYPING_GAP)
            stream.terminate()
            stream.close()
        finally:
            loop.run(fleet.close(), timeout=10)
    return samples


def _drain(stream: ExecStream) -> None:
    while stream.read(0.05):
        pass


class BenchApp(FleetApp):
    """One shell pane, headless."""

    def __init__(self, inventory: Inventory, settings: SshSettings, target: ContainerTarget,
                 command: tuple[str, ...]):
        super().__init__(inventory, settings)
        self.target = target
        self.command = command

    def compose(self) -> ComposeResult:
        yield ShellPane(self.fleet, self.target, command=self.command)

    def on_mount(self) -> None:
        gc.freeze()  # as `ShellApp` does

    async def on_unmount(self) -> None:
        await asyncio.to_thread(wait_for_shells)  # as `ShellApp` does


#: Seconds the bench waits for the prompt after Ctrl-C before moving on.
CTRL_C_PATIENCE = 30


async def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


async def pane_echo_ms(inventory: Inventory, settings: SshSettings, target: ContainerTarget,
                       rounds: int) -> dict[str, list[float]]:
    """Keystroke-to-echo in the pane, in ms, from two starting points to two ends.

    Returns:
        `key→screen` and `key→drawn` start when the key event is posted to the
        app (Textual's own key dispatch included); `pane→screen` starts when
        the terminal widget hands the bytes to the exec, which is where the
        raw measurement starts too.
    """
    app = BenchApp(inventory, settings, target, ("cat",))
    times: dict[str, list[float]] = {"key→screen": [], "key→drawn": [], "pane→screen": []}
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(ShellPane)
        view = pane.view
        await _until(lambda: pane._stream.stream is not None, 20, "the exec")
        await pilot.pause(0.3)
        marks: dict[str, float] = {}
        screen = view.terminal
        draw, render_line, send = screen.draw, view.render_line, view.send

        def timed_send(data: bytes) -> None:
            marks.setdefault("pane", time.perf_counter())
            send(data)

        def timed_draw(data: str) -> None:
            draw(data)
            if "want" in marks and marks["want"] in data and "model" not in marks:
                marks["model"] = time.perf_counter()

        def timed_render_line(y: int):
            strip = render_line(y)
            if "model" in marks and "paint" not in marks and y == screen.cursor.y:
                marks["paint"] = time.perf_counter()
            return strip

        view.send, screen.draw, view.render_line = timed_send, timed_draw, timed_render_line
        for index in range(rounds):
            char = "abcdefghij"[index % 10]
            if index % 60 == 59:
                app.post_message(events.Key("enter", "\r"))
                await pilot.pause(0.05)
            marks.clear()
            marks["want"] = char
            start = time.perf_counter()
            app.post_message(events.Key(char, char))
            await _until(lambda: "paint" in marks, 5, "the echo")
            times["key→screen"].append((marks["model"] - start) * 1000)
            times["key→drawn"].append((marks["paint"] - start) * 1000)
            times["pane→screen"].append((marks["model"] - marks["pane"]) * 1000)
            await asyncio.sleep(TYPING_GAP)
    return times


async def flood(inventory: Inventory, settings: SshSettings, target: ContainerTarget,
                command: str, seconds: float) -> dict[str, float]:
    """Run a flood in the pane; UI stalls and Ctrl-C time."""
    app = BenchApp(inventory, settings, target, ())
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(ShellPane)
        view = pane.view

        def prompt() -> bool:
            # At the end of the cursor's row, not its start: on Ctrl-C the kernel
            # flushes the TTY's pending output, which may cut the flood's last line
            # (the prompt then follows its text) or an escape sequence (which then
            # swallows the prompt's "/"), as in any terminal.
            row = view.screen_lines()[view.terminal.cursor.y].rstrip()
            return row.endswith("#") and not view.busy

        await _until(prompt, 20, "the prompt")
        received = 0
        put = view.output.put

        def counting_put(data: bytes, **kwargs) -> bool:
            nonlocal received
            received += len(data)
            return put(data, **kwargs)

        view.output.put = counting_put
        await pilot.press(*"clear", "enter")
        await pilot.pause(0.2)
        gaps: list[float] = []
        last = [time.perf_counter()]

        def beat() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        app.set_interval(0.005, beat)
        await asyncio.sleep(1.0)
        idle_gaps = gaps[:]
        gaps.clear()
        longest = [0.0]
        for name in ("_feed_pass", "_paint"):
            setattr(view, name, _timed(getattr(view, name), longest))
        for key in command:
            app.post_message(events.Key(key, key))
        app.post_message(events.Key("enter", "\r"))
        start = time.perf_counter()
        cpu_before = thread_cpu()
        await asyncio.sleep(seconds)
        cpu_after = thread_cpu()
        flood_gaps = gaps[:]
        rate = received / (time.perf_counter() - start)
        interrupt = time.perf_counter()
        app.post_message(events.Key("ctrl+c", None))
        try:
            await _until(prompt, CTRL_C_PATIENCE, "the prompt after Ctrl-C")
        except SystemExit:  # reported as the patience itself, with what the pane shows
            print(f"no prompt after Ctrl-C: busy={view.busy} last rows="
                  f"{view.screen_lines()[-3:]}", file=sys.stderr)
        stop_s = time.perf_counter() - interrupt
        await pilot.pause(0.1)
        skipped = view.skipped_lines
    cpu = {
        name: 100 * (cpu_after[name] - cpu_before.get(name, 0.0)) / seconds
        for name in ("MainThread", "corral-backend", "reader", "relay process")
        if name in cpu_after
    }
    return {
        "load": os.getloadavg()[0],
        "cpu": cpu,
        "idle_stall_ms": (max(idle_gaps) - 0.005) * 1000,
        "callback_ms": longest[0] * 1000,
        "stall_ms": (max(flood_gaps) - 0.005) * 1000,
        "p99_gap_ms": percentile(flood_gaps, 0.99) * 1000,
        "ctrl_c_s": stop_s,
        "mb_per_s": rate / 1e6,
        "skipped": skipped,
    }


def thread_cpu() -> dict[str, float]:
    """CPU seconds used so far by each thread of this process (by thread name) and its relays."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    used = {}
    for tid in os.listdir("/proc/self/task"):
        name = names.get(int(tid), "other")
        name = "reader" if name.startswith("corral-shell") else name
        used[name] = used.get(name, 0.0) + _cpu_seconds(_stat(f"/proc/self/task/{tid}/stat"))
    used["relay process"] = sum(_cpu_seconds(_stat(f"/proc/{pid}/stat")) for pid in _relay_pids())
    return used


def _stat(path: str) -> list[str]:
    """The fields of a /proc stat file after the command name (none if it is gone)."""
    try:
        with open(path) as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _cpu_seconds(fields: list[str]) -> float:
    """User plus system time in a stat file's fields."""
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS if fields else 0.0


def _relay_pids() -> list[int]:
    """This process's stream relay children (see backends/ssh/relay.py): OpenSSH's
    `ssh -N … -L` (`backends/ssh/pump.py`) or the Python child."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                argv = cmdline.read().split(b"\0")
        except OSError:
            continue
        openssh = os.path.basename(argv[0]) == b"ssh" and b"-N" in argv and b"-L" in argv
        if not openssh and b"corral.backends.ssh.relay_process" not in argv:
            continue
        fields = _stat(f"/proc/{entry}/stat")
        if fields and int(fields[1]) == os.getpid():
            pids.append(int(entry))
    return pids


def _timed(method, longest: list[float]):
    """Wrap a UI callback to keep the longest time it took."""

    def timed(*args):
        start = time.perf_counter()
        try:
            return method(*args)
        finally:
            longest[0] = max(longest[0], time.perf_counter() - start)

    return timed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/corral-lab", type=Path)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--flood-seconds", type=float, default=5.0)
    parser.add_argument("--no-collapse", action="store_true",
                        help="also run the yes flood with flood collapsing off")
    parser.add_argument("--no-pin", action="store_true",
                        help="let the lab share every CPU with the console (see pinning.py)")
    args = parser.parse_args()
    hosts = lab_status(args.dir)
    split = None if args.no_pin else cpu_split()
    if split is not None:
        pin_self(split[0])
    inventory = load_inventory(args.dir / "inventory.yaml")
    settings = SshSettings(known_hosts=(str(args.dir / "known_hosts"),))
    host = hosts[0]
    target = ContainerTarget(host["name"], CONTAINER)
    engine = docker.DockerClient(base_url=f"unix://{host['socket']}", version="auto")
    for old in engine.containers.list(all=True, filters={"name": CONTAINER}):
        old.remove(force=True)
    container = engine.containers.run(
        "corral-lab/busybox:1", ["sleep", "3600"], name=CONTAINER, detach=True
    )
    lab_cpus(hosts, split)
    try:
        raw = raw_echo_ms(inventory, settings, target, args.rounds)
        pane = asyncio.run(pane_echo_ms(inventory, settings, target, args.rounds))
        raw += raw_echo_ms(inventory, settings, target, args.rounds)
        floods = {}
        for name, command in FLOODS.items():
            print(f"flood: {name} …", file=sys.stderr)
            floods[name] = asyncio.run(
                flood(inventory, settings, target, command, args.flood_seconds)
            )
        if args.no_collapse:
            # The view reads its thresholds at each pass: past any backlog, nothing collapses.
            terminal_view.COLLAPSE_AT = terminal_view.COLLAPSE_BEHIND = 1 << 62
            floods["yes, no collapse"] = asyncio.run(
                flood(inventory, settings, target, FLOODS["yes"], args.flood_seconds)
            )
            if floods["yes, no collapse"]["skipped"]:
                raise SystemExit("--no-collapse left collapsing on: the terminal view's "
                                 "thresholds moved (see terminal/view.py)")
    finally:
        container.remove(force=True)

    raw_ms = statistics.median(raw)
    print(f"Keystroke to echo, `cat` in a TTY on {host['name']}, {args.rounds} keys each "
          "(median / p95):")
    print(f"  raw exec socket          {raw_ms:7.2f} / {percentile(raw, 0.95):6.2f} ms")
    notes = {
        "pane→screen": "(target <= 1.5x: same start as raw, parsed into the screen)",
        "key→screen": "(adds Textual's key dispatch)",
        "key→drawn": "(adds the row's repaint and Textual's 60 fps frame clock)",
    }
    for name, samples in pane.items():
        median = statistics.median(samples)
        print(f"  pane, {name:12}      {median:7.2f} / {percentile(samples, 0.95):6.2f} ms   "
              f"ratio {median / raw_ms:.2f}x raw {notes[name]}")
    print(f"Floods, {args.flood_seconds:.0f} s each in a {SIZE[0]}x{SIZE[1]} pane, on "
          f"{os.cpu_count()} CPUs:")
    if split is not None:
        print(f"  (console on CPU {sorted(split[0])}, lab hosts on CPU {sorted(split[1])}: as if "
              "the hosts were other machines; --no-pin to share)")
    print("  (UI stall: longest gap of a 5 ms heartbeat on the UI loop, minus 5 ms; the idle "
          "figure is the same pane before the flood, i.e. this machine's noise)")
    for name, result in floods.items():
        print(f"  {name:17} longest UI stall {result['stall_ms']:6.1f} ms (target < 100; "
              f"idle {result['idle_stall_ms']:5.1f}), p99 beat {result['p99_gap_ms']:5.1f} ms, "
              f"longest terminal callback {result['callback_ms']:5.1f} ms")
        print(f"  {'':17} Ctrl-C to prompt {result['ctrl_c_s']:5.2f} s (target <= 1), "
              f"read {result['mb_per_s']:5.2f} MB/s, {result['skipped']} lines collapsed")
        print(f"  {'':17} CPU during the flood: " + ", ".join(
            f"{name} {share:.0f}%" for name, share in result["cpu"].items())
            + f" (machine load average {result['load']:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
