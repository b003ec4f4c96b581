#!/usr/bin/env python3
"""Docker API latency through Corral's SSH tunnel, and connect time, against the lab.

Everything is measured in one run on the same engine, so only the ratios
mean anything on a shared, noisy machine:

* one `ps` (GET /containers/json?all=1) through the tunnel vs on the engine's
  own socket vs `docker -H ssh://…` (the CLI's own SSH transport), once with a
  new SSH handshake per command and once over one shared OpenSSH connection
  (`ControlMaster auto`, `ControlPersist 60`: the best an experienced
  operator would do; the handshake-per-command figure mostly measures
  connection reuse);
* connecting a fleet of one lab host vs all lab hosts.

Usage: bench/tunnel.py [--dir LAB_DIR] [--rounds N]   (starts the lab if needed)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

from corral.backends.inventory.load import Inventory, load_inventory
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.loop import BackendLoop

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "tests" / "lab" / "lab"


def lab_status(lab_dir: Path) -> list[dict]:
    """The lab's hosts, starting the lab first if it is not up."""
    status = subprocess.run(
        [sys.executable, str(LAB), "status", "--json", "--dir", str(lab_dir)],
        capture_output=True, text=True,
    )
    if status.returncode != 0:
        print(f"starting the lab in {lab_dir} …", file=sys.stderr)
        subprocess.run([sys.executable, str(LAB), "up", "--dir", str(lab_dir)], check=True)
        return lab_status(lab_dir)
    return json.loads(status.stdout)


def median_ms(func, rounds: int) -> float:
    """Median wall time of `func()` in milliseconds, after two warm-up calls."""
    func()
    func()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def ssh_config(lab_dir: Path, folder: Path, persist: bool) -> Path:
    """An OpenSSH config trusting the lab's key and host keys.

    With `persist`, connections are shared the way an experienced operator sets
    it up: the first `ssh` becomes a master (`ControlMaster auto`), later ones
    ride on it, and it lingers 60 s after the last one (`ControlPersist`).
    """
    config = folder / "ssh_config"
    shared = (f"  ControlMaster auto\n  ControlPath {folder}/cm-%C\n  ControlPersist 60\n"
              if persist else "  ControlMaster no\n")
    config.write_text(
        f"Host *\n  IdentityFile {lab_dir}/id_ed25519\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {lab_dir}/known_hosts\n  StrictHostKeyChecking yes\n{shared}"
    )
    return config


def ssh_wrapper(lab_dir: Path, persist: bool = False) -> tuple[Path, dict[str, str]]:
    """A folder with an `ssh` wrapper first on PATH, and the environment using it.

    `docker -H ssh://` runs `ssh` from PATH (`ssh … -- HOST docker system
    dial-stdio`) and takes no ssh options of its own, so the wrapper adds
    `-F CONFIG`. Call `close_masters(folder)` when done.
    """
    wrap = Path(tempfile.mkdtemp(prefix="corral-bench-"))
    config = ssh_config(lab_dir, wrap, persist)
    (wrap / "ssh").write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {config} "$@"\n')
    (wrap / "ssh").chmod(0o755)
    env = dict(os.environ, PATH=f"{wrap}:{os.environ['PATH']}")
    env.pop("DOCKER_HOST", None)
    return wrap, env


def close_masters(wrap: Path, addresses: list[str]) -> None:
    """Stop the ControlMaster processes the wrapper's config started, and remove the folder."""
    for address in addresses:
        subprocess.run(["/usr/bin/ssh", "-F", str(wrap / "ssh_config"), "-O", "exit",
                        f"root@{address}"], capture_output=True)
    shutil.rmtree(wrap, ignore_errors=True)


def cli_over_ssh(host: dict, lab_dir: Path, rounds: int, persist: bool = False) -> float:
    """Median time of `docker -H ssh://root@ADDR ps -a`.

    Args:
        host: The lab host.
        lab_dir: The lab's folder (its key and known_hosts).
        rounds: How many runs.
        persist: Share one OpenSSH connection (ControlMaster/ControlPersist);
            otherwise every run pays a new SSH handshake.
    """
    docker_cli = shutil.which("docker")
    if docker_cli is None:
        return float("nan")
    wrap, env = ssh_wrapper(lab_dir, persist)
    command = [docker_cli, "-H", f"ssh://root@{host['address']}", "ps", "-a"]

    def once() -> None:
        subprocess.run(command, env=env, check=True, capture_output=True)

    try:
        return median_ms(once, rounds)
    finally:
        close_masters(wrap, [host["address"]])


def connect_time(inventory: Inventory, settings: SshSettings, rounds: int) -> float:
    """Median time for a fleet to connect every host of `inventory`."""
    samples = []
    with BackendLoop() as loop:
        for _ in range(rounds):
            fleet = Fleet(inventory, settings)
            start = time.perf_counter()
            errors = loop.run(fleet.connect_all())
            samples.append(time.perf_counter() - start)
            loop.run(fleet.close())
            failed = {name: str(err) for name, err in errors.items() if err}
            if failed:
                raise SystemExit(f"connect failed: {failed}")
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/corral-lab", type=Path)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    hosts = lab_status(args.dir)
    inventory = load_inventory(args.dir / "inventory.yaml")
    settings = SshSettings(known_hosts=(str(args.dir / "known_hosts"),))
    first = hosts[0]

    local = docker.DockerClient(base_url=f"unix://{first['socket']}", version="auto")
    local_ms = median_ms(lambda: local.api.containers(all=True), args.rounds)
    with BackendLoop() as loop:
        fleet = Fleet(inventory, settings)
        loop.run(fleet.connect_all())
        session = fleet.session(first["name"])
        tunnel_ms = median_ms(
            lambda: session.call(lambda c: c.api.containers(all=True)), args.rounds
        )
        loop.run(fleet.close())
    cli_ms = cli_over_ssh(first, args.dir, max(5, args.rounds // 20))
    persist_ms = cli_over_ssh(first, args.dir, max(5, args.rounds // 20), persist=True)

    one = Inventory(hosts=inventory.hosts[:1], path=inventory.path)
    one_ms = connect_time(one, settings, 7)
    all_ms = connect_time(inventory, settings, 7)

    print(f"API `ps` median over {args.rounds} calls on {first['name']}:")
    print(f"  engine's own socket      {local_ms:8.2f} ms")
    print(f"  Corral SSH tunnel        {tunnel_ms:8.2f} ms   "
          f"ratio {tunnel_ms / local_ms:.2f}x local (target <= 2x)")
    print(f"  docker -H ssh:// (CLI)   {cli_ms:8.2f} ms   "
          f"tunnel is {cli_ms / tunnel_ms:.0f}x faster (target >= 50x)")
    print(f"  docker -H ssh:// over one OpenSSH ControlPersist connection (the fair baseline)\n"
          f"                           {persist_ms:8.2f} ms   "
          f"tunnel is {persist_ms / tunnel_ms:.1f}x faster (reported; the CLI still starts "
          "a process and `docker system dial-stdio` per call)")
    print("Connect time (median of 7):")
    print(f"  1 host                   {one_ms:8.1f} ms")
    print(f"  {len(inventory.hosts)} hosts                  {all_ms:8.1f} ms   "
          f"ratio {all_ms / one_ms:.2f}x (target <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
