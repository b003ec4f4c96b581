"""Swarm under the lab hosts: the cluster verbs through the CLI, a three-manager swarm
running a stack as services with its quorum warnings, and a stack's overlay.

The lab has no IPVS, so nothing here relies on a service's virtual IP or the
ingress mesh: standalone containers on an attachable overlay resolve each
other by name across hosts, which is what Corral's standalone engine uses.
Every test starts and ends with the lab hosts outside any swarm
(`tests/support/swarm.py`).
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.backends import labels as L
from tests.support.deploy import corral_on
from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.support.swarm import MANAGER_PORT, no_swarm, swarm_of
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab

__all__ = ["no_swarm"]  # the fixture, imported for pytest

STACK = "swarmdemo"


def corral_tty(lab: Lab, answer: str, *args: str) -> subprocess.CompletedProcess:
    """`corral ARGS` in its own process with a terminal on stdin, answering `answer`."""
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "corral.tui.cli.main", *args, *lab.corral_args()],
            stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.close(slave)
        os.write(master, f"{answer}\n".encode())
        out, err = process.communicate(timeout=180)
    finally:
        os.close(master)
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def status(lab: Lab) -> dict:
    result = corral_on(lab, "swarm", "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def swarm_state(lab: Lab, host: str) -> dict:
    return engine(lab.host(host).socket).info()["Swarm"]


def test_init_status_join_leave_through_the_cli(lab: Lab, no_swarm: None) -> None:
    before = status(lab)
    assert before["swarms"] == [] and before["outside"] == ["lab1", "lab2", "lab3"]

    refused = corral_on(lab, "swarm", "init", "--hosts", "lab1,lab2")
    assert refused.returncode == 2 and "pass --yes" in refused.stderr
    declined = corral_tty(lab, "n", "swarm", "init", "--hosts", "lab1,lab2")
    assert "Make a swarm of lab1 (manager, first), lab2 (worker)? [y/N]" in declined.stderr
    assert declined.returncode == 1 and "nothing changed" in declined.stderr
    assert swarm_state(lab, "lab1")["LocalNodeState"] == "inactive"

    made = corral_tty(lab, "y", "swarm", "init", "--hosts", "lab1,lab2")
    assert made.returncode == 0, made.stderr
    assert swarm_state(lab, "lab1")["NodeAddr"] == lab.host("lab1").address
    swarm = status(lab)["swarms"][0]
    assert swarm["hosts"] == ["lab1", "lab2"] and swarm["managers"] == ["lab1"]
    assert swarm["quorum"] == {"managers": 1, "reachable": 1, "needed": 1, "held": True,
                               "tolerates": 0}
    roles = {n["host"]: (n["role"], n["leader"]) for n in swarm["nodes"]}
    assert roles == {"lab1": ("manager", True), "lab2": ("worker", False)}
    assert status(lab)["outside"] == ["lab3"]
    text = corral_on(lab, "swarm", "status").stdout
    assert "quorum held (1 of 1 managers answer" in text and "not in a swarm: lab3" in text

    joined = corral_on(lab, "swarm", "join", "lab3", "--manager", "--yes")
    assert joined.returncode == 0, joined.stderr
    assert "2 managers tolerate no more failures than 1" in joined.stderr
    assert status(lab)["swarms"][0]["managers"] == ["lab1", "lab3"]

    left = corral_on(lab, "swarm", "leave", "lab1", "--yes")  # demoted through lab3 first
    assert left.returncode == 0, left.stderr
    swarm = status(lab)["swarms"][0]
    assert swarm["managers"] == ["lab3"] and swarm["quorum"]["held"]
    assert sorted(n["host"] for n in swarm["nodes"]) == ["lab2", "lab3"]
    assert swarm_state(lab, "lab1")["LocalNodeState"] == "inactive"

    last = corral_on(lab, "swarm", "leave", "lab3", "--yes")
    assert last.returncode == 1
    assert "lab3: the last manager of its swarm" in last.stderr and "--force" in last.stderr
    assert swarm_state(lab, "lab3")["ControlAvailable"]
    forced = corral_on(lab, "swarm", "leave", "lab3", "--force", "--yes")
    assert forced.returncode == 0, forced.stderr
    assert "lab3 is the last manager: the swarm ends: lab2 lose it too" in forced.stderr
    assert swarm_state(lab, "lab3")["LocalNodeState"] == "inactive"


#: Reset rather than drop, so raft's sends fail at once rather than waiting on timeouts.
REJECT = ["-j", "REJECT", "--reject-with", "tcp-reset"]


@contextlib.contextmanager
def raft_cut(lab: Lab, host: str) -> Iterator[None]:
    """Drop `host`'s swarm manager traffic (port 2377, both ways) for the block: its manager
    turns unreachable for the others while its engine and sshd still answer Corral."""
    listed = subprocess.run([sys.executable, str(Path(__file__).parents[1] / "lab" / "lab"),
                             "status", "--json", "--dir", str(lab.dir)],
                            capture_output=True, text=True, check=True)
    netns = next(h["netns"] for h in json.loads(listed.stdout) if h["name"] == host)
    rules = [["INPUT", "-p", "tcp", "--dport", str(MANAGER_PORT)],
             ["OUTPUT", "-p", "tcp", "--dport", str(MANAGER_PORT)]]
    iptables = ["nsenter", f"--net=/var/run/netns/{netns}", "iptables", "-w"]
    for rule in rules:
        subprocess.run([*iptables, "-I", *rule, *REJECT], check=True)
    try:
        yield
    finally:
        for rule in rules:
            subprocess.run([*iptables, "-D", *rule, *REJECT], check=False)


def test_three_managers_run_a_stack_and_warn_before_quorum_goes(
        lab: Lab, no_swarm: None, tmp_path: Path) -> None:
    made = corral_on(lab, "swarm", "init", "--hosts", "lab1,lab2,lab3", "--managers", "3",
                     "--yes")
    assert made.returncode == 0, made.stderr
    swarm = status(lab)["swarms"][0]
    assert swarm["managers"][0] == "lab1" and sorted(swarm["managers"]) == ["lab1", "lab2", "lab3"]
    assert swarm["quorum"] == {"managers": 3, "reachable": 3, "needed": 2, "held": True,
                               "tolerates": 1}
    assert {n["host"]: n["role"] for n in swarm["nodes"]} == {
        "lab1": "manager", "lab2": "manager", "lab3": "manager"}

    folder = tmp_path / "trio"
    folder.mkdir()
    (folder / "docker-compose.yml").write_text(
        "version: '2'\nservices:\n  kv:\n    image: corral-lab/busybox:1\n"
        "    command: [sleep, '3600']\n")
    (folder / "rancher-compose.yml").write_text("version: '2'\nservices:\n  kv:\n    scale: 3\n")
    try:
        deployed = corral_on(lab, "deploy", str(folder), "--stack", "trio", "--engine", "swarm",
                             "--yes")
        assert deployed.returncode == 0, deployed.stderr
        assert "3/3 running" in deployed.stderr
        found = engine(lab.host("lab2").socket).api.services(
            filters={"label": f"{L.STACK}=trio"})  # any manager lists it
        assert [s["Spec"]["Name"] for s in found] == ["trio_kv"]

        # Three healthy managers: leaving one keeps quorum but spends the spare.
        declined = corral_tty(lab, "n", "swarm", "leave", "lab3")
        assert "2 managers left: the swarm then tolerates no manager failure" in declined.stderr
        assert declined.returncode == 1 and "nothing changed" in declined.stderr

        # One manager cut off: leaving another would lose quorum, and Corral says so first.
        with raft_cut(lab, "lab3"):
            manager = engine(lab.host("lab1").socket).api
            wait_until(lambda: sum((n.get("ManagerStatus") or {}).get("Reachability")
                                   == "reachable" for n in manager.nodes()) == 2,
                       "lab3 unreachable to the other managers", timeout=20)
            declined = corral_tty(lab, "n", "swarm", "leave", "lab2")
            assert ("quorum would be lost: 1 of 2 managers would answer, 2 needed"
                    in declined.stderr), declined.stderr
            assert declined.returncode == 1
        assert swarm_state(lab, "lab2")["ControlAvailable"]
    finally:
        corral_on(lab, "rm", "trio", "--engine", "swarm", "--yes")


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    path = tmp_path / "answers.yaml"
    path.write_text("KV_PASSWORD: lab-s3cret-pw\nROOM_NAME: lab-room\nPUBLIC_PORT: 8081\n")
    return path


def plan(lab: Lab, answers: Path) -> dict:
    result = corral_on(lab, "plan", "webrtc-demo", "--stack", STACK, "--answers", str(answers),
                       "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def probe(lab: Lab, host: str, container: str, target: str, within: float = 30.0) -> str:
    """An HTTP GET from `container` on `host` to `target` (busybox nc: wget segfaults here).

    Retried until it answers or `within` seconds pass, and the last answer returned:
    a new overlay endpoint reaches the other hosts by gossip, which on a loaded
    machine takes seconds after the deploy has finished (CI saw `nc: timed out`).
    """
    found = engine(lab.host(host).socket).containers.get(container)
    answers: list[str] = []

    def answered() -> bool:
        _, output = found.exec_run(
            ["sh", "-c", f"printf 'GET /health HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {target}"])
        answers.append(output.decode(errors="replace"))
        return "200 OK" in answers[-1]

    with contextlib.suppress(AssertionError):  # the caller asserts on the last answer
        wait_until(answered, f"{target} to answer from {container}", timeout=within, step=0.5)
    return answers[-1]


def cross_host_signal(lab: Lab) -> tuple[str, str]:
    """(host, container) of a running signal replica on a host where kv does not run."""
    def running(host, service: str) -> list:
        return engine(host.socket).containers.list(filters={"label": [
            f"{L.STACK}={STACK}", f"{L.SERVICE}={service}"]})

    kv_hosts = {h.name for h in lab.hosts if running(h, "kv")}
    return next((h.name, c.name) for h in lab.hosts if h.name not in kv_hosts
                for c in running(h, "signal"))


def test_webrtc_demo_moves_onto_an_overlay_and_answers_across_hosts(
        lab: Lab, no_swarm: None, answers: Path) -> None:
    try:
        outside = plan(lab, answers)
        assert outside["network"]["driver"] == "bridge" and outside["notes"] == []
        cross = [w for w in outside["warnings"] if "plain Docker has no network" in w]
        assert cross and "`corral swarm init --hosts lab1,lab2,lab3`" in cross[0]
        deployed = corral_on(lab, "deploy", "webrtc-demo", "--stack", STACK, "--answers",
                             str(answers), "--yes")
        assert deployed.returncode == 0, deployed.stderr

        with swarm_of(lab):
            moving = plan(lab, answers)
            assert moving["network"] == {"driver": "overlay", "name": f"{STACK}_default",
                                         "hosts": ["lab1", "lab2", "lab3"]}
            assert f"overlay {STACK}_default spans lab1, lab2, lab3" in moving["notes"]
            assert not [w for w in moving["warnings"] if "plain Docker" in w]
            assert {s["action"] for s in moving["steps"]} == {"replace"}
            assert {s["reason"] for s in moving["steps"]} == {
                f"moves onto overlay {STACK}_default"}

            moved = corral_on(lab, "deploy", "webrtc-demo", "--stack", STACK, "--answers",
                              str(answers), "--yes")
            assert moved.returncode == 0, moved.stderr
            for host in lab.hosts:
                network = engine(host.socket).networks.get(f"{STACK}_default")
                assert (network.attrs["Driver"], network.attrs["Scope"]) == ("overlay", "swarm")
            answer = probe(lab, *cross_host_signal(lab), "kv 6379")
            assert "200 OK" in answer and answer.rstrip().endswith("ok"), answer

            again = plan(lab, answers)
            assert again["no_op"] and again["network"]["driver"] == "overlay"

            # An upgrade on the overlay makes no per-host bridge, and a rollback comes back on it.
            upgraded = corral_on(lab, "upgrade", "webrtc-demo", "--stack", STACK, "--answers",
                                 str(answers), "--set", "ROOM_NAME=lab-room-2", "--yes")
            assert upgraded.returncode == 0, upgraded.stderr
            for host in lab.hosts:
                found = engine(host.socket).networks.list(names=[f"{STACK}_default"])
                assert [n.attrs["Scope"] for n in found] == ["swarm"], host.name
            rolled = corral_on(lab, "rollback", STACK, "--yes")
            assert rolled.returncode == 0, rolled.stderr
            answer = probe(lab, *cross_host_signal(lab), "kv 6379")
            assert "200 OK" in answer and answer.rstrip().endswith("ok"), answer

            removed = corral_on(lab, "rm", STACK, "--yes")
            assert removed.returncode == 0, removed.stderr
            manager = engine(lab.host("lab1").socket)
            wait_until(lambda: not manager.networks.list(names=[f"{STACK}_default"]),
                       f"the overlay removed (rm said: {removed.stdout[-800:]})", timeout=20)
    finally:
        corral_on(lab, "rm", STACK, "--yes")
