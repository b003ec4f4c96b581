"""The fault matrix's push run (issue 13 × issue 16): an image push hit by each fault.

The image only lab1 holds is pushed to `faults.HOST` (lab2) and to lab3 at
once, twice per fault: by `corral deploy` (a stack on every host: its images
are brought before any container) and by `corral images push --to lab2,lab3`.
Each runs in another process; the fault lands once bytes flow to lab2 (counted
on its veth, so the trigger does not depend on what the command prints). Then:

- the command failed in one line naming lab2, the image and why, with no
  traceback and nothing else on stderr but progress;
- lab2 holds nothing of the image (no tag, no image of its ID);
- lab3 got it all the same (the other host's work is done);
- after the repair the same command converges, and lab2 is sent only the layers
  it lacks (its busybox base is skipped); lab3 is sent nothing.

In the console, `console_push_run` checks its deploy (the plan screen's apply)
under a fault (`CONSOLE_DEPLOY_FAULTS`): the plan screen's error names lab2 with the image and why,
and an apply again in the same console converges, sending lab2 only the missing
layers (counted on its veth); `console_images_push_run` its `:images` push (`p`
to the hosts lacking the image; `CONSOLE_IMAGES_FAULTS`): lab2's line in the
transfers pane fails naming the image and why, lab3's is done, and `p` again sends
lab2 only what it lacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import subprocess
import sys
import tarfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import docker
from rich.console import Console

from corral.backends import labels as L
from corral.catalog.answers import resolve_answers
from corral.catalog.render import render
from corral.tui.cli.deploy_args import version_at
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.screens.plan import PlanScreen
from tests.support.console import SIZE, online, until
from tests.support.deploy import corral_on
from tests.support.faults import HOST, Outage, inject, matrix_console, repair
from tests.support.images import MB, build_layered_image, remove_image
from tests.support.lab import Lab
from tests.support.lab_cli import engine

#: The host that holds the image, and the other target (the air-gapped one).
SOURCE, OTHER = "lab1", "lab3"
#: The random layer: large enough that a fault lands mid-stream (≈ 6 s past the
#: trigger at `LINK_RATE`).
BIG = 80 * MB
#: HOST's link while a fault waits for its bytes: 100 Mbit/s, as many customer
#: rooms have. Unlimited, the OpenSSH pump pushed the layer in about 2 s on an
#: idle machine, and a fault started from a busy one landed after the image
#: (CI: the deploy then failed on the engine restart, naming no image).
LINK_RATE = "100mbit"
#: Bytes into HOST's veth after which the fault is injected.
TRIGGER = 8 * MB
#: A push of the missing layers: their bytes, 5 %, and the archive's small members.
TAR_OVERHEAD = 64 * 1024
#: On the wire, SSH and the console's own traffic to the host on top of that.
WIRE_OVERHEAD = 1 * MB

#: The faults each console push path is hit by (the command-line runs take every push
#: fault). A push fails in the backend the same way whichever command runs it; what a
#: console path adds is how it shows the failure and that an apply (or `p`) again in
#: the same console converges once its session recovers. So each console path gets one
#: fault that drops the SSH session (its deploy the link going silent, found by
#: keepalives; its `:images` push sshd stopping, found at once) and the engine restart
#: under a live session; every push fault still hits one console path.
CONSOLE_DEPLOY_FAULTS = ("link-down", "dockerd-restart")
CONSOLE_IMAGES_FAULTS = ("sshd-stop", "dockerd-restart")

PUSH_STACK = "fpush"
CONSOLE_STACK = "fcpush"
COMPOSE = """\
version: '2'
services:
  app:
    image: {image}
    command: ["sleep", "3600"]
    labels:
      io.rancher.scheduler.global: 'true'
"""


def build_image(lab: Lab, name: str) -> str:
    """A busybox + 80 MB + marker image on SOURCE alone; returns `repo:1`."""
    image = f"corral-test/{name}-{uuid.uuid4().hex[:6]}:1"
    build_layered_image(engine(lab.host(SOURCE).socket), image.split(":")[0], "1",
                        big_bytes=BIG)
    return image


def write_stack(directory: Path, image: str, name: str = PUSH_STACK) -> Path:
    """The push run's stack folder: one global service of `image`."""
    folder = directory / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "docker-compose.yml").write_text(COMPOSE.format(image=image))
    return folder


