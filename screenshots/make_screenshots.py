#!/usr/bin/env python3
"""Pictures of every console view, taken against the lab, as SVG and PNG.

Brings up a three-host lab if `--dir` holds none, puts a small shop on it
(two healthchecked `shop/web` replicas per host, a worker writing to a
volume, a report job that exited 3, a toolbox), drives the console with
Textual's Pilot and saves each view with `App.save_screenshot()`. PNGs come
from `rsvg-convert` (Debian `librsvg2-bin`) or else the `cairosvg` package;
without either only SVGs are written.

Usage: screenshots/make_screenshots.py [--dir LAB_DIR] [--out DIR] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402

from corral.backends.audit import install as install_audit  # noqa: E402
from corral.backends.inventory.load import Inventory, load_inventory  # noqa: E402
from corral.backends.ssh.connect import SshSettings  # noqa: E402
from corral.tui.app import CorralApp  # noqa: E402
from corral.tui.config import Config  # noqa: E402
from corral.tui.console.screens.modals import ConfirmScreen, TextScreen  # noqa: E402
from corral.tui.console.screens.plan import PlanScreen  # noqa: E402
from corral.tui.console.views.base import ResourceView  # noqa: E402
from corral.tui.console.widgets.panes import Pane  # noqa: E402
from corral.tui.console.widgets.terminal.pane import ShellPane  # noqa: E402
from tests.support.console import STACK as DEMO_STACK  # noqa: E402
from tests.support.console import fill_demo_form, open_demo_form  # noqa: E402
from tests.support.deploy import corral_here  # noqa: E402
from tests.support.lab_cli import engine  # noqa: E402
from tests.support.pilot import command, console_screen, until  # noqa: E402
from tests.support.workloads import demo_workload, ensure_lab, remove_workload  # noqa: E402

WORKLOAD = "screenshots"
SIZE = (160, 45)
#: What each picture shows, in README order.
CAPTIONS: dict[str, str] = {}


class Camera:
    """Saves numbered screenshots of a running app into a folder."""

    def __init__(self, out: Path):
        self.out = out
        self.start = time.monotonic()

    async def shot(self, pilot: Pilot, name: str, caption: str) -> None:
        """Let the app settle, then save `name.svg` and remember its caption."""
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        pilot.app.save_screenshot(f"{name}.svg", str(self.out))
        CAPTIONS[name] = caption
        print(f"  {time.monotonic() - self.start:5.1f}s  {name}.svg", file=sys.stderr)


def view(pilot: Pilot, name: str) -> ResourceView:
    """The console's resource view called `name`."""
    return pilot.app.screen.query_one(f"#{name}", ResourceView)


async def show(pilot: Pilot, name: str, ready, what: str) -> None:
    """`:name`, then wait until `ready()`."""
    await command(pilot, ":", name)
    await until(pilot, ready, what, timeout=30)


async def tour(pilot: Pilot, camera: Camera, expected: int, sockets: list[str]) -> None:
    """Every view of a console connected to the lab, one picture each."""
    screen = await console_screen(pilot)
    containers = view(pilot, "containers")
    await until(pilot, lambda: containers.row_count >= expected, "every container", 60)
    # Two stats samples, so CPU figures (a difference of two samples) show.
    await until(pilot, lambda: sum(1 for v in containers.stats.values() if v[0] is not None)
                >= 3, "CPU figures", 30)
    await camera.shot(pilot, "containers", "Containers of every host, live from engine events")

    await pilot.press("p")
    await camera.shot(pilot, "containers-problems", "`p`: problems only (exited non-zero, "
                      "restarting, unhealthy, OOM-killed)")
    await pilot.press("p")
    await command(pilot, "/", "web")
    await camera.shot(pilot, "containers-filtered", "`/web`: a regex filter (`!` inverts)")
    await pilot.press("escape")

    hosts = view(pilot, "hosts")
    await show(pilot, "hosts", lambda: hosts.row_count == len(screen.fleet.sessions) and all(
        r.details is not None for r in hosts.records.values()), "host details")
    await camera.shot(pilot, "hosts", "`:hosts`: engine, OS, CPUs, memory, disk, latency, labels")
    await pilot.press("a")
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "AddHostScreen", "the form")
    await camera.shot(pilot, "add-host", "`a` in `:hosts`: the Add host form")
    await pilot.press("escape")

    stacks = view(pilot, "stacks")
    await show(pilot, "stacks", lambda: stacks.row_count > 0, "stacks")
    await camera.shot(pilot, "stacks", "`:stacks`: containers grouped by stack and service")
    volumes = view(pilot, "volumes")
    await show(pilot, "volumes", lambda: volumes.row_count > 0, "volumes")
    await camera.shot(pilot, "volumes", "`:volumes`: volumes per host and who uses them")
    images = view(pilot, "images")
    await show(pilot, "images", lambda: images.row_count > 0, "images")
    await camera.shot(pilot, "images", "`:images`: images per host, sizes, users")
    await asyncio.to_thread(stir, sockets[0])
    events = view(pilot, "events")
    await show(pilot, "events", lambda: events.row_count > 0, "events")
    # Healthchecks flood the stream with exec_* events; hide them, as a user would.
    await command(pilot, "/", "!exec_")
    await camera.shot(pilot, "events", "`:events` filtered with `/!exec_`: engine events, "
                      "newest first")
    await pilot.press("escape")

    await show(pilot, "ps", lambda: True, "containers")
    await pilot.press("question_mark")
    await until(pilot, lambda: isinstance(pilot.app.screen, TextScreen), "help")
    await camera.shot(pilot, "help", "`?`: every key of the view, with its id for the keymap")
    await pilot.press("escape")
    await pilot.press("y")
    await until(pilot, lambda: isinstance(pilot.app.screen, TextScreen), "inspect", 15)
    await camera.shot(pilot, "inspect", "`y`: inspect as YAML")
    await pilot.press("escape")
    await pilot.press("space", "space", "ctrl+d")
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "confirmation")
    await camera.shot(pilot, "confirm", "Destructive actions ask first, naming host and object")
    # Cancel, and unmark both rows (the cursor moved below them).
    await pilot.press("n", "up", "space", "up", "up", "space")
    await logs_pane(pilot, camera, containers)
    await shell_pane(pilot, camera, containers)
    await catalog_to_stack(pilot, camera)


