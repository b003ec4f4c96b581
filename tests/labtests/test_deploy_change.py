"""Changing a deployed stack on the lab: upgrade with rollback or confirm, health, host loss.

One small stack from a compose folder (`FILE` source): `web` (scale 2, one
per host, Rancher health check over SSH, start-first upgrades) and `store`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.backends import labels as L
from corral.backends.deploy.reconcile import reconcile
from tests.support.deploy import corral_on as corral
from tests.support.lab import Lab
from tests.support.lab_cli import engine, running_fleet

pytestmark = pytest.mark.lab

STACK = "chg"
COMPOSE = """\
version: '2'
services:
  web:
    image: corral-lab/busybox:1
    command: ["sh", "-c", "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 80 -h /www"]
    environment:
      RELEASE: "${RELEASE}"
    labels:
      io.rancher.scheduler.affinity:container_label_ne: io.rancher.stack_service.name=chg/web
  store:
    image: corral-lab/busybox:1
    command: ["sleep", "3600"]
    volumes:
      - data:/data
volumes:
  data: {}
"""
RANCHER = """\
version: '2'
catalog:
  name: chg
  version: "1"
  questions:
    - variable: RELEASE
      type: string
      default: "1"
services:
  web:
    scale: 2
    health_check:
      port: 80
      request_line: GET "/health" "HTTP/1.0"
      interval: 500
      response_timeout: 1000
      healthy_threshold: 1
      unhealthy_threshold: 2
      strategy: recreate
    upgrade_strategy:
      start_first: true
      batch_size: 1
      interval_millis: 200
