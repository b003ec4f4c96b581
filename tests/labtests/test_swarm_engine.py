"""The Swarm engine on a three-node lab swarm (lab1 manager, lab2 and lab3 workers).

A small stack deployed as Swarm services through the CLI (`--engine swarm`):
the plan, the deploy (node labels written, overlay made, tasks running and
answering each other by name across nodes), a re-deploy that changes no
service, scale, an upgrade whose health check fails and that Swarm rolls
back by itself, and `rm`. The lab has no IPVS: ports are published in host
mode and names resolve to task addresses (dnsrr), the engine's defaults.
The swarm is left at the end (`tests/support/swarm.py`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corral.backends import labels as L
from tests.support.deploy import corral_on
from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.support.swarm import lab_swarm
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab

__all__ = ["lab_swarm"]  # the module's swarm fixture, imported for pytest

STACK = "swarmeng"

COMPOSE = """\
version: '2'
services:
  web:
    image: corral-lab/web:1
    ports: ["8093:80"]
    environment: {{GREETING: {greeting}}}
    labels:
      io.rancher.scheduler.affinity:host_label: role=media
{health}  kv:
    image: corral-lab/busybox:1
    command: ["sh", "-c", "echo ok > /tmp/health && exec httpd -f -p 6379 -h /tmp"]
"""
RANCHER = """\
version: '2'
services:
  web:
    scale: 2
    upgrade_strategy: {batch_size: 2, interval_millis: 500}
"""
FAILING = """\
    healthcheck:
      test: ["CMD-SHELL", "exit 1"]
      interval: 1s
      timeout: 1s
      retries: 1
"""


def version(folder: Path, greeting: str, health: str = "") -> Path:
    folder.mkdir()
    (folder / "docker-compose.yml").write_text(COMPOSE.format(greeting=greeting, health=health))
    (folder / "rancher-compose.yml").write_text(RANCHER)
    return folder


def swarm(lab: Lab, *args: str) -> object:
    return corral_on(lab, *args, "--engine", "swarm")


def services(lab: Lab) -> dict[str, dict]:
    found = engine(lab.host("lab1").socket).api.services(filters={"label": f"{L.STACK}={STACK}"})
    return {s["Spec"]["Labels"][L.SERVICE]: s for s in found}


def running(lab: Lab, service: str) -> list[str]:
    """The nodes (hostnames) running tasks of a stack service."""
    api = engine(lab.host("lab1").socket).api
    nodes = {n["ID"]: n["Description"]["Hostname"] for n in api.nodes()}
    tasks = api.tasks(filters={"service": f"{STACK}_{service}", "desired-state": "running"})
    return sorted(nodes[t["NodeID"]] for t in tasks if t["Status"]["State"] == "running")


def probe_web(lab: Lab) -> str:
    """From a kv task's container, an HTTP GET to `web` (names resolve across nodes)."""
    for host in lab.hosts:
        for container in engine(host.socket).containers.list(
                filters={"label": f"com.docker.swarm.service.name={STACK}_kv"}):
            _, output = container.exec_run(
                ["sh", "-c", "printf 'GET /health HTTP/1.0\\r\\n\\r\\n' | nc -w 3 web 80"])
            return output.decode(errors="replace")
    raise AssertionError("no kv task container")


