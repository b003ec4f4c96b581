#!/usr/bin/env python3
"""Deploy time on a three-node lab swarm: `corral deploy --engine swarm` vs `docker stack deploy`.

`webrtc-demo` (the demo stack, default answers, its public port 8081) as Swarm
services: `signal` (spread, host port 8081), `media` on the `role=media`
nodes with its sidekick `media-recorder` as a global service on those nodes,
`kv` with its per-node volume, `log-shipper` global. The lab's host labels
are put on the nodes first (Corral writes the inventory's labels onto the
nodes at each deploy; the CLI side needs them for its placement too).

Both sides create the same services on the same swarm (lab1 manager, lab2 and
lab3 workers), in the same run, alternating, from a clean slate each time:

* `corral deploy webrtc-demo --engine swarm --yes`, as a user runs it (bytecode
  cached, as an installed package has it; a warm-up `plan` writes the cache
  first): Python start,
  SSH connections, reading the swarm, planning, creating the overlay and the
  service through the manager's tunnel, waiting for its tasks;
* `docker -H ssh://root@MANAGER stack deploy -c FILE` of the equivalent
  compose v3 file, generated from the ServiceSpec Corral's translation gives
  for the same rendered stack (host-mode ports and `endpoint_mode: dnsrr`, as
  the lab has no IPVS; same health check, update config, labels), over one
  OpenSSH connection (`ControlMaster auto`, `ControlPersist 60`: the fair
  baseline, see bench/deploy.py). `--write FILE` saves that compose file.

Both are measured to the same end point: after the command returns, the
bench polls the manager's engine (its own socket, every 0.1 s, the same code
for both) until every task of the stack is `running` (Swarm keeps a task
with a health check `starting` until it is healthy). Rounds run twice: with
every CPU shared by the bench and the lab, and pinned (the bench and its
children on the first CPU(s), the lab's processes on the others, see
pinning.py); both rows weigh the same in the verdict.

Usage: bench/swarm.py [--dir LAB_DIR] [--rounds N] [--write FILE]   (starts the lab if needed;
makes the swarm, and leaves it at the end if it made it)
Target: corral <= 1.2x `docker stack deploy` over a shared (ControlPersist) connection.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
import yaml
from pinning import cpu_split, lab_cpus, pin_self  # bench/ is on sys.path as a script
from tunnel import close_masters, lab_status, ssh_wrapper

from corral.backends.swarm.services.translate import NAMESPACE, translate
from corral.catalog import load_catalogs, resolve_answers
from corral.catalog.render import render

ENTRY = "webrtc-demo"
#: A throwaway password for the bench's own stack; never printed.
ANSWERS = ["KV_PASSWORD=bench-only-pw", "PUBLIC_PORT=8081"]
SHOWN_ANSWERS = [a for a in ANSWERS if not a.startswith("KV_PASSWORD=")]
MANAGER_PORT = 2377
_NS = 1_000_000_000


def corral_args(lab_dir: Path) -> list[str]:
    return ["--inventory", str(lab_dir / "inventory.yaml"),
            "--known-hosts", str(lab_dir / "known_hosts")]


def engine(host: dict) -> docker.DockerClient:
    return docker.DockerClient(base_url=f"unix://{host['socket']}", version="auto")


def make_swarm(hosts: list[dict]) -> bool:
    """lab1 manager, the others workers; False when the hosts already form a swarm."""
    states = [(engine(h).info().get("Swarm") or {}).get("LocalNodeState") for h in hosts]
    if all(s == "active" for s in states):
        return False
    leave_swarm(hosts)
    first = engine(hosts[0])
    first.swarm.init(advertise_addr=hosts[0]["address"], listen_addr=f"0.0.0.0:{MANAGER_PORT}")
    token = first.api.inspect_swarm()["JoinTokens"]["Worker"]
    for host in hosts[1:]:
        engine(host).swarm.join([f"{hosts[0]['address']}:{MANAGER_PORT}"], token,
                                advertise_addr=host["address"],
                                listen_addr=f"0.0.0.0:{MANAGER_PORT}")
    return True


def label_nodes(hosts: list[dict]) -> None:
    """Put each lab host's labels on its node, as Corral does with the inventory's."""
    manager = engine(hosts[0])
    by_address = {h["address"]: h for h in hosts}
    for node in manager.nodes.list():
        host = by_address.get((node.attrs.get("Status") or {}).get("Addr"))
        if host is None:
            continue
        spec = dict(node.attrs["Spec"])
        spec["Labels"] = {**(spec.get("Labels") or {}), **host.get("labels", {})}
        node.update(spec)


def eligible(hosts: list[dict], constraints: list[str]) -> int:
    """How many lab hosts meet `node.labels.K==V` / `!=` constraints (a global service's
    task count)."""
    def meets(host: dict, rule: str) -> bool:
        negated = "!=" in rule
        key, _, value = rule.partition("!=" if negated else "==")
        have = host.get("labels", {}).get(key.strip().removeprefix("node.labels."))
        return (have != value.strip()) if negated else (have == value.strip())
    return sum(all(meets(h, rule) for rule in constraints) for h in hosts)


def leave_swarm(hosts: list[dict]) -> None:
    for host in reversed(hosts):
        client = engine(host)
        if (client.info().get("Swarm") or {}).get("LocalNodeState") != "inactive":
            with contextlib.suppress(docker.errors.APIError):
                client.swarm.leave(force=True)


def _duration(ns: int | None) -> str | None:
    return None if not ns else f"{ns / _NS:g}s"


def compose_v3(stack_name: str, hosts: list[dict]) -> tuple[dict, int]:
    """The compose v3 file `docker stack deploy` runs for what Corral asks of Swarm, and
    how many tasks it makes. Generated from the translation of the same rendered stack."""
    version = load_catalogs([]).find(ENTRY).find_version(None)
    answers = resolve_answers(version.info.questions, sets=ANSWERS)
    translation = translate(render(version, answers, stack_name=stack_name))
    if not translation.ok:
        raise SystemExit(f"{ENTRY}: refused by the swarm engine: {translation.refusals}")
    services, volumes, tasks = {}, {}, 0
    for service in translation.services:
        spec = service.spec
        task, container = spec["TaskTemplate"], spec["TaskTemplate"]["ContainerSpec"]
        out: dict = {"image": container["Image"]}
        if "Command" in container:
            out["entrypoint"] = container["Command"]
        if "Args" in container:
            out["command"] = container["Args"]
        if "Env" in container:
            out["environment"] = list(container["Env"])
        labels = {k: v for k, v in container["Labels"].items() if k != NAMESPACE}
        out["labels"] = labels
        if "Healthcheck" in container:
            check = container["Healthcheck"]
            out["healthcheck"] = {k: v for k, v in {
                "test": check["Test"], "interval": _duration(check.get("Interval")),
                "timeout": _duration(check.get("Timeout")), "retries": check.get("Retries"),
                "start_period": _duration(check.get("StartPeriod"))}.items() if v}
        mounts = []
        for mount in container.get("Mounts", []):
            if mount["Type"] == "volume" and mount.get("Source"):
                name = mount["Source"].removeprefix(f"{stack_name}_")  # stack deploy adds it
                volumes[name] = {}
                mounts.append(f"{name}:{mount['Target']}")
            elif mount["Type"] == "volume":
                mounts.append(mount["Target"])
            else:
                raise SystemExit(f"{service.name}: mount {mount['Type']} not generated")
        if mounts:
            out["volumes"] = mounts
        aliases = [a for n in task.get("Networks", []) for a in n.get("Aliases", [])
                   if a != service.name]
        if aliases:
            out["networks"] = {"default": {"aliases": aliases}}
        ports = spec.get("EndpointSpec", {}).get("Ports", [])
        if ports:
            out["ports"] = [{"target": p["TargetPort"], "published": p["PublishedPort"],
                             "protocol": p["Protocol"], "mode": p["PublishMode"]} for p in ports]
        update = spec["UpdateConfig"]
        deploy = {
            "endpoint_mode": spec["EndpointSpec"]["Mode"],
            "labels": {k: v for k, v in spec["Labels"].items() if k != NAMESPACE},
            "restart_policy": {"condition": task["RestartPolicy"]["Condition"]},
            "update_config": {"parallelism": update["Parallelism"],
                              "delay": _duration(update["Delay"]) or "0s",
                              "failure_action": update["FailureAction"],
                              "monitor": _duration(update["Monitor"]),
                              "order": update["Order"]},
        }
        placement = task.get("Placement", {})
        constraints = placement.get("Constraints", [])
        if "Global" in spec["Mode"]:
            deploy["mode"] = "global"
            tasks += eligible(hosts, constraints)
        else:
            deploy["replicas"] = spec["Mode"]["Replicated"]["Replicas"]
            tasks += deploy["replicas"]
        if constraints or "MaxReplicas" in placement:
            deploy["placement"] = {
                **({"constraints": constraints} if constraints else {}),
                **({"max_replicas_per_node": placement["MaxReplicas"]}
                   if "MaxReplicas" in placement else {})}
        out["deploy"] = deploy
        services[service.name] = out
    return {"version": "3.8", "services": services,
            **({"volumes": volumes} if volumes else {})}, tasks


def all_running(manager: docker.DockerClient, stack_name: str, tasks: int,
                timeout: float = 120.0) -> None:
    """Poll the manager until `tasks` tasks of the stack are running (the common end point)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = manager.api.tasks(filters={"label": f"{NAMESPACE}={stack_name}",
                                           "desired-state": "running"})
        if sum(t["Status"]["State"] == "running" for t in found) >= tasks:
            return
        time.sleep(0.1)
    raise SystemExit(f"{stack_name}: not every task running after {timeout:.0f} s")


