"""Rancher `per_container` volumes on the lab: one volume per replica, even on one host."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.backends import labels as L
from tests.support.deploy import corral_on as corral
from tests.support.lab import Lab
from tests.support.lab_cli import engine

pytestmark = pytest.mark.lab

STACK = "pcv"
COMPOSE = """\
version: '2'
services:
  db:
    image: corral-lab/busybox:1
    command: ["sh", "-c", "hostname > /data/owner && exec sleep 3600"]
    volumes:
      - data:/data
      - shared:/shared
    labels:
      io.rancher.scheduler.affinity:host_label: zone=b
volumes:
  data:
    per_container: true
  shared: {}
"""
RANCHER = """\
version: '2'
catalog:
  name: pcv
  version: "1"
services:
  db:
    scale: 2
"""



def volume_names(lab: Lab) -> set[tuple[str, str]]:
    """(host, volume) of the stack's volumes on every engine."""
    return {(host.name, v.name) for host in lab.hosts for v in engine(host.socket).volumes.list(
        filters={"label": f"{L.STACK}={STACK}"}) if v.name.startswith(f"{STACK}_")}


def test_per_container_volume_is_one_per_replica(lab: Lab, tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    (tmp_path / "rancher-compose.yml").write_text(RANCHER)
    zone_b = next(host for host in lab.hosts if host.labels.get("zone") == "b")
    try:
        result = corral(lab, "deploy", str(tmp_path), "--stack", STACK, "--yes")
        assert result.returncode == 0, result.stderr
        assert volume_names(lab) == {(zone_b.name, f"{STACK}_data_db-1"),
                                     (zone_b.name, f"{STACK}_data_db-2"),
                                     (zone_b.name, f"{STACK}_shared")}
        client = engine(zone_b.socket)
        for index in (1, 2):
            container = client.containers.get(f"{STACK}-db-{index}")
            mounts = {m["Destination"]: m.get("Name") for m in container.attrs["Mounts"]}
            assert mounts == {"/data": f"{STACK}_data_db-{index}", "/shared": f"{STACK}_shared"}
            owner = container.exec_run(["cat", "/data/owner"]).output.decode().strip()
            assert owner == container.attrs["Config"]["Hostname"]

        again = corral(lab, "deploy", str(tmp_path), "--stack", STACK, "--yes")
        assert again.returncode == 0, again.stderr
        assert "nothing to change" in (again.stdout + again.stderr).lower(), again.stdout

        removed = corral(lab, "rm", STACK, "--yes", "--volumes")
        assert removed.returncode == 0, removed.stderr
        assert not volume_names(lab)
    finally:
        corral(lab, "rm", STACK, "--yes", "--volumes")
