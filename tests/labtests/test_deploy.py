"""Deploy acceptance tests: the built-in webrtc-demo on the three-host lab.

The tests of this module run in order on one stack: an interrupted deploy
and its re-run, placement, re-apply, second process, scale, remove.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from corral.backends import labels as L
from tests.support.deploy import corral_on
from tests.support.lab import Lab
from tests.support.lab_cli import engine, run_corral

pytestmark = pytest.mark.lab

SECRET = "lab-s3cret-pw"
STACK = "demo"


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("deploy") / "answers.yaml"
    path.write_text(f"KV_PASSWORD: {SECRET}\nROOM_NAME: lab-room\nPUBLIC_PORT: 8080\n")
    return path


def corral(lab: Lab, *args: str, separate: bool = False) -> subprocess.CompletedProcess:
    """Run corral (in-process unless `separate`); no output may show the password."""
    if separate:
        result = run_corral(*args, *lab.corral_args(), timeout=120)
    else:
        result = corral_on(lab, *args)
    assert SECRET not in result.stdout and SECRET not in result.stderr
    return result


def deploy(lab: Lab, answers: Path, *extra: str) -> subprocess.CompletedProcess:
    return corral(lab, "deploy", "webrtc-demo", "--stack", STACK, "--answers", str(answers),
                  "--yes", *extra)


def stack_containers(lab: Lab, stack: str = STACK) -> dict[str, list]:
    """Per host, the engine's own view of the stack's containers."""
    return {host.name: engine(host.socket).containers.list(
        all=True, filters={"label": f"{L.STACK}={stack}"}) for host in lab.hosts}


def placement(lab: Lab) -> dict[str, set[tuple[str, str]]]:
    """service -> {(host, replica index)} as the engines report it."""
    found: dict[str, set[tuple[str, str]]] = {}
    for host, containers in stack_containers(lab).items():
        for container in containers:
            labels = container.labels
            found.setdefault(labels[L.SERVICE], set()).add((host, labels[L.REPLICA]))
    return found


def ids(lab: Lab) -> set[str]:
    return {c.id for containers in stack_containers(lab).values() for c in containers}


def test_interrupted_apply_converges_without_orphans(lab: Lab, answers: Path) -> None:
    command = [sys.executable, "-m", "corral.tui.cli.main", "deploy", "webrtc-demo",
               "--stack", STACK, "--answers", str(answers), "--yes", *lab.corral_args()]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if " create " in line and " done" in line:
            process.kill()  # like a lost laptop: no cleanup at all
            break
    process.wait(timeout=30)
    partial = sum(len(c) for c in stack_containers(lab).values())
    assert 0 < partial < 10
    result = deploy(lab, answers)
    assert result.returncode == 0, result.stderr
    assert "create" in result.stdout and "keep" in result.stdout
    containers = stack_containers(lab)
    names = sorted(c.name for cs in containers.values() for c in cs)
    assert len(names) == len(set(names)) == 10


def test_deploy_places_the_demo_by_its_rules(lab: Lab) -> None:
    where = placement(lab)
    media_hosts = {h.name for h in lab.hosts if h.labels.get("role") == "media"}
    assert {host for host, _ in where["media"]} <= media_hosts
    assert len(where["media"]) == 2 and where["media-recorder"] == where["media"]
    assert {host for host, _ in where["log-shipper"]} == {h.name for h in lab.hosts}
    signal_hosts = [host for host, _ in where["signal"]]
    assert len(signal_hosts) == len(set(signal_hosts)) == 2
    assert len(where["kv"]) == 1
    for host, containers in stack_containers(lab).items():
        for container in containers:
            assert container.status == "running", container.name
            labels = container.labels
            assert labels[L.ENTRY] == "webrtc-demo" and labels[L.VERSION] == "1.0.0"
            assert labels[L.CONFIG_HASH] and labels[L.RANCHER_STACK] == STACK
        record = engine(lab.host(host).socket).volumes.list(filters={"label": L.RECORD})
        assert [v.name for v in record] == ["corral-stack.demo.1"]
    (kv_host, _), = where["kv"]
    assert engine(lab.host(kv_host).socket).volumes.get("demo_kv-data")
    for host in signal_hosts:
        url = f"http://{lab.host(host).address}:8080/health"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200


def test_reapplying_changes_nothing(lab: Lab, answers: Path) -> None:
    before = ids(lab)
    result = deploy(lab, answers)
    assert result.returncode == 0, result.stderr
    assert "Nothing to change (10 keep)." in result.stdout
    assert ids(lab) == before


def test_a_second_process_sees_the_stack_and_its_answers(lab: Lab) -> None:
    # Nothing but the inventory: a fresh process reads the hosts' records.
    result = corral(lab, "stacks", "--json", separate=True)
    (stack,) = [s for s in json.loads(result.stdout) if s["name"] == STACK]
    assert stack["answers"]["ROOM_NAME"] == "lab-room"
    assert stack["answers"]["KV_PASSWORD"] == "********"
    assert stack["entry"] == "webrtc-demo" and stack["generation"] == 1
    assert {s["name"]: s["running"] for s in stack["services"]} == {
        "kv": 1, "log-shipper": 3, "media": 2, "media-recorder": 2, "signal": 2}
    assert stack["state"] == "active"
    # The existing `corral ps` groups the containers by Corral's labels.
    ps = json.loads(corral(lab, "ps", "--json", separate=True).stdout)
    assert {row["service"] for row in ps if row["stack"] == STACK} == {
        "kv", "log-shipper", "media", "media-recorder", "signal"}


def test_scale_up_and_down_from_the_record(lab: Lab) -> None:
    result = corral(lab, "scale", "demo/signal=3", "--yes")
    assert result.returncode == 0, result.stderr
    signal = placement(lab)["signal"]
    assert {host for host, _ in signal} == {h.name for h in lab.hosts}
    (new_host,) = [host for host, index in signal if index == "3"]
    created = engine(lab.host(new_host).socket).containers.get("demo-signal-3")
    assert f"KV_PASSWORD={SECRET}" in created.attrs["Config"]["Env"]
    result = corral(lab, "scale", "demo/signal=2", "--yes")
    assert result.returncode == 0, result.stderr
    assert len(placement(lab)["signal"]) == 2
    bad = corral(lab, "scale", "demo/media-recorder=3", "--yes")
    assert bad.returncode == 2 and "sidekick of media" in bad.stderr


def test_rm_keeps_named_volumes_unless_asked(lab: Lab) -> None:
    refused = corral(lab, "rm", STACK)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    result = corral(lab, "rm", STACK, "--yes")
    assert result.returncode == 0, result.stderr
    assert "volumes on" in result.stderr and "(kept): demo_kv-data" in result.stderr
    assert not any(stack_containers(lab).values())
    volumes = {h.name: {v.name for v in engine(h.socket).volumes.list()} for h in lab.hosts}
    assert any("demo_kv-data" in names for names in volumes.values())
    assert not any(name.startswith("corral-stack.demo.") for names in volumes.values()
                   for name in names)
    for host in lab.hosts:
        assert not engine(host.socket).networks.list(names=["demo_default"])
    assert STACK not in corral(lab, "stacks").stdout
