"""The fault matrix (issue 16, item 10): faults × activities, what must hold, and the runs.

One table, `MATRIX`, says for each fault and each activity what holds and which
run checks it; `tests/labtests/test_fault_matrix.py` runs those checks,
`bench/faults.py` runs them again by hand and prints measured times, and the
README's "Faults" table is `readme_table()` (a unit test compares them).

Three runs per fault cover every activity:

- `console_run`: a console with a log pane following a stack container that
  prints numbered lines, a shell pane in another, and its health pass acting
  on that stack, all on the faulted host. It measures how long the host takes
  to show offline and to come back, counts log lines lost or doubled against
  the engine's own log, and checks that the console answers, the shell pane
  says what happened, and that no pass moved or doubled a container.
- `deploy_run`: `corral deploy` in another process, hit by the fault after its
  first container is created; then the same deploy again must converge with
  nothing orphaned (every container and volume of the stack is one the record
  and plan account for).
- the push run (`tests/support/fault_push.py`): `corral deploy`, `corral
  images push`, and the console's deploy or its `:images` push (each console
  path takes one SSH drop and the engine restart) of an image only lab1 holds
  to the faulted host and another, hit by the fault once bytes flow; then each
  again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from corral.backends import labels as L
from corral.backends.inventory.load import load_inventory
from corral.backends.logs.demux import NOTICE, parse_rfc3339_ns
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.widgets.health_watch import HealthWatch
from corral.tui.console.widgets.host_bar import HostBar
from corral.tui.console.widgets.logs.view import LogPane
from tests.support.console import SIZE, command, online, shell_and_log_panes, until
from tests.support.deploy import corral_on
from tests.support.lab import Lab
from tests.support.lab_cli import engine

# --------------------------------------------------------------------------
# The matrix

#: Each fault, and the `lab fault` action that repairs it (None: the fault
#: action ends with the host back, as a restart or a reboot does).
FAULTS: dict[str, str | None] = {
    "sshd-stop": "sshd-start",
    "link-down": "link-up",
    "dockerd-restart": None,
    "reboot": None,
}

ACTIVITIES = ("console open", "logs -f", "shell pane", "deploy in progress", "health pass",
              "image push")

#: What holds for an activity under any fault, and the run that checks it.
HOLDS: dict[str, tuple[str, str]] = {
    "console open": ("console answers; host offline ≤ 5 s, online ≤ 5 s after recovery",
                     "console"),
    "logs -f": ("pane says “waiting for HOST”, then follows; 0 lines lost, 0 doubled",
                "console"),
    "shell pane": ("pane says the connection is lost, then that the host is back",
                   "console"),
    "deploy in progress": ("deploy fails in one line naming the host; re-run converges, "
                           "0 orphans", "deploy"),
    "health pass": ("a pass during the outage changes nothing; after it, nothing moved "
                    "or doubled", "console"),
    "image push": ("`deploy`, `images push`, and the console's deploy or its `:images` "
                   "push fail in one line naming host, image and why; nothing tagged on it; "
                   "the other host gets the image; a re-run sends only the missing layers",
                   "push"),
}

#: Cells that differ from `HOLDS` for one fault: (fault, activity) -> (text, run).
EXCEPTIONS: dict[tuple[str, str], tuple[str, str]] = {
    # The engine is away about 1 s: the stream may resume before the pane says it waits.
    ("dockerd-restart", "logs -f"): ("follows across the restart (its container restarts "
                                     "too); 0 lines lost, 0 doubled", "console"),
    ("dockerd-restart", "shell pane"): ("the shell ends with its container; pane says the "
                                        "connection is lost, then that the host is back",
                                        "console"),
    # Not run: for a push a reboot is `sshd-stop` (the sessions drop before the engine
    # stops) followed by `dockerd-restart` (an engine restart with nothing in flight);
    # those two runs prove both, and the console run still reboots under a console.
    ("reboot", "image push"): ("as `sshd-stop`: every session drops before the engine "
                               "stops, so a push fails the same way (not run again)", ""),
}

#: Faults that drop the SSH connection (the others leave it up).
SSH_DROPS = ("sshd-stop", "link-down", "reboot")

#: The lab host every fault hits; the stacks of the runs are pinned to it.
HOST = "lab2"
#: Its scheduling label (zone=b is lab2's alone in a three-host lab).
HOST_LABEL = "zone=b"

#: The issue's limits. Times are taken from the session's own status changes
#: (no polling in them); link-down lands near 4 s by design (keepalives).
DETECT_WITHIN = 5.0
RECOVER_WITHIN = 5.0
#: What a loaded 2-core CI machine may add to either (event-loop lag).
SLACK = 1.0


def cell(fault: str, activity: str) -> tuple[str, str]:
    """What holds for `activity` under `fault`, and the run that checks it ("" if none)."""
    return EXCEPTIONS.get((fault, activity), HOLDS[activity])


def runs() -> list[tuple[str, str]]:
    """Every (fault, run) pair the matrix asks for, in table order."""
    found = []
    for fault in FAULTS:
        for activity in ACTIVITIES:
            run = cell(fault, activity)[1]
            if run and (fault, run) not in found:
                found.append((fault, run))
    return found


def readme_table() -> str:
    """The README's fault table: one row per activity, one column per fault."""
    head = "| activity | " + " | ".join(f"`{f}`" for f in FAULTS) + " | checked by |"
    rows = [head, "| --- " * (len(FAULTS) + 2) + "|"]
    for activity in ACTIVITIES:
        cells = [cell(fault, activity) for fault in FAULTS]
        texts = [text for text, _ in cells]
        checks = sorted({run for _, run in cells if run})
        # The same as the cell to its left: say it once.
        texts = [texts[0]] + ["″" if text == left else text
                              for left, text in zip(texts, texts[1:], strict=False)]
        where = ", ".join(f"{run} run" for run in checks) or "—"
        rows.append(f"| {activity} | " + " | ".join(texts) + f" | {where} |")
    return "\n".join(rows) + "\n"


