"""Helpers for lab tests: run the real `corral` command, reach engines directly."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker

from corral.backends.inventory.load import load_inventory
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.loop import BackendLoop
from corral.backends.ssh.session import Backoff


def run_corral(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `corral ARGS` as a user would, capturing both streams."""
    return subprocess.run(
        [sys.executable, "-m", "corral.tui.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def engine(socket: str) -> docker.DockerClient:
    """A client on the engine's own socket, bypassing Corral entirely."""
    return docker.DockerClient(base_url=f"unix://{socket}", version="auto")


@contextlib.contextmanager
def running_fleet(
    inventory: Path,
    known_hosts: Path,
    *,
    keep_online: bool = False,
    stream_relay: bool = False,
    readonly: bool = False,
    **settings: object,
) -> Iterator[tuple[BackendLoop, Fleet]]:
    """A fleet on a backend loop, connected once (or kept online), then closed."""
    options = {"connect_timeout": 5.0, "keepalive_interval": 1.0, "keepalive_count_max": 3}
    options.update(settings)
    ssh = SshSettings(known_hosts=(str(known_hosts),), **options)
    with BackendLoop() as loop:
        fleet = Fleet(load_inventory(inventory), ssh, backoff=Backoff(first=0.2, limit=1.0),
                      stream_relay=stream_relay, backend=loop, readonly=readonly)
        try:
            if keep_online:
                loop.run(fleet.keep_online())
            else:
                loop.run(fleet.connect_all())
            yield loop, fleet
        finally:
            loop.run(fleet.close(), timeout=15)


def tty_sizes(container) -> set[tuple[int, int]]:
    """(rows, columns) of every terminal open in `container`: its execs' TTYs, as the
    kernel sees them (what a program in the exec gets on SIGWINCH)."""
    script = 'for t in /dev/pts/[0-9]*; do stty -F "$t" size; done 2>/dev/null'
    output = container.exec_run(["sh", "-c", script]).output.decode()
    return {(int(rows), int(columns)) for rows, columns in
            (line.split() for line in output.splitlines() if line.count(" ") == 1)}


def write_inventory(path: Path, hosts: list[dict]) -> Path:
    """Write an inventory file from plain dicts."""
    import yaml

    path.write_text(yaml.safe_dump({"hosts": hosts}, sort_keys=False))
    return path