"""


@pytest.fixture(scope="module")
def folder(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chg")
    (path / "docker-compose.yml").write_text(COMPOSE)
    (path / "rancher-compose.yml").write_text(RANCHER)
    result = corral(lab, "deploy", str(path), "--stack", STACK, "--yes")
    assert result.returncode == 0, result.stderr
    yield path
    if containers(lab):  # a test failed before the last one removed the stack
        corral(lab, "rm", STACK, "--yes", "--volumes")



def containers(lab: Lab) -> list[tuple[str, object]]:
    """(host, container) of the stack, as the engines see it."""
    return [(host.name, c) for host in lab.hosts for c in engine(host.socket).containers.list(
        all=True, filters={"label": f"{L.STACK}={STACK}"})]


def web(lab: Lab) -> dict[str, tuple[str, str, str]]:
    """name -> (host, id, status) of the web containers, kept copies included."""
    return {c.name: (host, c.id, c.status) for host, c in containers(lab)
            if c.labels[L.SERVICE] == "web"}


def release(container) -> str:
    env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
    return env["RELEASE"]


def test_upgrade_then_rollback_restores_the_old_containers(lab: Lab, folder: Path) -> None:
    before = {c.name: (host, c.id, c.status) for host, c in containers(lab)}
    result = corral(lab, "upgrade", str(folder), "--stack", STACK, "--set", "RELEASE=2", "--yes")
    assert result.returncode == 0, result.stderr
    after = web(lab)
    assert {n for n in after if n.endswith(".prev")} == {"chg-web-1.prev", "chg-web-2.prev"}
    assert {after[f"{n}.prev"][1] for n in ("chg-web-1", "chg-web-2")} == {
        before["chg-web-1"][1], before["chg-web-2"][1]}
    assert all(after[n][2] == "exited" for n in after if n.endswith(".prev"))
    for _, container in containers(lab):
        if container.name in ("chg-web-1", "chg-web-2"):
            assert container.status == "running" and release(container) == "2"
    assert {c.id for _, c in containers(lab) if c.name == "chg-store-1"} == {
        before["chg-store-1"][1]}  # unchanged configuration: untouched
    again = corral(lab, "deploy", str(folder), "--stack", STACK, "--set", "RELEASE=4", "--yes")
    assert again.returncode == 1 and "awaiting `corral confirm`" in again.stderr
    result = corral(lab, "rollback", STACK, "--yes")
    assert result.returncode == 0, result.stderr
    assert {c.name: (host, c.id, c.status) for host, c in containers(lab)} == before
    row = next(line for line in corral(lab, "stacks").stdout.splitlines()
               if line.startswith(STACK))
    assert row.split()[1] == "active" and row.split()[4] == "1"  # the old generation again


def test_upgrade_then_confirm_removes_the_old_containers(lab: Lab, folder: Path) -> None:
    result = corral(lab, "upgrade", str(folder), "--stack", STACK, "--set", "RELEASE=3", "--yes")
    assert result.returncode == 0, result.stderr
    result = corral(lab, "confirm", STACK, "--yes")
    assert result.returncode == 0, result.stderr
    assert sorted(web(lab)) == ["chg-web-1", "chg-web-2"]
    assert all(release(c) == "3" for _, c in containers(lab) if c.labels[L.SERVICE] == "web")
    result = corral(lab, "deploy", str(folder), "--stack", STACK, "--set", "RELEASE=3", "--yes")
    assert "Nothing to change" in result.stdout


def test_failing_health_check_gets_the_container_recreated(lab: Lab, folder: Path) -> None:
    before = web(lab)
    host, old_id, _ = before["chg-web-1"]
    engine(lab.host(host).socket).containers.get(old_id).exec_run(["rm", "/www/health"])
    result = corral(lab, "reconcile", "--yes")
    assert result.returncode == 0, result.stderr
    assert "removed unhealthy chg-web-1" in result.stdout and "HTTP status 404" in result.stdout
    assert "only while `corral reconcile --watch`" in result.stderr
    after = web(lab)
    assert after["chg-web-1"][1] != old_id and after["chg-web-1"][2] == "running"
    assert after["chg-web-2"] == before["chg-web-2"]


def test_lost_host_is_replaced_and_trimmed_on_return(lab: Lab, folder: Path) -> None:
    lost = web(lab)["chg-web-2"][0]
    with lab.faulted(lost, "sshd-stop"):
        # The console's own passes wait for the operator while a host is out.
        with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
            report = reconcile(fleet, replace_lost=False)
        assert f"{lost} offline: nothing re-placed" in " ".join(report.actions[STACK])
        # Health is still probed where it can be: the online replica's verdict is fresh.
        kept = web(lab)["chg-web-1"][0]
        assert set(report.health) == {f"{kept}/chg-web-1"}
        assert sorted(c.name for _, c in containers(lab) if c.labels[L.SERVICE] == "web") == [
            "chg-web-1", "chg-web-2"]
        result = corral(lab, "reconcile", "--yes")
        assert result.returncode == 0, result.stderr
        assert "create chg-web-2 on" in result.stdout
        running = sorted((c.name, host) for host, c in containers(lab)
                         if c.labels[L.SERVICE] == "web" and c.status == "running")
        # The lost host still runs its copy, which Corral cannot see.
        assert [name for name, _ in running] == ["chg-web-1", "chg-web-2", "chg-web-2"]
        assert len({host for _, host in running}) == 3
    result = corral(lab, "reconcile", "--yes")
    assert result.returncode == 0, result.stderr
    assert f"remove chg-web-2 on {lost}: duplicate" in result.stdout
    copies = [(host, c.name) for host, c in containers(lab)]
    assert sorted(name for _, name in copies) == ["chg-store-1", "chg-web-1", "chg-web-2"]
    assert lost not in {host for host, name in copies if name == "chg-web-2"}


def test_rm_with_volumes_removes_them_too(lab: Lab, folder: Path) -> None:
    assert any("chg_data" in {v.name for v in engine(h.socket).volumes.list()}
               for h in lab.hosts)
    result = corral(lab, "rm", STACK, "--yes", "--volumes")
    assert result.returncode == 0, result.stderr
    assert "(REMOVED): chg_data" in result.stderr
    assert not containers(lab)
    assert not any("chg_data" in {v.name for v in engine(h.socket).volumes.list()}
                   for h in lab.hosts)