# --------------------------------------------------------------------------
# Stacks the runs use

COMPOSE = """\
version: '2'
services:
  tick:
    image: corral-lab/worker:1
    environment:
      RATE: "20"
    labels:
      io.rancher.scheduler.affinity:host_label: {label}
  web:
    image: corral-lab/busybox:1
    command: ["sh", "-c", "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 80 -h /www"]
    labels:
      io.rancher.scheduler.affinity:host_label: {label}
"""
RANCHER = """\
version: '2'
catalog:
  name: fm
  version: "1"
services:
  web:
    scale: 1
    health_check:
      port: 80
      request_line: GET "/health" "HTTP/1.0"
      interval: 1000
      response_timeout: 2000
      healthy_threshold: 1
      unhealthy_threshold: 3
      strategy: recreate
"""
#: The console run's stack: a ticking worker and a web server with a health check.
STACK = "fm"

DEPLOY_COMPOSE = """\
version: '2'
services:
  box:
    image: corral-lab/busybox:1
    command: ["sleep", "3600"]
    volumes:
      - data:/data
    labels:
      io.rancher.scheduler.affinity:host_label: {label}
volumes:
  data: {{}}
"""
DEPLOY_RANCHER = """\
version: '2'
catalog:
  name: fdep
  version: "1"
services:
  box:
    scale: {scale}
"""
#: The deploy run's stack: enough containers that the fault lands mid-apply.
DEPLOY_STACK = "fdep"
DEPLOY_SCALE = 10


def write_stacks(directory: Path) -> tuple[Path, Path]:
    """The two compose folders under `directory`: (console stack, deploy stack)."""
    console, deploy = directory / STACK, directory / DEPLOY_STACK
    for path, compose, rancher in (
        (console, COMPOSE.format(label=HOST_LABEL), RANCHER),
        (deploy, DEPLOY_COMPOSE.format(label=HOST_LABEL),
         DEPLOY_RANCHER.format(scale=DEPLOY_SCALE)),
    ):
        path.mkdir(parents=True, exist_ok=True)
        (path / "docker-compose.yml").write_text(compose)
        (path / "rancher-compose.yml").write_text(rancher)
    return console, deploy


def stack_containers(lab: Lab, stack: str) -> dict[str, list]:
    """Per lab host, the engine's own view of `stack`'s containers."""
    return {host.name: engine(host.socket).containers.list(
        all=True, filters={"label": f"{L.STACK}={stack}"}) for host in lab.hosts}


def stack_volumes(lab: Lab, stack: str) -> dict[str, list[str]]:
    """Per lab host, the names of volumes that belong to `stack` (records included)."""
    found = {}
    for host in lab.hosts:
        volumes = engine(host.socket).volumes.list()
        found[host.name] = sorted(
            v.name for v in volumes
            if v.name.startswith(f"{stack}_") or v.name.startswith(f"corral-stack.{stack}.")
            or (v.attrs.get("Labels") or {}).get(L.STACK) == stack)
    return found


