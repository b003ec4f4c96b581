"""One writer per stack across processes: the lease and the tombstone, on the lab.

A small stack (`lse`: `app` scale 3, a compose healthcheck that turns healthy
after six seconds, so a deploy lasts a few seconds) is deployed, then acted on
by two Corral processes at once.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from corral.backends import labels as L
from corral.backends.deploy import HealthTracker, reconcile
from corral.backends.deploy.lease import BOOT, OPERATION, OWNER, PID, TTL, lease_name, whoami
from corral.backends.deploy.lease import STACK as LEASE_STACK
from corral.backends.deploy.tombstone import tombstone_name
from corral.tui.console.model.deploy_flow import DeployFlow
from tests.support.deploy import corral_on as corral
from tests.support.lab import Lab
from tests.support.lab_cli import engine, running_fleet
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab

STACK = "lse"
IMAGE = "corral-lab/busybox:1"
COMPOSE = """\
version: '2'
services:
  app:
    image: corral-lab/busybox:1
    command: ["sh", "-c", "sleep 6; touch /tmp/ready; exec sleep 3600"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      retries: 10
"""
RANCHER = """\
version: '2'
catalog:
  name: lse
  version: "1"
services:
  app:
    scale: 3
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lse")
    (path / "docker-compose.yml").write_text(COMPOSE)
    (path / "rancher-compose.yml").write_text(RANCHER)
    return path


@pytest.fixture(scope="module")
def slow_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same stack turning healthy after 20 s, not 6: a second process started once
    the first creates must reach the lease in time even on a loaded machine."""
    path = tmp_path_factory.mktemp("lse-slow")
    (path / "docker-compose.yml").write_text(
        COMPOSE.replace("sleep 6;", "sleep 20;").replace("retries: 10", "retries: 30"))
    (path / "rancher-compose.yml").write_text(RANCHER)
    return path


@pytest.fixture
def clean(lab: Lab):
    """No trace of the stack before and after each test: containers, records, lease, tombstone."""
    def wipe() -> None:
        for host in lab.hosts:
            client = engine(host.socket)
            mine = [*client.containers.list(all=True, filters={"label": f"{L.STACK}={STACK}"}),
                    *client.containers.list(all=True, filters={"name": lease_name(STACK)})]
            for container in mine:
                container.remove(force=True)
            for volume in client.volumes.list():
                if volume.name.startswith((f"corral-stack.{STACK}.", tombstone_name(STACK))):
                    volume.remove(force=True)
            for network in client.networks.list(filters={"label": f"{L.STACK}={STACK}"}):
                network.remove()

    wipe()
    yield
    wipe()


def command(lab: Lab, *args: str) -> list[str]:
    return [sys.executable, "-m", "corral.tui.cli.main", *args, *lab.corral_args()]


def deploy_args(folder: Path) -> tuple[str, ...]:
    return ("deploy", str(folder), "--stack", STACK, "--yes")


def stack_containers(lab: Lab) -> dict[str, list[str]]:
    """host -> names of the stack's containers, as the engines see them."""
    return {host.name: sorted(c.name for c in engine(host.socket).containers.list(
        all=True, filters={"label": f"{L.STACK}={STACK}"})) for host in lab.hosts}


def records(lab: Lab) -> list[str]:
    return [v.name for host in lab.hosts for v in engine(host.socket).volumes.list(
        filters={"label": L.RECORD}) if v.name.startswith(f"corral-stack.{STACK}.")]


def leases_on(lab: Lab) -> list[str]:
    return [host.name for host in lab.hosts if engine(host.socket).containers.list(
        all=True, filters={"name": lease_name(STACK)})]


def count(lab: Lab) -> int:
    return sum(len(names) for names in stack_containers(lab).values())


def foreign_lease(lab: Lab, host: str, *, ttl: int = 3600, boot: str = "another-machine",
                  pid: int = 4242) -> None:
    """A lease as another operator's process elsewhere would leave it."""
    engine(lab.host(host).socket).containers.create(
        IMAGE, ["corral-lease"], name=lease_name(STACK), network_disabled=True,
        labels={LEASE_STACK: STACK, OWNER: "alice@ops-laptop", PID: str(pid), BOOT: boot,
                OPERATION: "upgrade", TTL: str(ttl)})


def test_rm_stays_removed_while_another_process_reconciles(lab: Lab, folder: Path,
                                                           clean: None) -> None:
    assert corral(lab, *deploy_args(folder)).returncode == 0
    assert count(lab) == 3
    # Two other writers: `reconcile --watch` in another process, and a console's health
    # pass (its DeployFlow, in a thread of this process) on its own connections.
    watch = subprocess.Popen(command(lab, "reconcile", "--watch", "--interval", "0.2", "--yes"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop, reports, failures = threading.Event(), [], []

    def console_passes(fleet) -> None:
        flow = DeployFlow(fleet)
        while not stop.is_set():
            try:
                reports.append(flow.health_pass())
            except Exception as exc:  # noqa: BLE001 - the test reports it
                failures.append(exc)
            time.sleep(0.2)

    try:
        with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
            console = threading.Thread(target=console_passes, args=(fleet,))
            console.start()
            try:
                time.sleep(3)  # both are reconciling in a loop by now
                result = corral(lab, "rm", STACK, "--yes")
                assert result.returncode == 0, result.stderr
                time.sleep(4)  # many passes later
                assert count(lab) == 0, stack_containers(lab)
                assert records(lab) == []
            finally:
                stop.set()
                console.join(timeout=60)
    finally:
        watch.terminate()
        out, err = watch.communicate(timeout=20)
    assert not failures
    assert not [r.errors for r in reports if r is not None and r.errors]
    assert "not part of the stack" not in out + err
    assert count(lab) == 0 and leases_on(lab) == []
    for host in lab.hosts:  # the tombstone, on every host
        assert engine(host.socket).volumes.get(tombstone_name(STACK))
    # A new explicit deploy of the name brings it back and lifts the tombstone.
    result = corral(lab, *deploy_args(folder))
    assert result.returncode == 0, result.stderr
    assert count(lab) == 3
    assert not [host for host in lab.hosts if engine(host.socket).volumes.list(
        filters={"name": tombstone_name(STACK)})]


def test_a_host_back_after_rm_does_not_bring_the_stack_back(lab: Lab, folder: Path,
                                                            clean: None) -> None:
    assert corral(lab, *deploy_args(folder)).returncode == 0
    away = next(host for host, names in stack_containers(lab).items() if names)
    with lab.faulted(away, "sshd-stop"):
        result = corral(lab, "rm", STACK, "--yes", "--connect-timeout", "3")
        assert result.returncode == 1  # a host was offline: remove again later
    # `away` still holds its containers and a record: reconcile must not redeploy from it.
    before = stack_containers(lab)
    result = corral(lab, "reconcile", "--yes")
    assert "was removed by" in result.stdout + result.stderr, result.stdout + result.stderr
    assert stack_containers(lab) == before
    assert [h for h, names in before.items() if names] == [away]
    assert corral(lab, "rm", STACK, "--yes").returncode == 0
    assert count(lab) == 0


def test_two_concurrent_deploys_one_gets_the_lease_error(lab: Lab, slow_folder: Path,
                                                         clean: None) -> None:
    folder = slow_folder
    watch = subprocess.Popen(command(lab, "reconcile", "--watch", "--interval", "0.2", "--yes"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    first = subprocess.Popen(command(lab, *deploy_args(folder)), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert first.stderr is not None
    for line in first.stderr:
        if " create " in line and " done" in line:
            break  # creating: the health wait keeps it busy 20 seconds more
    second = subprocess.run(command(lab, *deploy_args(folder)), capture_output=True, text=True,
                            timeout=120)
    rest = first.stderr.read()
    first.wait(timeout=120)
    assert first.returncode == 0, rest
    assert second.returncode == 1
    lines = [line for line in second.stderr.splitlines() if line.startswith("corral:")]
    assert len(lines) == 1, second.stderr
    (line,) = lines
    assert f"stack {STACK} is held by" in line and "for deploy on " in line and " since " in line
    watch.terminate()
    out, err = watch.communicate(timeout=20)
    assert "not part of the stack" not in second.stderr + rest + out + err
    assert count(lab) == 3 and leases_on(lab) == []


def test_reconcile_during_a_deploy_says_busy_not_stranger(lab: Lab, folder: Path,
                                                          clean: None) -> None:
    assert corral(lab, *deploy_args(folder)).returncode == 0
    host = next(host for host, names in stack_containers(lab).items() if names)
    victim = stack_containers(lab)[host][0]
    engine(lab.host(host).socket).containers.get(victim).remove(force=True)
    foreign_lease(lab, "lab2")
    with running_fleet(lab.inventory, lab.known_hosts) as (loop, fleet):
        # The console's own pass (replace_lost=False) and a one-shot reconcile alike.
        report = reconcile(fleet, HealthTracker(), stacks=[STACK], replace_lost=False)
    assert STACK in report.busy and not report.errors
    assert "alice@ops-laptop (pid 4242) for upgrade on lab2 since" in report.busy[STACK]
    assert victim not in stack_containers(lab)[host]  # left alone
    result = corral(lab, "scale", f"{STACK}/app=2", "--yes")
    assert result.returncode == 1
    assert "held by alice@ops-laptop (pid 4242) for upgrade on lab2" in result.stderr
    assert "corral lease break lse" in result.stderr
    listed = corral(lab, "lease")
    assert "alice@ops-laptop" in listed.stdout and "lab2" in listed.stdout
    refused = corral(lab, "lease", "break", STACK)  # stdin is not a terminal
    assert refused.returncode == 2 and leases_on(lab) == ["lab2"]
    assert corral(lab, "lease", "break", STACK, "--yes").returncode == 0
    assert leases_on(lab) == []
    result = corral(lab, "reconcile", "--stack", STACK, "--yes")
    assert result.returncode == 0, result.stderr
    assert victim in stack_containers(lab)[host]  # recreated once nobody held the stack


def test_a_stale_lease_is_taken_over(lab: Lab, folder: Path, clean: None) -> None:
    foreign_lease(lab, "lab1", ttl=1)
    time.sleep(2.5)  # expired on the engine's clock
    result = corral(lab, *deploy_args(folder))
    assert result.returncode == 0, result.stderr
    assert leases_on(lab) == []
    # A killed Corral on this machine: its pid is gone, the lease is stale at once.
    _, _, boot = whoami()
    dead = subprocess.Popen(["true"])
    dead.wait()
    foreign_lease(lab, "lab3", boot=boot, pid=dead.pid)
    result = corral(lab, "scale", f"{STACK}/app=2", "--yes")
    assert result.returncode == 0, result.stderr
    assert count(lab) == 2 and leases_on(lab) == []
    wait_until(lambda: leases_on(lab) == [], "no lease left", timeout=5)