def missing_bytes(lab: Lab, image: str) -> int:
    """Bytes of the image's `layer.tar` members above its base (what a target holding the
    base lacks), from SOURCE's own `docker save`."""
    archive = b"".join(engine(lab.host(SOURCE).socket).api.get_image(image))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        layers = json.loads(tar.extractfile("manifest.json").read())[0]["Layers"]
        return sum(tar.getmember(name).size for name in layers[1:])


def _veth(lab: Lab, host: str) -> str:
    """The bridge's end of `host`'s veth pair: what goes through it enters the host."""
    hosts = json.loads((lab.dir / "lab.json").read_text())["hosts"]
    return next(item["veth"] for item in hosts if item["name"] == host)


def wire_bytes(lab: Lab, host: str) -> int:
    """Bytes the bridge has sent into `host`'s namespace (its veth's far end)."""
    return int(Path(f"/sys/class/net/{_veth(lab, host)}/statistics/tx_bytes").read_text())


@contextlib.contextmanager
def slow_link(lab: Lab, host: str, rate: str = LINK_RATE):
    """Bytes into `host` at `rate` at most (a token bucket on its veth) for the block.

    The veth goes with the lab, so a qdisc left by a killed run goes with it too.
    """
    veth = _veth(lab, host)
    subprocess.run(["tc", "qdisc", "replace", "dev", veth, "root", "tbf", "rate", rate,
                    "burst", "256kb", "latency", "400ms"], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["tc", "qdisc", "del", "dev", veth, "root"], capture_output=True)


def holds(lab: Lab, host: str, image: str, image_id: str) -> list[str]:
    """What `host`'s engine holds of `image`: its tags, or its ID untagged."""
    client = engine(lab.host(host).socket)
    found = [tag for i in client.images.list(name=image.split(":")[0]) for tag in i.tags]
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.get(image_id)
        found.append(image_id)
    return found


@dataclass
class Interrupted:
    """One command hit by the fault."""

    interrupted: bool = False  # the fault landed while bytes flowed to HOST
    exit_code: int | None = None
    stderr: list[str] = field(default_factory=list)
    stdout: list[str] = field(default_factory=list)
    sent_before_fault: int = 0  # bytes into HOST's veth when the fault was injected


class FaultOnBytes:
    """Injects `fault` on HOST from a thread of its own once `TRIGGER` bytes went into it.

    Not from the test's event loop: in the console runs the push being faulted runs
    on that loop too, and a loaded CI machine polled it so late that the image had
    landed before the fault did. The thread looks every 20 ms whatever the loop does.
    """

    def __init__(self, lab: Lab, fault: str) -> None:
        self.lab, self.fault = lab, fault
        self.outage: Outage | None = None
        self.sent_before_fault = 0  # bytes into HOST's veth when the fault was injected
        self._start = wire_bytes(lab, HOST)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._slow = slow_link(lab, HOST)

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            sent = wire_bytes(self.lab, HOST) - self._start
            if sent >= TRIGGER:
                self.sent_before_fault = sent
                self.outage = inject(self.lab, self.fault)
                return

    def start(self) -> FaultOnBytes:
        """Slow HOST's link to `LINK_RATE` and start watching its veth."""
        self._slow.__enter__()
        self._thread.start()
        return self

    def finish(self) -> None:
        """Stop watching; repair the fault if it was injected; wait until HOST answers.

        HOST's link is back to full speed: the re-run is not slowed.
        """
        self._stop.set()
        self._thread.join()
        self._slow.__exit__(None, None, None)
        if self.outage is not None:
            repair(self.lab, self.fault, self.outage)
        self.lab.restored(HOST)

    def __enter__(self) -> FaultOnBytes:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.finish()