# --------------------------------------------------------------------------
# Injecting a fault


@dataclass
class Outage:
    """When a fault began and when its repair returned (monotonic seconds)."""

    began: float = 0.0
    repaired: float = 0.0


def inject(lab: Lab, fault: str) -> Outage:
    """Start `fault` on `HOST`; returns when the `lab fault` command does."""
    outage = Outage(began=time.monotonic())
    lab.fault(HOST, fault)
    if FAULTS[fault] is None:  # the action brought the host back itself
        outage.repaired = time.monotonic()
    return outage


def repair(lab: Lab, fault: str, outage: Outage) -> None:
    """Undo `fault` if it needs undoing, and note when."""
    if FAULTS[fault] is not None:
        lab.fault(HOST, FAULTS[fault])
        outage.repaired = time.monotonic()


# --------------------------------------------------------------------------
# The console run


@dataclass
class ConsoleResult:
    """What one console run measured."""

    fault: str
    offline_after: float | None = None  # seconds from the fault to "offline" in the strip
    online_after: float | None = None  # seconds from the repair to "online" again
    answered: list[str] = field(default_factory=list)  # console checks that passed
    lines: int = 0  # log lines compared with the engine's
    lost: list[str] = field(default_factory=list)  # lines the pane never showed
    doubled: list[str] = field(default_factory=list)  # lines it showed twice, or invented
    log_during: str = ""  # the log pane's status line during the outage
    log_status: str = ""  # and after
    shell_during: str = ""
    shell_after: str = ""
    moved: list[str] = field(default_factory=list)  # what a health pass changed
    passes_offline: int = 0  # health passes that started while the host was down


def matrix_console(lab: Lab) -> CorralApp:
    """A console as a user gets it: default keepalives, a 5 s connect timeout."""
    settings = SshSettings(known_hosts=(str(lab.known_hosts),), connect_timeout=5)
    return CorralApp(load_inventory(lab.inventory), settings, Config())


def shown_lines(pane: LogPane) -> list[tuple[int, str]]:
    """(timestamp ns, text) of every log line in the pane, notices left out."""
    return [(line.ts, line.text) for line in pane.history.iter() if line.stream != NOTICE]


def engine_lines(container) -> list[tuple[int, str]]:
    """(timestamp ns, text) of every line the engine holds for `container`."""
    container.reload()
    raw = container.logs(timestamps=True).decode(errors="replace").splitlines()
    return [(parse_rfc3339_ns(stamp), text) for stamp, _, text in
            (line.partition(" ") for line in raw)]


def compare_lines(shown: list[tuple[int, str]], truth: list[tuple[int, str]]
                  ) -> tuple[int, list[str], list[str]]:
    """(lines compared, lost, doubled): the pane against the engine, from the pane's first
    line to its last; lost and doubled lines are given as text (with their timestamps)."""
    if not shown:
        return 0, [f"{ts} {text}" for ts, text in truth], []
    # Lines printed after the engine's log was read are not compared.
    shown = [line for line in shown if line[0] <= truth[-1][0]]
    counts = collections.Counter(shown)
    positions = {line: i for i, line in enumerate(truth)}
    doubled = [f"{ts} {text} ×{n}" for (ts, text), n in counts.items() if n > 1]
    # A line the engine never printed (a timestamp that differs) is a doubled line too.
    by_text = collections.defaultdict(list)
    for ts, text in truth:
        by_text[text].append(ts)
    doubled += [f"{ts} {text} (not in the engine's log; there at {by_text.get(text)})"
                for ts, text in counts if (ts, text) not in positions]
    first = positions.get(shown[0], 0)
    last = max((positions[line] for line in shown if line in positions), default=first)
    expected = truth[first:last + 1]
    lost = [f"{ts} {text}" for ts, text in expected if (ts, text) not in counts]
    return len(expected), lost, doubled


