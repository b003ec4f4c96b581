#!/usr/bin/env python3
"""Deploy time of the built-in webrtc-demo on the lab: `corral deploy` vs the docker CLI.

Both create the same containers (10 for the demo on three hosts), networks
and volume on the same hosts, in the same run, alternating, from a clean
slate each time:

* `corral deploy webrtc-demo --yes`, as a user runs it: Python start, SSH
  connections, reading the hosts, planning, preflight, creating, starting,
  and waiting for the health checks;
* a shell-style script of `docker -H ssh://root@ADDR …` commands, one
  sequence per host with the hosts in parallel (what an operator would
  script), placing each container where Corral's plan put it; it waits for
  nothing.

Usage: bench/deploy.py [--dir LAB_DIR] [--rounds N]   (starts the lab if needed)
Target: corral <= 1.2x the CLI.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
from tunnel import lab_status  # bench/ is on sys.path when run as a script

from corral.backends import labels as L
from corral.backends.deploy.body import instantiate
from corral.backends.deploy.prepare import prepare
from corral.backends.inventory.load import load_inventory
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.loop import BackendLoop
from corral.catalog import load_catalogs, render, resolve_answers

ANSWERS = ["KV_PASSWORD=bench-password"]


def corral_args(lab_dir: Path) -> list[str]:
    return ["--inventory", str(lab_dir / "inventory.yaml"),
            "--known-hosts", str(lab_dir / "known_hosts")]


def cli_env(lab_dir: Path, wrap: Path) -> dict[str, str]:
    """An environment whose `ssh` uses the lab's key and known_hosts (for `docker -H ssh://`)."""
    config = wrap / "ssh_config"
    config.write_text(f"Host *\n  IdentityFile {lab_dir}/id_ed25519\n  IdentitiesOnly yes\n"
                      f"  UserKnownHostsFile {lab_dir}/known_hosts\n"
                      "  StrictHostKeyChecking yes\n")
    (wrap / "ssh").write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {config} "$@"\n')
    (wrap / "ssh").chmod(0o755)
    env = dict(os.environ, PATH=f"{wrap}:{os.environ['PATH']}")
    env.pop("DOCKER_HOST", None)
    return env


def cli_commands(lab_dir: Path, stack_name: str) -> dict[str, list[list[str]]]:
    """Per host address, the docker CLI commands creating what Corral's plan creates."""
    version = load_catalogs([]).find("webrtc-demo").find_version(None)
    answers = resolve_answers(version.info.questions, sets=ANSWERS)
    stack = render(version, answers, stack_name=stack_name)
    inventory = load_inventory(lab_dir / "inventory.yaml")
    address = {h.name: h.address for h in inventory.hosts}
    with BackendLoop() as loop:
        fleet = Fleet(inventory, SshSettings(known_hosts=(str(lab_dir / "known_hosts"),)),
                      backend=loop)
        loop.run(fleet.connect_all())
        prepared = prepare(fleet, stack, answers)
        loop.run(fleet.close())
    commands: dict[str, list[list[str]]] = {}
    final = prepared.plan.final()
    for host in sorted({s.host for s in final}):
        steps = [s for s in final if s.host == host]
        per_host = [["network", "create", f"{stack_name}_default"]]
        if any(s.service == "kv" for s in steps):
            per_host.append(["volume", "create", f"{stack_name}_kv-data"])
        peers = {s.service: s.name for s in steps}
        for step in steps:
            _, body, _ = instantiate(stack, stack.service(step.service), step.index, peers, "x")
            per_host.append(run_command(step.name, body))
        commands[address[host]] = per_host
    return commands


def run_command(name: str, body: dict) -> list[str]:
    """`docker run -d` arguments equivalent to a create body (the keys the demo uses)."""
    host = body["HostConfig"]
    args = ["run", "-d", "--name", name, "--network", host["NetworkMode"],
            "--restart", host["RestartPolicy"]["Name"]]
    endpoint = next(iter(body.get("NetworkingConfig", {}).get("EndpointsConfig", {}).values()),
                    {})
    for alias in endpoint.get("Aliases", []):
        args += ["--network-alias", alias]
    for link in endpoint.get("Links", []):
        args += ["--link", link]
    for key in (L.STACK, L.SERVICE, L.REPLICA):
        args += ["--label", f"{key}={body['Labels'][key]}"]
    for item in body.get("Env", []):
        args += ["-e", item]
    for inner, bindings in host.get("PortBindings", {}).items():
        args += ["-p", f"{bindings[0]['HostPort']}:{inner}"]
    for bind in host.get("Binds", []):
        args += ["-v", bind]
    for target in body.get("Volumes", {}):
        args += ["-v", target]
    return [*args, body["Image"], *(body.get("Cmd") or [])]


def run_cli(commands: dict[str, list[list[str]]], env: dict[str, str]) -> float:
    """Seconds to run every host's commands, hosts in parallel."""
    docker_cli = shutil.which("docker") or "docker"

    def host_script(address: str) -> None:
        for command in commands[address]:
            subprocess.run([docker_cli, "-H", f"ssh://root@{address}", *command], env=env,
                           check=True, capture_output=True)

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(len(commands)) as pool:
        list(pool.map(host_script, commands))
    return time.perf_counter() - start


def run_corral(lab_dir: Path, stack_name: str) -> float:
    """Seconds for `corral deploy` (a fresh process, as a user runs it)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "corral.tui.cli.main", "deploy", "webrtc-demo", "--stack",
                    stack_name, "--yes", *[a for s in ANSWERS for a in ("--set", s)],
                    *corral_args(lab_dir)], check=True, capture_output=True)
    return time.perf_counter() - start


def clean(hosts: list[dict], stack_name: str) -> None:
    """Remove every container, network and volume of `stack_name` on the engines directly."""
    for host in hosts:
        client = docker.DockerClient(base_url=f"unix://{host['socket']}", version="auto")
        for container in client.containers.list(all=True):
            if container.name.startswith(f"{stack_name}-"):
                container.remove(force=True, v=True)
        for network in client.networks.list(names=[f"{stack_name}_default"]):
            network.remove()
        for volume in client.volumes.list():
            if volume.name.startswith((f"{stack_name}_", f"corral-stack.{stack_name}.")):
                volume.remove(force=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/corral-lab", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    hosts = lab_status(args.dir)
    wrap = Path(tempfile.mkdtemp(prefix="corral-bench-"))
    try:
        env = cli_env(args.dir, wrap)
        commands = cli_commands(args.dir, "benchcli")
        corral_s, cli_s = [], []
        for _ in range(args.rounds):
            clean(hosts, "bench")
            clean(hosts, "benchcli")
            corral_s.append(run_corral(args.dir, "bench"))
            clean(hosts, "bench")
            cli_s.append(run_cli(commands, env))
            clean(hosts, "benchcli")
    finally:
        shutil.rmtree(wrap, ignore_errors=True)
    count = sum(len(c) for c in commands.values())
    corral_median, cli_median = statistics.median(corral_s), statistics.median(cli_s)
    print(f"webrtc-demo on {len(hosts)} hosts, median of {args.rounds} (seconds):")
    print(f"  corral deploy (incl. start, connect, health)  {corral_median:6.2f}   "
          f"runs {', '.join(f'{s:.2f}' for s in corral_s)}")
    print(f"  docker -H ssh:// script ({count} commands)     {cli_median:6.2f}   "
          f"runs {', '.join(f'{s:.2f}' for s in cli_s)}")
    print(f"  ratio {corral_median / cli_median:.2f}x (target <= 1.2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
