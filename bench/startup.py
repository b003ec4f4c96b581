#!/usr/bin/env python3
"""Start-up: what a user waits for before `corral` answers, against what they would type instead.

Every figure is measured in one run, twice: pinned (this process and its
children on the first CPUs, the lab's sshd and dockerd on the others, see
`bench/pinning.py`) and shared (everything on every CPU, as on a laptop).
Both rows count the same; the CPU sets are printed in the header. On a shared,
noisy machine only the ratios of figures from the same run mean anything, and
the CPU time (printed beside each wall time) stretches less with the load.

* `corral --help`, spawn to exit, median of N: target <= 150 ms. Beside it the
  floor: the same interpreter running `-c pass` (its own start and `site`).
* `corral ps -a` on three lab hosts, spawn to exit, against `ssh HOST docker
  ps -a` of one host (OpenSSH, a new connection each time, as a user types
  it): target <= 1.0x. Beside it OpenSSH's own answer for three hosts: the
  three `ssh HOST docker ps -a` started at once, until the last exits (the
  lab's three sshd and the clients share the same CPUs, so this is what a
  cold three-host listing costs here before any Corral code runs). Twice:
  cold (`--no-persist`: three new SSH connections, as every run did before
  persisted tunnels) and warm (the tunnels a previous
  `corral ps` left behind, see `backends/ssh/persist.py`). Warm is also
  compared with what an expert would set up for ssh: `ControlMaster auto` +
  `ControlPersist`, a master connection kept between runs. The CPU columns are
  the command's own; the keeper process (Corral's) and the master (OpenSSH's)
  run in the background and are not counted, on either side.
* The console's first full frame: from spawning a Python process that opens
  the console until its containers table lists every container of every
  host (the demo workload of `bench/console.py`). Headless (`App.run_test`:
  Textual composes and renders every frame but writes no terminal;
  `bench/console.py` times it in tmux): target <= 1 s.

Usage: bench/startup.py [--dir LAB_DIR] [--rounds N] [--no-pin]   (starts the lab if needed)
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pinning import cpu_split, lab_cpus, pin_self  # noqa: E402  (bench/ is on sys.path)

from tests.support.lab_cli import engine  # noqa: E402
from tests.support.workloads import demo_workload, ensure_lab, remove_workload  # noqa: E402

CORRAL = str(Path(sys.executable).with_name("corral"))
HELP_TARGET_MS = 150.0
PS_TARGET = 1.0
FRAME_TARGET_S = 1.0
WORKLOAD = "startup"

#: The child that opens the console headless and prints the wall clock once
#: every container is listed (argv: lab dir, container count). Collection is
#: off until the first frame, as `corral` itself starts the console
#: (`tui/cli/console.py`; the app turns it back on).
FIRST_FRAME = """
import gc; gc.disable()
import asyncio, sys, time
from pathlib import Path
from corral.backends.inventory import load_inventory
from corral.backends.ssh import SshSettings
from corral.tui.app import CorralApp
from corral.tui.console.views.containers import ContainersView
from tests.support.pilot import console_screen

lab, count = Path(sys.argv[1]), int(sys.argv[2])

async def main():
    app = CorralApp(load_inventory(lab / "inventory.yaml"),
                    SshSettings(known_hosts=(str(lab / "known_hosts"),)))
    async with app.run_test(size=(160, 45)) as pilot:
        view = (await console_screen(pilot, 60)).query_one(ContainersView)
        deadline = time.monotonic() + 60
        while view.row_count < count and time.monotonic() < deadline:
            await asyncio.sleep(0.002)
        print(time.time() if view.row_count >= count else "timeout", flush=True)

asyncio.run(main())
"""


class Sample(NamedTuple):
    """Wall-clock seconds, and CPU seconds of the measured process (and its children)."""

    wall: float
    cpu: float


def median(func: Callable[[], Sample], rounds: int) -> Sample:
    """Median wall and median CPU time of `rounds` calls of `func`, after one warm-up."""
    func()
    samples = [func() for _ in range(rounds)]
    return Sample(statistics.median(s.wall for s in samples),
                  statistics.median(s.cpu for s in samples))


def children_cpu() -> float:
    """CPU seconds used so far by this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def spawn_to_exit(command: list[str]) -> Sample:
    """From spawning `command` until it exits (it must succeed)."""
    cpu = children_cpu()
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return Sample(time.perf_counter() - start, children_cpu() - cpu)