async def console_run(lab: Lab, fault: str) -> ConsoleResult:
    """Open the console on the `fm` stack, inject `fault` on its host, and measure.

    Raises:
        AssertionError: Something the run needs never happened (a pane never opened, the
            host never came back); the limits themselves are the caller's to assert.
    """
    result = ConsoleResult(fault)
    app = matrix_console(lab)
    passes: list[tuple[float, bool, object]] = []  # (start, host offline then, report)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        session = app.fleet.session(HOST)
        watch = app.screen.query_one(HealthWatch)
        plain_pass = watch.data.health_pass

        def counted_pass(changed: bool = True):
            began, offline = time.monotonic(), not session.online
            report = plain_pass(changed)
            passes.append((began, offline, report))
            return report

        watch.data.health_pass = counted_pass
        shell, logs = await shell_and_log_panes(pilot, app, f"{STACK}-web-1", f"{STACK}-tick-1")
        await until(pilot, lambda: len(shown_lines(logs)) > 10, "log lines")
        bar = app.screen.query_one(HostBar)
        watch.start_pass()  # the first pass now, not after the 5 s timer
        await until(pilot, lambda: passes, "a health pass")
        before = {c.name: c.id for c in stack_containers(lab, STACK)[HOST]}

        # The log pane's statuses as they change: a self-repairing fault may be over
        # before a poll from this loop (slow on a loaded machine) reads the transient one.
        log_statuses: list[str] = []
        plain_update = logs.update_status

        def noted_update() -> None:
            plain_update()
            if not log_statuses or log_statuses[-1] != logs._status:
                log_statuses.append(logs._status)

        logs.update_status = noted_update
        # Status changes arrive on the backend loop's thread: note them with their time.
        states: list[tuple[float, str]] = []
        session.add_listener(lambda status: states.append((time.monotonic(), status.state.value)))

        def went_offline() -> bool:
            return any(state != "online" for _, state in states)

        seen_before = len(log_statuses)
        job = asyncio.ensure_future(asyncio.to_thread(inject, lab, fault))
        try:
            with contextlib.suppress(AssertionError):
                # A fault that repairs itself may end before the host is seen down.
                await until(pilot, lambda: went_offline() or FAULTS[fault] is None
                            and job.done(), f"{HOST} offline", timeout=15)
            if went_offline():
                # The console answers while the host is down.
                await command(pilot, "hosts")
                await until(pilot, lambda: app.screen.current_view().id == "hosts",
                            "the hosts view", 3)
                result.answered.append("views switch while offline")
                with contextlib.suppress(AssertionError):
                    await until(pilot, lambda: "waiting for" in str(shell.border_subtitle)
                                or shell.ended, "the shell pane to notice", 10)
                result.shell_during = str(shell.border_subtitle)
                with contextlib.suppress(AssertionError):
                    await until(pilot, lambda: logs._status.startswith("◌ waiting for"),
                                "the log pane to say it waits", 3)
                result.log_during = next(
                    (status for status in log_statuses[seen_before:]
                     if status.startswith("◌ waiting for")), logs._status)
                # A health pass while the host is down (not left to its 5 s timer).
                mark = time.monotonic()
                watch.start_pass()
                with contextlib.suppress(AssertionError):
                    await until(pilot, lambda: any(p[0] >= mark for p in passes),
                                "a health pass during the outage", 15)
            if FAULTS[fault] is not None:
                # A duration, not a synchronisation: the outage lasts while the
                # worker keeps printing lines the log pane must catch up on.
                await pilot.pause(2.0)
            else:
                await until(pilot, job.done, "the fault action", 90)
        finally:
            outage = await job
            await asyncio.to_thread(repair, lab, fault, outage)
        result.passes_offline = sum(1 for _, offline, _ in passes if offline)
        offline_at = next((t for t, state in states if state != "online"), None)
        if offline_at is not None:
            result.offline_after = offline_at - outage.began
        await until(pilot, lambda: session.online and (
            not went_offline() or states[-1][1] == "online"), f"{HOST} back", timeout=30)
        if offline_at is not None:
            back_at = states[-1][0]
            result.online_after = max(0.0, back_at - outage.repaired)
        await until(pilot, lambda: "3/3 online" in bar.render_statuses().plain, "the strip")
        await command(pilot, "ps")
        await until(pilot, lambda: app.screen.current_view().id == "containers",
                    "the containers view", 3)
        result.answered.append("views switch after recovery")
        with contextlib.suppress(AssertionError):  # the caller asserts what it saw
            await until(pilot, lambda: logs._status.startswith("● following"),
                        "the log pane following again", 20)
        result.log_status = logs._status
        with contextlib.suppress(AssertionError):
            await until(pilot, lambda: "is back" in str(shell.border_subtitle),
                        "the shell pane after recovery", 10)
        result.shell_after = str(shell.border_subtitle)
        # Let a whole health pass run on the recovered host (now, not after the 5 s
        # timer, unless one is running), then check what it did.
        back = time.monotonic()
        watch.start_pass()
        await until(pilot, lambda: any(p[0] > back for p in passes), "a pass after recovery",
                    20)
        worker = engine(lab.host(HOST).socket).containers.get(f"{STACK}-tick-1")
        truth = engine_lines(worker)
        await until(pilot, lambda: truth[-1] in set(shown_lines(logs)), "the pane to catch up",
                    15)
        result.lines, result.lost, result.doubled = compare_lines(shown_lines(logs), truth)
        after = stack_containers(lab, STACK)
        now = {c.name: c.id for c in after[HOST]}
        result.moved = [f"{name}: {before.get(name, '-')[:12]} → {now.get(name, '-')[:12]}"
                        for name in sorted(set(before) | set(now))
                        if before.get(name) != now.get(name)]
        result.moved += [f"{c.name} on {host}" for host, found in after.items()
                         if host != HOST for c in found]
    return result


