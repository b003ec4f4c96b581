#!/usr/bin/env python3
"""Deploy time of the built-in webrtc-demo on the lab: `corral deploy` vs the docker CLI.

All create the same containers (10 for the demo on three hosts), networks
and volume on the same hosts, in the same run, alternating, from a clean
slate each time, and all wait for the same health checks:

* `corral deploy webrtc-demo --yes`, as a user runs it: Python start, SSH
  connections, reading the hosts, planning, preflight, creating, starting,
  and waiting for the health checks;
* a shell-style script of `docker -H ssh://root@ADDR …` commands, one
  sequence per host with the hosts in parallel (what an operator would
  script), placing each container where Corral's plan put it, then waiting
  on each host (`ssh HOST sh -c …`) for every container with a Rancher
  `health_check` as Corral does: an HTTP probe of its address until
  `healthy_threshold` successes in a row, at most every 0.5 s. Run twice:
  with a new SSH handshake per command, and over one OpenSSH connection per
  host (`ControlMaster auto`, `ControlPersist 60`: the best an experienced
  operator would do, the fair baseline).

Usage: bench/deploy.py [--dir LAB_DIR] [--rounds N]   (starts the lab if needed)
Target: corral <= 1.2x the CLI script over a shared (ControlPersist) connection,
both waiting for health.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import docker
from tunnel import close_masters, lab_status, ssh_wrapper  # bench/ is on sys.path as a script

from corral.backends import labels as L
from corral.backends.deploy.body import instantiate
from corral.backends.deploy.prepare import prepare
from corral.backends.inventory.load import load_inventory
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.loop import BackendLoop
from corral.catalog import load_catalogs, resolve_answers
from corral.catalog.render import render

ANSWERS = ["KV_PASSWORD=bench-password"]


def corral_args(lab_dir: Path) -> list[str]:
    return ["--inventory", str(lab_dir / "inventory.yaml"),
            "--known-hosts", str(lab_dir / "known_hosts")]


#: One container to wait for: (its name, the HTTP port, path, and successes in a row).
Probe = tuple[str, int, str, int]


def cli_commands(lab_dir: Path, stack_name: str
                 ) -> tuple[dict[str, list[list[str]]], dict[str, list[Probe]]]:
    """Per host address, the docker CLI commands creating what Corral's plan creates,
    and the health checks Corral waits for there."""
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
    probes: dict[str, list[Probe]] = {}
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
        probes[address[host]] = [
            (step.name, check.port, check.path or "/", check.healthy_threshold)
            for step in steps
            if (check := stack.service(step.service).health_check) is not None
        ]
    return commands, probes


def health_script(probes: list[Probe]) -> str:
    """A remote `sh` script waiting for every probe at once (60 s at most), as Corral waits."""
    waits = []
    for name, port, path, threshold in probes:
        waits.append(
            f"(ip=$(docker inspect -f '{{{{range .NetworkSettings.Networks}}}}"
            f"{{{{.IPAddress}}}} {{{{end}}}}' {name} | cut -d' ' -f1); ok=0; "
            f"while [ $ok -lt {threshold} ]; do "
            f"if curl -s -o /dev/null -m 2 -w '%{{http_code}}' http://$ip:{port}{path} "
            f"| grep -q '^[23]'; then ok=$((ok+1)); else ok=0; fi; "
            f"[ $ok -ge {threshold} ] || sleep 0.5; done) &")
    return "\n".join([*waits, "wait"])


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


def run_cli(commands: dict[str, list[list[str]]], probes: dict[str, list[Probe]],
            env: dict[str, str]) -> float:
    """Seconds to run every host's commands and wait for its health, hosts in parallel."""
    docker_cli = shutil.which("docker") or "docker"

    def host_script(address: str) -> None:
        for command in commands[address]:
            subprocess.run([docker_cli, "-H", f"ssh://root@{address}", *command], env=env,
                           check=True, capture_output=True)
        if probes[address]:
            subprocess.run(["ssh", f"root@{address}", "timeout", "60", "sh", "-c",
                            shlex.quote(health_script(probes[address]))],
                           env=env, check=True, capture_output=True)

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
    addresses = [h["address"] for h in hosts]
    fresh, fresh_env = ssh_wrapper(args.dir, persist=False)
    shared, shared_env = ssh_wrapper(args.dir, persist=True)
    try:
        commands, probes = cli_commands(args.dir, "benchcli")
        corral_s, fresh_s, shared_s = [], [], []
        for _ in range(args.rounds):
            clean(hosts, "bench")
            clean(hosts, "benchcli")
            corral_s.append(run_corral(args.dir, "bench"))
            clean(hosts, "bench")
            fresh_s.append(run_cli(commands, probes, fresh_env))
            clean(hosts, "benchcli")
            shared_s.append(run_cli(commands, probes, shared_env))
            clean(hosts, "benchcli")
    finally:
        close_masters(fresh, [])
        close_masters(shared, addresses)
    count = sum(len(c) for c in commands.values())
    waits = sum(len(p) for p in probes.values())
    corral_median = statistics.median(corral_s)
    fresh_median, shared_median = statistics.median(fresh_s), statistics.median(shared_s)
    verdict = "meets" if corral_median <= 1.2 * shared_median else "misses"
    print(f"webrtc-demo on {len(hosts)} hosts, median of {args.rounds} (seconds); every side "
          f"waits for the {waits} health checks:")
    print(f"  corral deploy (incl. start, connect, health)     {corral_median:6.2f}   "
          f"runs {', '.join(f'{s:.2f}' for s in corral_s)}")
    print(f"  docker -H ssh:// script, handshake per command   {fresh_median:6.2f}   "
          f"runs {', '.join(f'{s:.2f}' for s in fresh_s)}   "
          f"corral {corral_median / fresh_median:.2f}x")
    print(f"  docker -H ssh:// script, ControlPersist (fair)   {shared_median:6.2f}   "
          f"runs {', '.join(f'{s:.2f}' for s in shared_s)}   "
          f"corral {corral_median / shared_median:.2f}x")
    print(f"  ({count} CLI commands + one health wait per host; target: corral <= 1.2x the "
          f"ControlPersist script: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