def test_a_stack_as_swarm_services(lab: Lab, lab_swarm: str, tmp_path: Path) -> None:
    first = version(tmp_path / "v1", "hello")
    failing = version(tmp_path / "v2", "broken", FAILING)
    try:
        planned = swarm(lab, "plan", str(first), "--stack", STACK, "--json")
        assert planned.returncode == 0, planned.stderr
        plan = json.loads(planned.stdout)
        assert [(s["action"], s["name"], s["replicas"]) for s in plan["steps"]] == [
            ("create", f"{STACK}_kv", 1), ("create", f"{STACK}_web", 2)]
        assert plan["node_labels"]["lab2"] == {"role": "media", "zone": "b"}
        assert not plan["network"]["exists"] and not plan["no_op"]

        deployed = swarm(lab, "deploy", str(first), "--stack", STACK, "--yes")
        assert deployed.returncode == 0, deployed.stderr
        assert "2/2 running" in deployed.stderr
        found = services(lab)
        web = found["web"]["Spec"]
        assert web["Labels"]["com.docker.stack.namespace"] == STACK
        assert web["TaskTemplate"]["ContainerSpec"]["Labels"][L.STACK] == STACK
        assert web["EndpointSpec"]["Mode"] == "dnsrr"
        assert web["TaskTemplate"]["Placement"]["Constraints"] == ["node.labels.role==media"]
        assert running(lab, "web") == sorted(
            engine(lab.host(h).socket).info()["Name"] for h in ("lab1", "lab2"))
        answer = probe_web(lab)
        assert "200 OK" in answer, answer

        # Re-deploy of the same spec: nothing asked of Swarm, no service version moves.
        versions = {n: s["Version"]["Index"] for n, s in found.items()}
        again = swarm(lab, "deploy", str(first), "--stack", STACK, "--yes", "--json")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["no_op"]
        assert {n: s["Version"]["Index"] for n, s in services(lab).items()} == versions

        scaled = swarm(lab, "scale", f"{STACK}/kv=3", "--yes")
        assert scaled.returncode == 0, scaled.stderr
        assert len(running(lab, "kv")) == 3

        listed = swarm(lab, "stacks", "--json")
        assert listed.returncode == 0, listed.stderr
        mine = next(s for s in json.loads(listed.stdout) if s["name"] == STACK)
        assert mine["record"]["entry"] == "v1" and mine["record"]["generation"] == 1
        assert {(s["name"], s["running"], s["desired"]) for s in mine["services"]} == {
            ("kv", 3, 3), ("web", 2, 2)}

        # An upgrade whose new tasks never turn healthy: Swarm rolls back by itself.
        upgraded = swarm(lab, "upgrade", str(failing), "--stack", STACK, "--yes")
        assert upgraded.returncode == 1, upgraded.stderr
        assert "web: update rollback completed" in upgraded.stderr, upgraded.stderr
        web = services(lab)["web"]["Spec"]
        assert "Healthcheck" not in web["TaskTemplate"]["ContainerSpec"]
        assert "GREETING=hello" in web["TaskTemplate"]["ContainerSpec"]["Env"]
        wait_until(lambda: len(running(lab, "web")) == 2, "web back on 2 tasks", timeout=30)
        confirmed = swarm(lab, "confirm", STACK, "--yes")
        assert confirmed.returncode == 0 and "nothing to confirm" in confirmed.stderr

        refused = corral_on(lab, "rm", STACK, "--engine", "swarm")
        assert refused.returncode == 2 and "pass --yes" in refused.stderr
        removed = swarm(lab, "rm", STACK, "--yes")
        assert removed.returncode == 0, removed.stderr
        assert f"services {STACK}_kv, {STACK}_web" in removed.stderr
        assert services(lab) == {}
        manager = engine(lab.host("lab1").socket)
        wait_until(lambda: not manager.networks.list(names=[f"{STACK}_default"]),
                   "the overlay removed", timeout=20)
    finally:
        corral_on(lab, "rm", STACK, "--engine", "swarm", "--yes")


def hostname(lab: Lab, host: str) -> str:
    return engine(lab.host(host).socket).info()["Name"]


def test_swarm_reschedules_a_lost_workers_tasks_with_corral_not_running(
        lab: Lab, lab_swarm: str, tmp_path: Path) -> None:
    folder = tmp_path / "spread"
    folder.mkdir()
    (folder / "docker-compose.yml").write_text(
        "version: '2'\nservices:\n  kv:\n    image: corral-lab/busybox:1\n"
        "    command: [sleep, '3600']\n")
    (folder / "rancher-compose.yml").write_text("version: '2'\nservices:\n  kv:\n    scale: 3\n")
    manager = engine(lab.host("lab1").socket)
    manager.swarm.update(dispatcher_heartbeat_period=1_000_000_000)  # notice a lost node sooner
    try:
        deployed = swarm(lab, "deploy", str(folder), "--stack", STACK, "--yes")
        assert deployed.returncode == 0, deployed.stderr
        assert hostname(lab, "lab3") in running(lab, "kv")
        # Corral has exited: what follows is Swarm's own doing.
        lost = hostname(lab, "lab3")
        with lab.faulted("lab3", "link-down"):
            wait_until(lambda: len([n for n in running(lab, "kv") if n != lost]) == 3,
                       "lab3's task rescheduled on lab1 or lab2", timeout=45)
    finally:
        corral_on(lab, "rm", STACK, "--engine", "swarm", "--yes")


def test_webrtc_demo_runs_as_services_with_its_sidekick_beside_each_media_task(
        lab: Lab, lab_swarm: str, tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("KV_PASSWORD: lab-s3cret-pw\nPUBLIC_PORT: 8094\n")
    demo = "swarmdemo"
    try:
        planned = corral_on(lab, "plan", "webrtc-demo", "--stack", demo, "--answers",
                            str(answers), "--engine", "swarm")
        assert planned.returncode == 0, planned.stderr
        assert "media-recorder: sidekick of media: a global service" in planned.stdout
        deployed = corral_on(lab, "deploy", "webrtc-demo", "--stack", demo, "--answers",
                             str(answers), "--engine", "swarm", "--yes")
        assert deployed.returncode == 0, deployed.stderr
        api = engine(lab.host("lab1").socket).api
        nodes = {n["ID"]: n["Description"]["Hostname"] for n in api.nodes()}

        def on(service: str) -> list[str]:
            tasks = api.tasks(filters={"service": f"{demo}_{service}",
                                       "desired-state": "running"})
            return sorted(nodes[t["NodeID"]] for t in tasks if t["Status"]["State"] == "running")

        media_nodes = sorted(hostname(lab, h) for h in ("lab1", "lab2"))  # role=media
        recorders = wait_until(lambda: on("media-recorder") == media_nodes and on("media-recorder"),
                               "a media-recorder task on each media node", timeout=60)
        assert set(on("media")) <= set(recorders)
        assert sorted(on("log-shipper")) == sorted(hostname(lab, h.name) for h in lab.hosts)
        assert "lab-s3cret-pw" not in deployed.stdout + deployed.stderr
    finally:
        corral_on(lab, "rm", demo, "--engine", "swarm", "--yes")