def fan_out(commands: list[list[str]]) -> Sample:
    """From spawning every command at once until the last exits (each must succeed):
    what a user types for several hosts (`for h in …; do ssh $h docker ps & done; wait`)."""
    cpu = children_cpu()
    start = time.perf_counter()
    children = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for command in commands]
    if any(child.wait() for child in children):
        raise SystemExit(f"a fan-out command failed: {commands}")
    return Sample(time.perf_counter() - start, children_cpu() - cpu)


def ssh_command(lab_dir: Path, wrap: Path, persist: bool = False) -> list[str]:
    """`ssh` trusting the lab's key and host keys: no connection reuse, or ControlPersist."""
    config = wrap / ("ssh_config_persist" if persist else "ssh_config")
    reuse = (f"  ControlMaster auto\n  ControlPath {wrap}/cm-%C\n  ControlPersist 300\n"
             if persist else "  ControlMaster no\n")
    config.write_text(f"Host *\n  IdentityFile {lab_dir}/id_ed25519\n  IdentitiesOnly yes\n"
                      f"  UserKnownHostsFile {lab_dir}/known_hosts\n"
                      "  StrictHostKeyChecking yes\n" + reuse)
    return ["/usr/bin/ssh", "-F", str(config)]


def wait_kept(count: int) -> None:
    """Wait until `count` persisted tunnels answer (a warm run's precondition)."""
    from corral.backends.ssh import persist
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        alive = [item for item in persist.running() if os.path.exists(item.socket)]
        if len(alive) >= count:
            return
        time.sleep(0.05)
    raise SystemExit(f"{count} persisted tunnels did not come up within 60 s")


def first_frame(lab_dir: Path, count: int) -> Sample:
    """From spawning the headless console until every container is listed.

    The CPU figure is the whole child's, its shutdown included (a little over).
    """
    cpu = children_cpu()
    start = time.time()
    done = subprocess.run([sys.executable, "-c", FIRST_FRAME, str(lab_dir), str(count)],
                          check=True, capture_output=True, text=True, cwd=ROOT)
    shown = done.stdout.strip().splitlines()[-1]
    if shown == "timeout":
        raise SystemExit(f"the console did not list {count} containers within 60 s")
    return Sample(float(shown) - start, children_cpu() - cpu)