def stir(socket: str) -> None:
    """Restart the toolbox and rerun the report job, for the events view to show."""
    client = engine(socket)
    for container in client.containers.list(all=True):
        if container.name.startswith("toolbox-"):
            container.restart(timeout=1)
        elif container.name == "cron-report-1":
            container.start()
            container.wait(timeout=30)


async def logs_pane(pilot: Pilot, camera: Camera, containers: ResourceView) -> None:
    """`l` on the worker: its logs in a pane beside the table (if this build has them)."""
    worker = next((key for key, row in containers.records.items()
                   if row.name == "shop-worker-1"), None)
    if worker is None:
        return
    containers.move_cursor(row=containers.get_row_index(worker))
    await pilot.press("l")
    try:
        await until(pilot, lambda: bool(pilot.app.screen.query(Pane)), "a log pane", 5)
    except AssertionError:
        print("  (no log pane in this build: skipped)", file=sys.stderr)
        return
    await pilot.pause(2.0)
    await camera.shot(pilot, "logs-pane", "`l`: a container's logs in a pane beside the table")


async def shell_pane(pilot: Pilot, camera: Camera, containers: ResourceView) -> None:
    """`s` on the toolbox: a shell in a pane, beside the log pane."""
    toolbox = next((key for key, row in containers.records.items()
                    if row.name.startswith("toolbox-") and row.state == "running"), None)
    if toolbox is None:
        return
    containers.focus()
    containers.move_cursor(row=containers.get_row_index(toolbox))
    await pilot.press("s")
    await until(pilot, lambda: bool(pilot.app.screen.query(ShellPane)), "a shell pane", 10)
    view = pilot.app.screen.query_one(ShellPane).view
    await until(pilot, lambda: any("#" in row for row in view.screen_lines()), "the prompt", 20)
    await pilot.press(*"ls /", "enter")
    await pilot.pause(1.0)
    await camera.shot(pilot, "shell-pane", "`s`: a shell in a container, beside its logs "
                      "(ctrl+] leaves the terminal, ctrl+w closes the pane)")
    for pane in list(pilot.app.screen.query(Pane)):
        await pilot.app.screen.workspace.close_pane(pane)
    containers.focus()
    await pilot.pause(0.3)


async def catalog_to_stack(pilot: Pilot, camera: Camera) -> None:
    """`:catalog`, the demo's questions, its plan, the apply, and the stack it made."""
    await open_demo_form(pilot)
    await fill_demo_form(pilot)
    await pilot.pause(0.5)
    await camera.shot(pilot, "catalog-form", "A template's questions: one widget per type, "
                      "checked as you type, passwords masked")
    await pilot.press("ctrl+g")
    await until(pilot, lambda: isinstance(pilot.app.screen, PlanScreen), "the plan screen")
    plan = pilot.app.screen
    await until(pilot, lambda: plan.phase != "planning", "the plan", 30)
    await camera.shot(pilot, "plan", "`ctrl+g`: the placement plan, each replica's host and "
                      "why, and the hosts not chosen")
    await pilot.press("a", "y")
    await until(pilot, lambda: plan.phase in ("done", "failed"), "the apply", 120)
    stacks = view(pilot, "stacks")
    await until(pilot, lambda: any(key.startswith(f"{DEMO_STACK}/") for key in stacks.records),
                "the new stack", 30)
    await pilot.pause(1.0)
    await camera.shot(pilot, "deployed", "After `a` (apply): the stacks view with the new "
                      "stack; `c`/`b` confirm or roll back an upgrade, `R` reconciles")
    audit = view(pilot, "audit")
    await show(pilot, "audit", lambda: audit.row_count > 0, "the audit trail")
    await camera.shot(pilot, "audit", "`:audit`: every change, from this machine's file and the "
                      "hosts' history: when, who, where, what, how it ended")