# --------------------------------------------------------------------------
# The deploy run


@dataclass
class DeployResult:
    """What one interrupted deploy and its re-run did."""

    fault: str
    interrupted: bool = False  # the fault landed before the deploy ended
    exit_code: int | None = None
    error: str = ""  # the interrupted deploy's last line on stderr that is not progress
    tail: list[str] = field(default_factory=list)  # its last lines on stderr
    stdout: list[str] = field(default_factory=list)  # its last lines on stdout
    created_before: int = 0  # containers of the stack when the deploy ended
    rerun_code: int | None = None
    rerun_error: str = ""
    containers: list[str] = field(default_factory=list)  # the stack's containers after
    not_running: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # containers or volumes nobody accounts for
    seconds: float = 0.0  # the whole run


def deploy_run(lab: Lab, fault: str, folder: Path) -> DeployResult:
    """Deploy the `fdep` stack in another process, hit its host with `fault` mid-apply,
    repair, deploy again and check the result; the stack is removed at the end."""
    result = DeployResult(fault)
    started = time.monotonic()
    command_line = [sys.executable, "-m", "corral.tui.cli.main", "deploy", str(folder),
                    "--stack", DEPLOY_STACK, "--yes", *lab.corral_args()]
    process = subprocess.Popen(command_line, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stderr is not None
    lines: list[str] = []
    outage = None
    try:
        for line in process.stderr:
            lines.append(line.rstrip())
            if " create " in line and " done" in line:
                outage = inject(lab, fault)
                result.interrupted = process.poll() is None or process.returncode != 0
                break
        try:
            out, rest = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            out, rest = process.communicate()
            lines.append("(killed: still running 120 s after the fault)")
        lines += (rest or "").splitlines()
        result.stdout = (out or "").splitlines()[-4:]
        result.exit_code = process.returncode
        result.interrupted = result.interrupted and process.returncode != 0
        result.tail = lines[-6:]
        result.error = next((line for line in reversed(lines)
                             if line.strip() and not line.startswith("[")), "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if outage is not None:
            repair(lab, fault, outage)
        lab.restored(HOST)
    result.created_before = sum(len(c) for c in stack_containers(lab, DEPLOY_STACK).values())
    rerun = corral_on(lab, "deploy", str(folder), "--stack", DEPLOY_STACK, "--yes")
    result.rerun_code = rerun.returncode
    result.rerun_error = rerun.stderr.strip().splitlines()[-1] if rerun.returncode else ""
    found = stack_containers(lab, DEPLOY_STACK)
    expected = {f"{DEPLOY_STACK}-box-{n}" for n in range(1, DEPLOY_SCALE + 1)}
    result.containers = sorted(c.name for cs in found.values() for c in cs)
    result.not_running = sorted(c.name for cs in found.values() for c in cs
                                if c.status != "running")
    counts = collections.Counter(result.containers)
    result.orphans = [f"{host}/{c.name}" for host, cs in found.items() for c in cs
                      if c.name not in expected or counts[c.name] > 1]
    volumes = stack_volumes(lab, DEPLOY_STACK)
    record = f"corral-stack.{DEPLOY_STACK}."
    for host, names in volumes.items():
        runs_stack = bool(found[host])
        for name in names:
            if name.startswith(record) and runs_stack:
                continue
            if name == f"{DEPLOY_STACK}_data" and runs_stack:
                continue
            result.orphans.append(f"{host}/volume {name}")
    removed = corral_on(lab, "rm", DEPLOY_STACK, "--yes", "--volumes")
    assert removed.returncode == 0, removed.stderr
    result.seconds = time.monotonic() - started
    return result