def clean(hosts: list[dict], stack_name: str) -> None:
    """Remove the stack's services, wait for their containers to go (host ports freed),
    and remove its overlay."""
    manager = engine(hosts[0])
    for service in manager.api.services(filters={"label": f"{NAMESPACE}={stack_name}"}):
        manager.api.remove_service(service["ID"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(
            engine(h).api.containers(all=True, filters={"label": f"{NAMESPACE}={stack_name}"})
            for h in hosts):
        time.sleep(0.2)
    while time.monotonic() < deadline:
        try:
            for network in manager.networks.list(names=[f"{stack_name}_default"]):
                network.remove()
            return
        except docker.errors.APIError:  # tasks still detaching from it
            time.sleep(0.2)


def corral_env() -> dict[str, str]:
    """Corral as installed: with its bytecode cached (pip writes it for an installed
    package; an editable checkout under PYTHONDONTWRITEBYTECODE would compile every
    module on every start, ~0.4 s here, which no user pays)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def warm_up(lab_dir: Path) -> None:
    """One untimed `corral plan` on the swarm engine: writes the bytecode cache."""
    subprocess.run([sys.executable, "-m", "corral.tui.cli.main", "plan", ENTRY, "--stack",
                    "bench", "--engine", "swarm", *[a for s in ANSWERS for a in ("--set", s)],
                    *corral_args(lab_dir)], check=True, capture_output=True, env=corral_env())


def run_corral(lab_dir: Path, manager: docker.DockerClient, tasks: int) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "corral.tui.cli.main", "deploy", ENTRY, "--stack",
                    "bench", "--engine", "swarm", "--yes",
                    *[a for s in ANSWERS for a in ("--set", s)], *corral_args(lab_dir)],
                   check=True, capture_output=True, env=corral_env())
    all_running(manager, "bench", tasks)
    return time.perf_counter() - start


def run_cli(address: str, compose: Path, env: dict[str, str], manager: docker.DockerClient,
            tasks: int) -> float:
    docker_cli = shutil.which("docker") or "docker"
    start = time.perf_counter()
    subprocess.run([docker_cli, "-H", f"ssh://root@{address}", "stack", "deploy", "-c",
                    str(compose), "benchcli"], env=env, check=True, capture_output=True)
    all_running(manager, "benchcli", tasks)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/corral-lab", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", type=Path, help="also save the generated compose v3 file")
    args = parser.parse_args()
    hosts = lab_status(args.dir)
    made = make_swarm(hosts)
    label_nodes(hosts)
    manager = engine(hosts[0])
    spec, tasks = compose_v3("benchcli", hosts)
    folder = Path(tempfile.mkdtemp(prefix="corral-bench-swarm-"))
    compose = folder / "docker-compose.yml"
    compose.write_text(yaml.safe_dump(spec, sort_keys=False))
    if args.write:
        args.write.write_text(compose.read_text())
    wrap, env = ssh_wrapper(args.dir, persist=True)
    warm_up(args.dir)
    everything = os.sched_getaffinity(0)
    split = cpu_split()
    rows: dict[str, tuple[list[float], list[float]]] = {}
    try:
        for label, pinned in (("shared", None), ("pinned", split)):
            if label == "pinned" and split is None:
                continue
            pin_self(pinned[0] if pinned else everything)
            lab_cpus(hosts, pinned)
            corral_s, cli_s = rows.setdefault(label, ([], []))
            for _ in range(args.rounds):
                clean(hosts, "bench")
                clean(hosts, "benchcli")
                corral_s.append(run_corral(args.dir, manager, tasks))
                clean(hosts, "bench")
                cli_s.append(run_cli(hosts[0]["address"], compose, env, manager, tasks))
                clean(hosts, "benchcli")
    finally:
        pin_self(everything)
        lab_cpus(hosts, None)
        close_masters(wrap, [hosts[0]["address"]])
        shutil.rmtree(folder, ignore_errors=True)
        clean(hosts, "bench")
        clean(hosts, "benchcli")
        if made:
            leave_swarm(hosts)
    cpus = (f"pinned: bench and its children on CPUs {sorted(split[0])}, lab on"
            f" {sorted(split[1])}" if split else "pinned: too few CPUs to split")
    print(f"{ENTRY} {' '.join(SHOWN_ANSWERS)} as swarm services ({tasks} tasks) on"
          f" {len(hosts)} nodes; median of"
          f" {args.rounds} (seconds), to every task running; shared: every CPU"
          f" {sorted(everything)}; {cpus}")
    ratios = []
    for label, (corral_s, cli_s) in rows.items():
        corral_m, cli_m = statistics.median(corral_s), statistics.median(cli_s)
        ratios.append(corral_m / cli_m)
        print(f"  {label:<7} corral deploy --engine swarm        {corral_m:6.2f}   runs "
              f"{', '.join(f'{s:.2f}' for s in corral_s)}")
        print(f"  {label:<7} docker stack deploy, ControlPersist {cli_m:6.2f}   runs "
              f"{', '.join(f'{s:.2f}' for s in cli_s)}   corral {corral_m / cli_m:.2f}x")
    mean = statistics.mean(ratios)
    verdict = "meets" if mean <= 1.2 else "misses"
    print(f"  (corral / docker stack deploy, shared and pinned rows weighed equally:"
          f" {mean:.2f}x; target <= 1.2x: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
