"""Bundles for sneakernet against the lab (issue 13, item 3).

A layered image is committed on lab1; a small catalog entry runs it next to the
lab's busybox (whose layer it shares). `corral bundle create` reads both from lab1
into one file, `bundle verify` checks it, a flipped byte is named; the bundle then
pushes the image to lab2, which lacks it: same image ID, a container runs from it.
A corrupted bundle pushed to lab3 leaves nothing tagged there.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import uuid
from pathlib import Path

import pytest

from corral.backends.errors import BundleError
from corral.backends.images import BundleSource, push_image
from tests.support.catalog_tree import write_tree
from tests.support.deploy import corral_on
from tests.support.images import BASE_IMAGE, MB, build_layered_image
from tests.support.lab import Lab
from tests.support.lab_cli import engine, running_fleet

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def bundled(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The image on lab1, a catalog entry using it, and the bundle `create` wrote."""
    repo = f"corral-test/bundled-{uuid.uuid4().hex[:6]}"
    marker = uuid.uuid4().hex
    image_id = build_layered_image(engine(lab.host("lab1").socket), repo, "1",
                                   big_bytes=3 * MB, marker=marker)
    root = tmp_path_factory.mktemp("bundle")
    catalog = write_tree(root / "catalog", {
        "templates/sneaker/config.yml": "name: sneaker\nversion: '1.0'\n",
        "templates/sneaker/0/docker-compose.yml":
            f"app:\n  image: {repo}:1\n  command: [sleep, '3600']\n"
            f"base:\n  image: {BASE_IMAGE}\n  command: [sleep, '${{NAP}}']\n",
        "templates/sneaker/0/rancher-compose.yml":
            ".catalog:\n  version: '1.0'\n  questions:\n    - variable: NAP\n"
            "      type: int\n      default: 60\n",
    })
    path = root / "sneaker.bundle"
    created = corral_on(lab, "bundle", "create", "sneaker", "--catalog", str(catalog),
                        "--set", "NAP=30", "-o", str(path))
    assert created.returncode == 0, created.stderr
    return {"ref": f"{repo}:1", "id": image_id, "marker": marker, "path": path,
            "stdout": created.stdout}


def test_create_writes_each_layer_once_and_verify_passes(lab: Lab, bundled: dict) -> None:
    assert "sneaker 1.0, 2 image(s) from lab1" in bundled["stdout"]
    with tarfile.open(bundled["path"]) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    images = {image["id"]: image for image in manifest["images"]}
    assert bundled["id"] in images
    assert images[bundled["id"]]["repo_tags"] == [bundled["ref"]]
    diff_ids = {d for image in manifest["images"] for d in image["layers"]}
    shared = set.intersection(*(set(image["layers"]) for image in manifest["images"]))
    assert shared  # busybox's layer is in both images, stored once:
    assert sum(name.startswith("layers/") for name in names) == len(diff_ids)
    assert "entry/0/docker-compose.yml" in names and "entry/config.yml" in names
    checked = corral_on(lab, "bundle", "verify", str(bundled["path"]))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"{bundled['path']}: ok, {len(names) - 1} members")


def corrupted_copy(bundled: dict, tmp_path: Path) -> tuple[Path, str]:
    """A copy of the bundle with one byte of the image's biggest layer flipped."""
    copy = tmp_path / "corrupt.bundle"
    shutil.copyfile(bundled["path"], copy)
    with tarfile.open(copy) as tar:
        layer = max((info for info in tar.getmembers() if info.name.startswith("layers/")),
                    key=lambda info: info.size)
    with open(copy, "r+b") as handle:
        handle.seek(layer.offset_data + layer.size // 3)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 1]))
    return copy, layer.name


def test_one_flipped_byte_is_named_by_verify(lab: Lab, bundled: dict, tmp_path: Path) -> None:
    copy, member = corrupted_copy(bundled, tmp_path)
    checked = corral_on(lab, "bundle", "verify", str(copy))
    assert checked.returncode == 1
    assert checked.stderr == (f"corral: {copy}: {member}: sha256 does not match the "
                              "manifest (corrupted)\n")


def test_a_push_from_the_bundle_gives_lab2_the_same_image(lab: Lab, bundled: dict) -> None:
    lab2 = engine(lab.host("lab2").socket)
    assert not lab2.images.list(name=bundled["ref"].split(":")[0])
    with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
        report = push_image(BundleSource(bundled["path"]), fleet.session("lab2"),
                            bundled["ref"])
    assert report.image_id == bundled["id"]
    assert report.mode == "partial" and report.layers_present >= 1  # busybox was there
    assert lab2.images.get(bundled["ref"]).id == bundled["id"]
    output = lab2.containers.run(bundled["ref"], ["cat", "/etc/corral-marker"], remove=True)
    assert output.decode().strip() == bundled["marker"]


def test_a_corrupted_bundle_push_leaves_nothing_tagged(
        lab: Lab, bundled: dict, tmp_path: Path) -> None:
    copy, member = corrupted_copy(bundled, tmp_path)
    lab3 = engine(lab.host("lab3").socket)
    before = {image.id for image in lab3.images.list(all=True)}
    with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet), \
            pytest.raises(BundleError, match=f"{member}: sha256 does not match"):
        push_image(BundleSource(copy), fleet.session("lab3"), bundled["ref"])
    assert not lab3.images.list(name=bundled["ref"].split(":")[0])
    assert {image.id for image in lab3.images.list(all=True)} == before