def measure(lab_dir: Path, hosts: list[dict], ssh: list[str], ssh_persist: list[str],
            rounds: int) -> dict:
    """Every figure once (medians of `rounds`), under the current CPU placement."""
    lab = ["--inventory", str(lab_dir / "inventory.yaml"),
           "--known-hosts", str(lab_dir / "known_hosts")]
    three = [word for host in hosts[:3] for word in ("--host", host["name"])]
    count = sum(len(engine(h["socket"]).containers.list(all=True)) for h in hosts)
    return {
        "floor": median(lambda: spawn_to_exit([sys.executable, "-c", "pass"]), rounds),
        "help": median(lambda: spawn_to_exit([CORRAL, "--help"]), rounds),
        "ssh": median(lambda: spawn_to_exit(
            [*ssh, f"root@{hosts[0]['address']}", "docker", "ps", "-a"]), rounds),
        "ssh3": median(lambda: fan_out([[*ssh, f"root@{host['address']}", "docker", "ps", "-a"]
                                        for host in hosts[:3]]), rounds),
        "ps": median(lambda: spawn_to_exit(
            [CORRAL, "ps", "-a", "--no-persist", *three, *lab]), rounds),
        "ssh_persist": median(lambda: spawn_to_exit(
            [*ssh_persist, f"root@{hosts[0]['address']}", "docker", "ps", "-a"]), rounds),
        "ps_warm": warm_ps(lab, three, rounds),
        "frame": median(lambda: first_frame(lab_dir, count), max(3, rounds // 3)),
        "containers": count,
    }


def warm_ps(lab: list[str], three: list[str], rounds: int) -> Sample:
    """`corral ps -a` through the persisted tunnels a first run left behind."""
    from corral.backends.ssh import disconnect_persisted
    spawn_to_exit([CORRAL, "ps", "-a", *three, *lab])
    wait_kept(three.count("--host"))
    try:
        return median(lambda: spawn_to_exit([CORRAL, "ps", "-a", *three, *lab]), rounds)
    finally:
        disconnect_persisted()  # each placement starts its own


def both(sample: Sample) -> str:
    """`wall ms (cpu ms CPU)`."""
    return f"{sample.wall * 1000:7.0f} ms ({sample.cpu * 1000:5.0f} ms CPU)"


def report(label: str, cpus: str, got: dict, hosts: int) -> None:
    """Print one placement's rows."""
    floor, help_, ps, ssh, frame = (got[k] for k in ("floor", "help", "ps", "ssh", "frame"))
    help_verdict = "meets" if help_.wall * 1000 <= HELP_TARGET_MS else "misses"
    ps_verdict = "meets" if ps.wall / ssh.wall <= PS_TARGET else "misses"
    frame_verdict = "meets" if frame.wall <= FRAME_TARGET_S else "misses"
    print(f"{label} ({cpus}):")
    print(f"  python -c pass (floor)                   {both(floor)}")
    print(f"  corral --help                            {both(help_)}   "
          f"{help_.wall / floor.wall:.1f}x the floor; {help_verdict} <= "
          f"{HELP_TARGET_MS:.0f} ms")
    print(f"  ssh HOST docker ps -a (OpenSSH, 1 host)  {both(ssh)}   "
          "(baseline; CPU: the ssh client only)")
    warm, ssh_cp = got["ps_warm"], got["ssh_persist"]
    warm_verdict = "meets" if warm.wall / ssh.wall <= PS_TARGET else "misses"
    ssh3 = got["ssh3"]
    print(f"  ssh HOST docker ps -a, {min(3, hosts)} hosts at once    {both(ssh3)}   "
          f"{ssh3.wall / ssh.wall:.2f}x 1 host (OpenSSH's own fan-out: the cold ceiling here)")
    print(f"  corral ps -a ({min(3, hosts)} hosts), cold           {both(ps)}   "
          f"{ps.wall / ssh.wall:.2f}x ssh; {ps_verdict} <= {PS_TARGET:.1f}x; "
          f"{ps.wall / ssh3.wall:.2f}x the {min(3, hosts)}-host fan-out")
    print(f"  ssh with ControlPersist (warm master)    {both(ssh_cp)}   "
          "(the expert's baseline; CPU: the ssh client only)")
    print(f"  corral ps -a ({min(3, hosts)} hosts), warm (persisted) {both(warm)}   "
          f"{warm.wall / ssh.wall:.2f}x ssh; {warm_verdict} <= {PS_TARGET:.1f}x; "
          f"{warm.wall / ssh_cp.wall:.2f}x ssh with ControlPersist")
    print(f"  console first full frame, headless       {both(frame)}   "
          f"{got['containers']} containers; {frame_verdict} <= {FRAME_TARGET_S:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/corral-lab-bench"))
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-pin", action="store_true", help="only the shared-CPU rows")
    args = parser.parse_args()
    hosts = ensure_lab(args.dir)
    everything = set(os.sched_getaffinity(0))
    split = None if args.no_pin else cpu_split()
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs; median of {args.rounds} "
          f"({max(3, args.rounds // 3)} for the frame)")
    if split is not None:
        print(f"pinned: corral and the baselines on CPUs {sorted(split[0])}, "
              f"the lab on CPUs {sorted(split[1])}; shared: all on {sorted(everything)}")
    wrap = Path(tempfile.mkdtemp(prefix="corral-bench-"))
    # Corral's persisted tunnels in a directory of this run's own, ended below.
    os.environ["XDG_RUNTIME_DIR"] = str(wrap)
    os.environ["CORRAL_PERSIST"] = "1"
    sockets = {h["name"]: h["socket"] for h in hosts}
    remove_workload(sockets.values(), WORKLOAD)
    demo_workload(sockets, WORKLOAD)  # the console and `ps` list a small, realistic fleet
    try:
        ssh = ssh_command(args.dir, wrap)
        ssh_persist = ssh_command(args.dir, wrap, persist=True)
        placements = [("shared", None)] if split is None else [("pinned", split), ("shared", None)]
        for label, where in placements:
            lab_cpus(hosts, where)
            pin_self(where[0] if where else everything)
            cpus = (f"self {sorted(where[0])}, lab {sorted(where[1])}" if where
                    else f"all on {sorted(everything)}")
            report(label, cpus, measure(args.dir, hosts, ssh, ssh_persist, args.rounds),
                   len(hosts))
    finally:
        from corral.backends.ssh import disconnect_persisted
        disconnect_persisted()
        subprocess.run([*ssh_command(args.dir, wrap, persist=True), "-O", "exit",
                        f"root@{hosts[0]['address']}"], capture_output=True, check=False)
        remove_workload(sockets.values(), WORKLOAD)
        lab_cpus(hosts, None)
        pin_self(everything)
        shutil.rmtree(wrap, ignore_errors=True)
    print(f"load average after:  {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