def interrupted(lab: Lab, fault: str, command: list[str]) -> Interrupted:
    """Run `corral COMMAND` in another process; inject `fault` on HOST once `TRIGGER`
    bytes went into it; repair once the command ends; wait until HOST answers."""
    result = Interrupted()
    line = [sys.executable, "-m", "corral.tui.cli.main", *command, *lab.corral_args()]
    with FaultOnBytes(lab, fault) as trigger:
        process = subprocess.Popen(line, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        try:
            out, err = process.communicate(timeout=180)
        finally:
            if process.poll() is None:
                process.kill()
                out, err = process.communicate(timeout=10)
    result.sent_before_fault = trigger.sent_before_fault
    result.exit_code = process.returncode
    result.interrupted = trigger.outage is not None and process.returncode != 0
    result.stdout = out.splitlines()
    result.stderr = err.splitlines()
    return result


def _stray(lines: list[str]) -> list[str]:
    """stderr lines that are neither progress (`[  1.0s] …`) nor the error's own lines."""
    return [line for line in lines if line.strip()
            and not line.startswith(("[", "corral: ", "  "))]


@dataclass
class PushResult:
    """What the push run saw for one fault, for one command (deploy or images push)."""

    command: str
    interrupted: bool = False
    exit_code: int | None = None
    host_lines: list[str] = field(default_factory=list)  # error lines naming HOST
    stray: list[str] = field(default_factory=list)  # other lines on stderr (tracebacks…)
    left_on_host: list[str] = field(default_factory=list)  # HOST's tags or ID of the image
    other_holds: bool = False  # OTHER got the image despite the fault
    rerun_code: int | None = None
    rerun_error: str = ""
    rerun_bytes: int | None = None  # bytes sent to HOST by the re-run
    rerun_layers: str = ""  # "2 of 3 layers" (deploy), the mode (images push)
    other_rerun: str = ""  # what the re-run did on OTHER
    running: list[str] = field(default_factory=list)  # hosts running the stack after (deploy)
    shown: str = ""  # what the console's plan screen said when the apply failed
    missing: int = 0  # bytes of the layers HOST lacks


def deploy_push_run(lab: Lab, fault: str, image: str, directory: Path) -> PushResult:
    """`corral deploy` of a stack whose image only SOURCE holds, hit by `fault` on HOST
    mid-push; then the same deploy again. The stack and the copies are removed after."""
    result = PushResult("deploy", missing=missing_bytes(lab, image))
    image_id = engine(lab.host(SOURCE).socket).images.get(image).id
    folder = write_stack(directory, image)
    try:
        run = interrupted(lab, fault, ["deploy", str(folder), "--stack", PUSH_STACK, "--yes"])
        result.interrupted, result.exit_code = run.interrupted, run.exit_code
        result.host_lines = [line for line in run.stderr if not line.startswith("[")
                             and f"{HOST}:" in line]
        result.stray = _stray(run.stderr)
        result.left_on_host = holds(lab, HOST, image, image_id)
        result.other_holds = bool(holds(lab, OTHER, image, image_id))
        rerun = corral_on(lab, "deploy", str(folder), "--stack", PUSH_STACK, "--yes")
        result.rerun_code = rerun.returncode
        lines = rerun.stderr.splitlines()
        result.rerun_error = lines[-1] if rerun.returncode and lines else ""
        done = [line for line in lines if " push " in line and " done" in line]
        mine = [line for line in done if f" {HOST} " in line]
        result.rerun_layers = mine[0].rsplit(", ", 1)[-1] if mine else ""
        result.other_rerun = "; ".join(line for line in done if f" {OTHER} " in line) \
            or "nothing"
        result.running = [host.name for host in lab.hosts if engine(host.socket).containers.list(
            filters={"label": f"{L.STACK}={PUSH_STACK}", "status": "running"})]
        result.rerun_bytes = _bytes_of(mine[0]) if mine else None
    finally:
        corral_on(lab, "rm", PUSH_STACK, "--yes", "--volumes")
        for host in (HOST, OTHER):
            remove_image(engine(lab.host(host).socket), image)
    return result


def _bytes_of(done: str) -> int | None:
    """The bytes in a deploy's `push … done: 80.0 MB from lab1 …` line."""
    words = done.split("done: ", 1)[-1].split()
    units = {"B": 1, "KB": 1e3, "kB": 1e3, "MB": 1e6, "GB": 1e9}
    try:
        return int(float(words[0]) * units[words[1]])
    except (IndexError, KeyError, ValueError):
        return None


def cli_push_run(lab: Lab, fault: str, image: str) -> PushResult:
    """`corral images push IMAGE --to HOST,OTHER` hit by `fault` on HOST mid-push; then
    the same push again (`--json`). The copies are removed after."""
    result = PushResult("images push", missing=missing_bytes(lab, image))
    image_id = engine(lab.host(SOURCE).socket).images.get(image).id
    try:
        run = interrupted(lab, fault, ["images", "push", image, "--to", f"{HOST},{OTHER}"])
        result.interrupted, result.exit_code = run.interrupted, run.exit_code
        result.host_lines = [line for line in run.stderr if f"{HOST}:" in line]
        result.stray = _stray(run.stderr) + [line for line in run.stderr
                                             if line.startswith("  ")]
        result.left_on_host = holds(lab, HOST, image, image_id)
        result.other_holds = bool(holds(lab, OTHER, image, image_id))
        rerun = corral_on(lab, "images", "push", image, "--to", f"{HOST},{OTHER}", "--json")
        result.rerun_code = rerun.returncode
        result.rerun_error = rerun.stderr.strip()
        answers = {item.get("host"): item for item in map(json.loads, rerun.stdout.splitlines())}
        mine, other = answers.get(HOST, {}), answers.get(OTHER, {})
        result.rerun_bytes = mine.get("bytes_sent")
        result.rerun_layers = f"{mine.get('mode')}, {mine.get('layers_sent')} of " \
                              f"{mine.get('layers')} layers"
        result.other_rerun = f"{other.get('mode')}, {other.get('bytes_sent')} B"
    finally:
        for host in (HOST, OTHER):
            remove_image(engine(lab.host(host).socket), image)
    return result


def plain(renderable) -> str:
    """A rich renderable (the plan screen's status) as plain text, lines unwrapped."""
    out = Console(width=1000, record=True, file=io.StringIO())
    out.print(renderable)
    return out.export_text()


async def _apply(pilot, app, stack, answers) -> PlanScreen:
    """Plan `stack` on the console's plan screen and confirm its apply."""
    screen = PlanScreen(app.flow, stack, answers)
    app.push_screen(screen)
    await until(pilot, lambda: screen.phase != "planning", "the plan", timeout=30)
    assert screen.phase == "planned", plain(screen.status)
    await pilot.press("a")
    assert isinstance(app.screen, ConfirmScreen)
    await pilot.press("y")
    return screen


async def _held_then_back(pilot, app, lab: Lab, result: PushResult, image: str,
                          image_id: str) -> int:
    """After a console push the fault hit: note what HOST and OTHER hold of `image`, leave
    the screen, and wait until the console sees HOST back; returns the bytes gone into
    HOST so far, to count the re-run's from."""
    result.left_on_host = holds(lab, HOST, image, image_id)
    result.other_holds = bool(holds(lab, OTHER, image, image_id))
    await pilot.press("escape")
    await until(pilot, lambda: app.fleet.session(HOST).online, f"{HOST} online", 30)
    return wire_bytes(lab, HOST)


async def console_push_run(lab: Lab, fault: str, image: str, directory: Path) -> PushResult:
    """The console's deploy of a stack whose image only SOURCE holds, hit by `fault` on HOST
    once bytes flow to it; then the same apply again in the same console. The stack and
    the copies are removed after."""
    result = PushResult("console deploy", missing=missing_bytes(lab, image))
    image_id = engine(lab.host(SOURCE).socket).images.get(image).id
    version = version_at(write_stack(directory, image, CONSOLE_STACK))
    answers = resolve_answers(version.info.questions)
    stack = render(version, answers, stack_name=CONSOLE_STACK)
    app = matrix_console(lab)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await online(pilot, app)
            trigger = FaultOnBytes(lab, fault).start()
            try:
                screen = await _apply(pilot, app, stack, answers)
                await until(pilot, lambda: screen.phase != "applying", "the apply", 120)
            finally:
                await asyncio.to_thread(trigger.finish)
            said = result.shown = plain(screen.status)
            result.interrupted = trigger.outage is not None and screen.phase == "failed"
            result.exit_code = 0 if screen.phase == "done" else 1
            result.host_lines = [line.strip() for line in said.splitlines()
                                 if line.strip().startswith(f"{HOST}: ")]
            result.stray = [line for line in said.splitlines() if "Traceback" in line]
            # Again, once the console sees the host back.
            before = await _held_then_back(pilot, app, lab, result, image, image_id)
            again = await _apply(pilot, app, stack, answers)
            await until(pilot, lambda: again.phase != "applying", "the apply again", 120)
            result.rerun_bytes = wire_bytes(lab, HOST) - before
            result.rerun_code = 0 if again.phase == "done" else 1
            result.rerun_error = "" if again.phase == "done" else plain(again.status)
        result.running = [host.name for host in lab.hosts if engine(host.socket).containers.list(
            filters={"label": f"{L.STACK}={CONSOLE_STACK}", "status": "running"})]
    finally:
        corral_on(lab, "rm", CONSOLE_STACK, "--yes", "--volumes")
        for host in (HOST, OTHER):
            remove_image(engine(lab.host(host).socket), image)
    return result


def _cell(table, key: str, column: str) -> str:
    value = table.get_cell(key, column)
    return getattr(value, "plain", str(value))


async def _push_from_images_view(pilot, app, image: str, missing_on: str):
    """`:images`, the cursor on SOURCE's row of `image`, `p`, the hosts lacking it (ticked
    already) confirmed; returns the transfers pane's model."""
    from corral.tui.console.screens.host_choice import HostChoiceScreen
    from corral.tui.console.screens.transfers import TransfersScreen
    from tests.support.console import command, view

    images = view(app, "images")
    await command(pilot, "images")
    key = f"{SOURCE}/{image}"
    await until(pilot, lambda: key in images.records
                and _cell(images, key, "missing") == missing_on, f"MISSING ON {missing_on}",
                timeout=90)  # a restarted engine under a full suite's load answers late
    images.move_cursor(row=images.get_row_index(key), animate=False)
    await pilot.press("p")
    await until(pilot, lambda: isinstance(app.screen, HostChoiceScreen), "the host choice")
    await pilot.press("y")
    await until(pilot, lambda: isinstance(app.screen, TransfersScreen), "the transfers")
    return app.screen.transfers


async def console_images_push_run(lab: Lab, fault: str, image: str) -> PushResult:
    """The console's `:images` push (`p`) of an image only SOURCE holds (a stack's
    container there needs it) to HOST and OTHER, hit by `fault` on HOST once bytes flow;
    then `p` again once the host is back. The copies on the targets are removed after."""
    result = PushResult("console images push", missing=missing_bytes(lab, image))
    image_id = engine(lab.host(SOURCE).socket).images.get(image).id
    app = matrix_console(lab)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await online(pilot, app)
            trigger = FaultOnBytes(lab, fault).start()
            try:
                transfers = await _push_from_images_view(pilot, app, image,
                                                         f"{HOST}, {OTHER}")
                await until(pilot, lambda: len(transfers.lines()) == 2
                            and transfers.running == 0, "the pushes to end", timeout=120)
            finally:
                await asyncio.to_thread(trigger.finish)
            lines = transfers.lines()
            result.shown = "\n".join(text for _, text in lines)
            failed = [text for state, text in lines if state == "failed"]
            result.interrupted = trigger.outage is not None and bool(failed)
            result.exit_code = 1 if failed else 0
            result.host_lines = [text for text in failed if HOST in text]
            result.stray = [text for text in failed if HOST not in text] + \
                [text for _, text in lines if "Traceback" in text]
            # Again, once the console sees the host back: only HOST lacks it now.
            before = await _held_then_back(pilot, app, lab, result, image, image_id)
            again = await _push_from_images_view(pilot, app, image, HOST)
            await until(pilot, lambda: again.running == 0 and len(again.lines()) == 3,
                        "the push again", timeout=120)
            result.rerun_bytes = wire_bytes(lab, HOST) - before
            last = again.lines()[-1]
            result.rerun_code = 0 if last[0] == "done" else 1
            result.rerun_error = "" if last[0] == "done" else last[1]
            result.rerun_layers = last[1]
    finally:
        for host in (HOST, OTHER):
            remove_image(engine(lab.host(host).socket), image)
    return result
