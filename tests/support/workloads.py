"""Containers to put on lab engines, for pictures, benchmarks and terminal tests.

Everything is created on each engine's own socket (never through Corral, so
what Corral shows is checked against what the engine holds) and carries a
label naming who created it, so `remove_workload` removes exactly that and
nothing a concurrent test made. Images come from the lab (never pulled).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import docker.errors

from tests.support.lab import LAB_SCRIPT
from tests.support.lab_cli import engine

#: Label whose value names the workload a container or volume belongs to.
WORKLOAD_LABEL = "io.corral.test.workload"
BUSYBOX = "corral-lab/busybox:1"
WEB = "corral-lab/web:1"
WORKER = "corral-lab/worker:1"
#: Docker expresses healthcheck durations in nanoseconds.
SECOND_NS = 1_000_000_000


def ensure_lab(lab_dir: Path, hosts: int = 3) -> list[dict]:
    """The lab in `lab_dir` as `lab status --json` lists it, brought up if needed.

    A lab that is down, or has another number of hosts, is rebuilt.

    Args:
        lab_dir: The lab's directory.
        hosts: How many hosts it must have.

    Returns:
        One dict per host (`name`, `address`, `socket`, …).
    """
    status = _lab("status", "--json", lab_dir=lab_dir, check=False)
    if status.returncode == 0 and len(json.loads(status.stdout)) == hosts:
        return json.loads(status.stdout)
    print(f"bringing up a {hosts}-host lab in {lab_dir} …", file=sys.stderr)
    _lab("up", "--hosts", str(hosts), lab_dir=lab_dir, capture=False)
    return json.loads(_lab("status", "--json", lab_dir=lab_dir).stdout)


def _lab(*args: str, lab_dir: Path, check: bool = True, capture: bool = True):
    return subprocess.run(
        [sys.executable, str(LAB_SCRIPT), *args, "--dir", str(lab_dir)],
        capture_output=capture, text=True, check=check, timeout=900,
    )


def stack_labels(workload: str, stack: str, service: str) -> dict[str, str]:
    """Corral's stack and service labels, plus the workload's own."""
    return {
        WORKLOAD_LABEL: workload,
        "io.corral.stack": stack,
        "io.corral.service": service,
    }


def run(client: docker.DockerClient, workload: str, name: str, image: str, **options):
    """Start a detached container labelled as part of `workload`."""
    labels = {WORKLOAD_LABEL: workload, **options.pop("labels", {})}
    return client.containers.run(image, name=name, detach=True, labels=labels, **options)


def demo_workload(sockets: dict[str, str], workload: str = "demo") -> None:
    """A small but realistic fleet: what the screenshots and the first-frame bench show.

    Per host: two `shop/web` replicas (the web image with a healthcheck and a
    published port). On the first host also a `shop/worker` writing to a
    volume, a `cron/report` job that exited with status 3 (a "problem"), and a
    plain container in no stack.

    Args:
        sockets: Host name -> the engine's own socket.
        workload: The label value to create everything under.
    """
    health = {
        "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/health"],
        "interval": 2 * SECOND_NS, "timeout": 2 * SECOND_NS, "retries": 3,
    }
    for index, (host, socket) in enumerate(sockets.items()):
        client = engine(socket)
        for replica in (1, 2):
            run(client, workload, f"shop-web-{replica}", WEB,
                labels=stack_labels(workload, "shop", "web"), healthcheck=health,
                ports={"80/tcp": 8080 + replica})
        if index:
            continue
        client.volumes.create("shop-data", labels={WORKLOAD_LABEL: workload})
        run(client, workload, "shop-worker-1", WORKER,
            labels=stack_labels(workload, "shop", "worker"), environment={"RATE": "1"},
            volumes={"shop-data": {"bind": "/data", "mode": "rw"}})
        report = run(client, workload, "cron-report-1", BUSYBOX,
                     labels=stack_labels(workload, "cron", "report"),
                     command=["sh", "-c", "echo report failed; exit 3"])
        report.wait(timeout=30)
        run(client, workload, f"toolbox-{host}", BUSYBOX, command=["sleep", "86400"])


def sleepers(socket: str, count: int, workload: str, prefix: str = "sleeper") -> None:
    """`count` busybox `sleep` containers on one engine (benchmark filler)."""
    client = engine(socket)
    for number in range(count):
        run(client, workload, f"{prefix}-{number:03d}", BUSYBOX,
            command=["sleep", "86400"],
            labels=stack_labels(workload, "load", f"svc{number % 10}"))


def fill_sleepers(sockets: Iterable[str], per_host: int, workload: str, prefix: str = "sleeper",
                  stack: str = "load", workers: int = 8, **options) -> int:
    """`per_host` busybox `sleep` containers on each engine, created in parallel.

    Idempotent: names already present under `workload` are kept, so a rerun
    only adds what is missing. Each container carries the stack labels of
    `stack_labels(workload, stack, "svcN")` (N: its number modulo 10).

    Args:
        sockets: The engines' own sockets (never SSH: thousands of creates).
        per_host: How many containers each engine must hold.
        workload: The label value to create them under.
        prefix: Names are `PREFIX-NNN`.
        stack: The stack they belong to.
        workers: Creates in flight across all engines at once.
        **options: More `containers.run` options (`network_mode="none"`,
            `healthcheck=…`, or a callable `options_for(number) -> dict` under
            the key `per_container` for options that vary by number).

    Returns:
        How many containers were created.
    """
    per_container = options.pop("per_container", None)
    todo = []
    for socket in sockets:
        client = engine(socket)
        have = {c.name for c in client.containers.list(
            all=True, filters={"label": f"{WORKLOAD_LABEL}={workload}"})}
        todo += [(client, number) for number in range(per_host)
                 if f"{prefix}-{number:03d}" not in have]

    def create(task: tuple[docker.DockerClient, int]) -> None:
        client, number = task
        extra = per_container(number) if per_container else {}
        run(client, workload, f"{prefix}-{number:03d}", BUSYBOX, command=["sleep", "86400"],
            labels=stack_labels(workload, stack, f"svc{number % 10}"), **options, **extra)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(create, todo))
    return len(todo)


def remove_workload(sockets: Iterable[str], workload: str) -> int:
    """Remove every container and volume labelled as part of `workload`.

    Engines are cleaned in parallel: a thousand containers take minutes one
    engine after another.

    Returns:
        How many containers were removed.
    """
    with ThreadPoolExecutor(4) as pool:
        return sum(pool.map(lambda socket: _remove_from(socket, workload), sockets))


def _remove_from(socket: str, workload: str) -> int:
    removed = 0
    selector = {"label": f"{WORKLOAD_LABEL}={workload}"}
    client = engine(socket)
    for container in client.containers.list(all=True, filters=selector):
        # Another cleanup may have won the race; gone is what we want.
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
            removed += 1
    for volume in client.volumes.list(filters=selector):
        with contextlib.suppress(docker.errors.NotFound):
            volume.remove(force=True)
    return removed
