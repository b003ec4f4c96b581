"""The Swarm engine brings images to the nodes first (issue 14): no registry in the room.

A layered image is built on lab1 for this module alone and bundled with a small
catalog entry running it globally (a task on every node), then removed from
every lab host. `deploy --bundle --engine swarm` onto the three-node swarm
pushes it from the file to lab1, lab2 and lab3 before the service is created,
and a task runs on each node; a second deploy sends nothing. Without a bundle,
an image only lab1 holds is pushed from lab1 to the other nodes.
The swarm is left at the end (`tests/support/swarm.py`).
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

import pytest

from corral.backends import labels as L
from tests.labtests.test_deploy_bundle import loads_since
from tests.support.catalog_tree import write_tree
from tests.support.deploy import corral_on
from tests.support.images import MB, build_layered_image, remove_image
from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.support.swarm import lab_swarm
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab

__all__ = ["lab_swarm"]  # the module's swarm fixture, imported for pytest

STACK = "swbundle"
NODES = ["lab1", "lab2", "lab3"]


@pytest.fixture(scope="module")
def bundled(lab: Lab, tmp_path_factory: pytest.TempPathFactory):
    """The bundle of an entry whose image no lab host holds any more."""
    repo = f"corral-test/swbundle-{uuid.uuid4().hex[:6]}"
    ref = f"{repo}:1"
    image_id = build_layered_image(engine(lab.host("lab1").socket), repo, "1",
                                   big_bytes=2 * MB)
    root = tmp_path_factory.mktemp("swbundle")
    catalog = write_tree(root / "catalog", {
        "templates/swapp/config.yml": "name: swapp\nversion: '1.0'\n",
        "templates/swapp/1/docker-compose.yml":
            f"app:\n  image: {ref}\n  command: [sleep, '3600']\n"
            "  labels:\n    io.rancher.scheduler.global: 'true'\n",
        "templates/swapp/1/rancher-compose.yml": ".catalog:\n  version: '1.0'\n",
    })
    path = root / "swapp.bundle"
    created = corral_on(lab, "bundle", "create", "swapp", "--catalog", str(catalog),
                        "-o", str(path))
    assert created.returncode == 0, created.stderr
    shutil.rmtree(catalog)
    for host in lab.hosts:
        remove_image(engine(host.socket), ref)
    yield {"ref": ref, "repo": repo, "id": image_id, "path": path}
    remove_all(lab, STACK, ref)


def remove_all(lab: Lab, stack: str, ref: str) -> None:
    """The swarm stack removed, its tasks' containers gone, then its image on every host."""
    corral_on(lab, "rm", stack, "--engine", "swarm", "--yes")
    wait_until(lambda: not any(engine(h.socket).containers.list(
        all=True, filters={"label": f"{L.STACK}={stack}"}) for h in lab.hosts),
        "the tasks' containers gone", timeout=30)
    for host in lab.hosts:
        remove_image(engine(host.socket), ref)


def running_nodes(lab: Lab, stack: str, service: str) -> set[str]:
    """The node IDs running a task of the service."""
    api = engine(lab.host("lab1").socket).api
    tasks = api.tasks(filters={"service": f"{stack}_{service}", "desired-state": "running"})
    return {t["NodeID"] for t in tasks if t["Status"]["State"] == "running"}


def node_ids(lab: Lab) -> set[str]:
    return {engine(lab.host(h).socket).info()["Swarm"]["NodeID"] for h in NODES}


def test_a_bundle_deploy_pushes_to_every_node_before_the_service(
        lab: Lab, lab_swarm: str, bundled: dict) -> None:
    path, ref = bundled["path"], bundled["ref"]
    planned = corral_on(lab, "plan", "--bundle", str(path), "--stack", STACK,
                        "--engine", "swarm", "--json")
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert plan["task_hosts"] == {"app": NODES}
    rows = {row["host"]: row for row in plan["images"]}
    assert set(rows) == set(NODES)
    for row in rows.values():
        assert (row["image"], row["action"], row["source"]) == (ref, "push",
                                                                f"bundle {path.name}")
        assert 2 * MB <= row["bytes"] < 3 * MB  # busybox is on every node: only the rest
    text = corral_on(lab, "plan", "--bundle", str(path), "--stack", STACK, "--engine", "swarm")
    assert f"push from bundle {path.name} (2." in text.stdout, text.stdout

    started = time.time()
    deployed = corral_on(lab, "deploy", "--bundle", str(path), "--stack", STACK,
                         "--engine", "swarm", "--yes")
    assert deployed.returncode == 0, deployed.stderr
    for name in NODES:
        assert engine(lab.host(name).socket).images.get(ref).id == bundled["id"]
    assert loads_since(lab, started, NODES) == {name: 1 for name in NODES}
    wait_until(lambda: running_nodes(lab, STACK, "app") == node_ids(lab),
               "a task on every node", timeout=30)

    started = time.time()
    again = corral_on(lab, "deploy", "--bundle", str(path), "--stack", STACK,
                      "--engine", "swarm", "--yes")
    assert again.returncode == 0, again.stderr
    assert "Images: 1 present on lab1, lab2, lab3." in again.stdout, again.stdout
    assert "Nothing to do" in again.stdout and "push" not in again.stdout
    assert loads_since(lab, started, NODES) == {name: 0 for name in NODES}


def test_without_a_bundle_an_image_one_node_holds_is_pushed_to_the_others(
        lab: Lab, lab_swarm: str, tmp_path: Path) -> None:
    stack = "swpush"
    repo = f"corral-test/swpush-{uuid.uuid4().hex[:6]}"
    ref = f"{repo}:1"
    image_id = build_layered_image(engine(lab.host("lab1").socket), repo, "1", big_bytes=MB)
    (tmp_path / "docker-compose.yml").write_text(
        f"version: '2'\nservices:\n  app:\n    image: {ref}\n    command: [sleep, '3600']\n"
        "    labels: {io.rancher.scheduler.global: 'true'}\n")
    try:
        planned = corral_on(lab, "plan", str(tmp_path), "--stack", stack, "--engine", "swarm",
                            "--json")
        assert planned.returncode == 0, planned.stderr
        how = {row["host"]: (row["action"], row["source"])
               for row in json.loads(planned.stdout)["images"]}
        assert how == {"lab1": ("present", ""), "lab2": ("push", "lab1"),
                       "lab3": ("push", "lab1")}
        deployed = corral_on(lab, "deploy", str(tmp_path), "--stack", stack,
                             "--engine", "swarm", "--yes")
        assert deployed.returncode == 0, deployed.stderr
        assert "lab2     push     " in deployed.stderr, deployed.stderr
        for name in NODES:
            assert engine(lab.host(name).socket).images.get(ref).id == image_id
        wait_until(lambda: running_nodes(lab, stack, "app") == node_ids(lab),
                   "a task on every node", timeout=30)
    finally:
        remove_all(lab, stack, ref)