def remove_demo_stack(lab_dir: Path) -> None:
    """Remove the stack the tour deployed (and its volumes)."""
    corral_here("rm", DEMO_STACK, "--yes", "--volumes", "--inventory",
                str(lab_dir / "inventory.yaml"), "--known-hosts", str(lab_dir / "known_hosts"))


async def take_all(lab_dir: Path, out: Path, expected: int, sockets: list[str]) -> None:
    """The tour, then a read-only console and one with no hosts."""
    camera = Camera(out)
    settings = SshSettings(known_hosts=(str(lab_dir / "known_hosts"),))
    inventory = load_inventory(lab_dir / "inventory.yaml")
    app = CorralApp(inventory, settings, Config())
    async with app.run_test(size=SIZE) as pilot:
        await tour(pilot, camera, expected, sockets)
    app = CorralApp(inventory, settings, Config(readonly=True))
    async with app.run_test(size=SIZE) as pilot:
        await console_screen(pilot)
        containers = view(pilot, "containers")
        await until(pilot, lambda: containers.row_count >= expected, "every container", 60)
        await camera.shot(pilot, "readonly", "`--readonly`: no mutating key, READ-ONLY in "
                          "the title")
    app = CorralApp(Inventory(hosts=(), path=Path("~/.config/corral/inventory.yaml")),
                    SshSettings(), Config())
    async with app.run_test(size=SIZE) as pilot:
        await console_screen(pilot)
        await camera.shot(pilot, "no-hosts", "With no hosts, how to add one")


def png_converter() -> str | None:
    """`rsvg-convert`, `cairosvg`, or None."""
    if shutil.which("rsvg-convert"):
        return "rsvg-convert"
    try:
        import cairosvg  # noqa: F401
    except ImportError:
        return None
    return "cairosvg"


def to_png(svg: Path, converter: str) -> Path:
    """Convert one screenshot to PNG.

    Textual's SVG names Fira Code with a web-font URL and spaces text with
    non-breaking spaces and `textLength`. Converters without that font or
    attribute drift by a column on long lines, so the copy given to them
    names DejaVu Sans Mono at the size whose advance matches Textual's
    12.2 px cell, and preserves spaces.
    """
    text = svg.read_text()
    text = text.replace("<svg ", '<svg xml:space="preserve" ', 1)
    text = text.replace("font-family: Fira Code, monospace;",
                        'font-family: "DejaVu Sans Mono", monospace;')
    text = re.sub(r"(\.terminal-matrix \{[^}]*?font-size: )20px", r"\g<1>20.26px", text)
    png = svg.with_suffix(".png")
    if converter == "rsvg-convert":
        subprocess.run(["rsvg-convert", "-o", str(png)], input=text.encode(), check=True)
    else:
        import cairosvg

        cairosvg.svg2png(bytestring=text.encode(), write_to=str(png))
    return png


def write_readme(out: Path, lab_dir: Path, converter: str | None) -> None:
    """`README.md` in `out`: every picture with its caption."""
    lines = [
        "# Screenshots",
        "",
        "Made by `screenshots/make_screenshots.py` against a three-host lab "
        f"(`tests/lab/lab up --dir {lab_dir}`), {SIZE[0]}x{SIZE[1]} cells, on "
        f"{time.strftime('%Y-%m-%d')}. Run it again to refresh them.",
        "",
    ]
    for name, caption in CAPTIONS.items():
        picture = f"{name}.png" if converter else f"{name}.svg"
        lines += [f"## {name}", "", caption, "", f"![{name}]({picture})", ""]
    (out / "README.md").write_text("\n".join(lines))


def wait_healthy(sockets: list[str], timeout: float = 40) -> None:
    """Wait until every healthchecked container is healthy, so pictures show it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [
            container.attrs["State"].get("Health", {}).get("Status")
            for socket in sockets for container in engine(socket).containers.list()
        ]
        if all(state in (None, "healthy") for state in states):
            return
        time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/corral-lab-shots"))
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--keep", action="store_true", help="leave the shop running")
    args = parser.parse_args()
    hosts = ensure_lab(args.dir)
    # The tour's own audit trail, as `corral` keeps one (not the user's file).
    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="corral-shots-state-")
    install_audit()
    sockets = [host["socket"] for host in hosts]
    remove_workload(sockets, WORKLOAD)
    demo_workload({host["name"]: host["socket"] for host in hosts}, WORKLOAD)
    try:
        wait_healthy(sockets)
        expected = sum(len(engine(s).containers.list(all=True)) for s in sockets)
        args.out.mkdir(parents=True, exist_ok=True)
        asyncio.run(take_all(args.dir, args.out, expected, sockets))
    finally:
        if not args.keep:
            remove_workload(sockets, WORKLOAD)
            remove_demo_stack(args.dir)
    converter = png_converter()
    if converter is None:
        print("no rsvg-convert or cairosvg: SVG only", file=sys.stderr)
    else:
        for name in CAPTIONS:
            to_png(args.out / f"{name}.svg", converter)
    write_readme(args.out, args.dir, converter)
    print(f"{len(CAPTIONS)} screenshots in {args.out} (PNG via {converter or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
