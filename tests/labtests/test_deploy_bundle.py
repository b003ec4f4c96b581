"""Deploy from a bundle, with no local engine and no host holding the image (issue 13).

A layered image is built on lab1 for this module alone, bundled with a small
catalog entry, then removed from lab1: from then on only the bundle holds it.
A corrupted and a truncated copy are refused in one line before any host
changes; `deploy --bundle` pushes the image from the file to lab2 and lab3
(the air-gapped one) and the stack runs; a second deploy sends nothing;
`images push --from FILE` puts it back on lab1.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import time
import uuid
from pathlib import Path

import docker
import pytest

from corral.backends import labels as L
from tests.labtests.test_deploy_images import inventory_of
from tests.support.catalog_tree import write_tree
from tests.support.deploy import corral_here, corral_on
from tests.support.images import MB, build_layered_image, remove_image
from tests.support.lab import Lab
from tests.support.lab_cli import engine

pytestmark = pytest.mark.lab

STACK = "sneakerdeploy"
TARGETS = ["lab2", "lab3"]


@pytest.fixture(scope="module")
def bundled(lab: Lab, tmp_path_factory: pytest.TempPathFactory):
    """The bundle of an entry whose image no lab host holds any more."""
    repo = f"corral-test/bdeploy-{uuid.uuid4().hex[:6]}"
    ref = f"{repo}:1"
    marker = uuid.uuid4().hex
    image_id = build_layered_image(engine(lab.host("lab1").socket), repo, "1",
                                   big_bytes=4 * MB, marker=marker)
    root = tmp_path_factory.mktemp("bdeploy")
    catalog = write_tree(root / "catalog", {
        "templates/sneakerapp/config.yml": "name: sneakerapp\nversion: '2.0'\n",
        "templates/sneakerapp/3/docker-compose.yml":
            f"app:\n  image: {ref}\n  command: [sleep, '${{NAP}}']\n"
            "  labels:\n    io.rancher.scheduler.global: 'true'\n",
        "templates/sneakerapp/3/rancher-compose.yml":
            ".catalog:\n  version: '2.0'\n  questions:\n    - variable: NAP\n"
            "      type: int\n      default: 3600\n",
    })
    path = root / "sneakerapp.bundle"
    created = corral_on(lab, "bundle", "create", "sneakerapp", "--catalog", str(catalog),
                        "-o", str(path))
    assert created.returncode == 0, created.stderr
    shutil.rmtree(catalog)  # the entry comes from the bundle alone
    for host in lab.hosts:
        remove_image(engine(host.socket), ref)
    assert not any(engine(h.socket).images.list(name=repo) for h in lab.hosts)
    options = inventory_of(lab, root / "targets.yaml", TARGETS)
    yield {"ref": ref, "repo": repo, "id": image_id, "marker": marker, "path": path,
           "options": options}
    corral_here("rm", STACK, "--yes", *options)
    for host in lab.hosts:
        remove_image(engine(host.socket), ref)


@pytest.fixture(autouse=True)
def no_local_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing may reach an engine on this machine: none answers at DOCKER_HOST."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/corral-test/docker.sock")


def host_state(lab: Lab) -> dict[str, tuple[set[str], set[str]]]:
    """Per target: its image IDs and its container IDs."""
    state = {}
    for name in TARGETS:
        client = engine(lab.host(name).socket)
        state[name] = ({i.id for i in client.images.list(all=True)},
                       {c.id for c in client.containers.list(all=True)})
    return state


def loads_since(lab: Lab, since: float, hosts: list[str] = TARGETS) -> dict[str, int]:
    """Per host (default: the targets), the image loads its engine reported since `since`."""
    counts = {}
    for name in hosts:
        events = engine(lab.host(name).socket).events(
            since=int(since), until=int(time.time()) + 1, decode=True,
            filters={"type": "image", "event": "load"})
        counts[name] = sum(1 for _ in events)
    return counts


def damaged(bundled: dict, tmp_path: Path, how: str) -> tuple[Path, str]:
    """A copy with one byte of the biggest layer flipped, or cut inside that layer."""
    copy = tmp_path / f"{how}.bundle"
    shutil.copyfile(bundled["path"], copy)
    with tarfile.open(copy) as tar:
        layer = max((info for info in tar.getmembers() if info.name.startswith("layers/")),
                    key=lambda info: info.size)
    with open(copy, "r+b") as handle:
        if how == "truncated":
            handle.truncate(layer.offset_data + layer.size // 2)
        else:
            handle.seek(layer.offset_data + layer.size // 3)
            byte = handle.read(1)
            handle.seek(-1, 1)
            handle.write(bytes([byte[0] ^ 1]))
    return copy, layer.name


@pytest.mark.parametrize("how", ["corrupted", "truncated"])
def test_a_damaged_bundle_is_one_line_and_nothing_reaches_the_hosts(
        lab: Lab, bundled: dict, tmp_path: Path, how: str) -> None:
    copy, member = damaged(bundled, tmp_path, how)
    before, started = host_state(lab), time.time()
    result = corral_here("deploy", "--bundle", str(copy), "--stack", STACK, "--yes",
                         *bundled["options"])
    assert result.returncode == 1 and not result.stdout
    assert result.stderr.count("\n") == 1, result.stderr
    expected = ("sha256 does not match the manifest (corrupted)" if how == "corrupted"
                else "truncated")
    assert result.stderr.startswith(f"corral: {copy}: ") and expected in result.stderr
    if how == "corrupted":
        assert f": {member}: " in result.stderr
    assert host_state(lab) == before
    assert loads_since(lab, started) == {name: 0 for name in TARGETS}


def test_deploy_pushes_the_images_from_the_bundle_and_the_stack_runs(
        lab: Lab, bundled: dict) -> None:
    path, ref = bundled["path"], bundled["ref"]
    plan = corral_here("plan", "--bundle", str(path), "--stack", STACK, "--json",
                       *bundled["options"])
    assert plan.returncode == 0, plan.stderr
    rows = {row["host"]: row for row in json.loads(plan.stdout)["images"]}
    assert set(rows) == set(TARGETS)
    for row in rows.values():
        assert (row["image"], row["action"], row["source"]) == (ref, "push",
                                                                f"bundle {path.name}")
        # The busybox base is on every lab host: only the image's own layers go.
        assert 4 * MB <= row["bytes"] < 5 * MB
    text = corral_here("plan", "--bundle", str(path), "--stack", STACK, *bundled["options"])
    assert f"push from bundle {path.name} (4." in text.stdout

    started = time.time()
    deployed = corral_here("deploy", "--bundle", str(path), "--stack", STACK, "--yes",
                           *bundled["options"])
    assert deployed.returncode == 0, deployed.stderr
    for name in TARGETS:
        client = engine(lab.host(name).socket)
        assert client.images.get(ref).id == bundled["id"]
        [container] = client.containers.list(filters={"label": f"{L.STACK}={STACK}"})
        assert container.status == "running" and container.image.id == bundled["id"]
        marker = container.exec_run(["cat", "/etc/corral-marker"]).output.decode().strip()
        assert marker == bundled["marker"]
    assert loads_since(lab, started) == {name: 1 for name in TARGETS}
    assert not engine(lab.host("lab1").socket).images.list(name=bundled["repo"])

    started = time.time()
    again = corral_here("deploy", "--bundle", str(path), "--stack", STACK, "--yes",
                        *bundled["options"])
    assert again.returncode == 0, again.stderr
    assert "Nothing to change" in again.stdout and "push" not in again.stdout
    assert loads_since(lab, started) == {name: 0 for name in TARGETS}


def test_images_push_from_the_bundle_file(lab: Lab, bundled: dict) -> None:
    lab1 = engine(lab.host("lab1").socket)
    with pytest.raises(docker.errors.ImageNotFound):
        lab1.images.get(bundled["ref"])
    pushed = corral_on(lab, "images", "push", bundled["ref"], "--to", "lab1",
                       "--from", str(bundled["path"]), "--json")
    assert pushed.returncode == 0, pushed.stderr
    [line] = [json.loads(text) for text in pushed.stdout.splitlines()]
    assert line["ok"] and line["source"] == f"bundle {bundled['path'].name}"
    assert line["mode"] == "partial" and line["layers_present"] >= 1
    assert lab1.images.get(bundled["ref"]).id == bundled["id"]
    again = corral_on(lab, "images", "push", bundled["ref"], "--to", "lab1",
                      "--from", str(bundled["path"]))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"lab1: {bundled['ref']} already there: nothing sent"
