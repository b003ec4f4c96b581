"""`deploy --bundle` / `plan --bundle` and the bundle as a catalog source, without hosts
(issue 13: the entry from the bundle, verified first; a bad bundle changes nothing)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from corral.backends.images import write_bundle
from corral.tui.catalog_sources import load_sources, open_bundle_catalog
from corral.tui.cli.deploy_args import render_source
from corral.tui.cli.main import build_parser
from tests.support.deploy import corral_here
from tests.support.no_host import unreachable_inventory
from tests.unit.backends.images_fakes import FakeSource, Image, layer_tar


def bundle(tmp_path: Path) -> Path:
    image = Image("corral-test/one:1", [layer_tar("base"), layer_tar("top")])
    folder = tmp_path / "entry"
    (folder / "0").mkdir(parents=True)
    (folder / "config.yml").write_text("name: One\nversion: '1.0'\n")
    (folder / "0" / "docker-compose.yml").write_text(
        "app:\n  image: corral-test/one:1\n  command: [sleep, '${NAP}']\n")
    (folder / "0" / "rancher-compose.yml").write_text(
        ".catalog:\n  version: '1.0'\n  questions:\n    - variable: NAP\n"
        "      type: int\n      default: 60\n")
    path = tmp_path / "one.bundle"
    write_bundle(path, [("config.yml", folder / "config.yml"),
                        ("0/docker-compose.yml", folder / "0" / "docker-compose.yml"),
                        ("0/rancher-compose.yml", folder / "0" / "rancher-compose.yml")],
                 {"id": "one", "version": "1.0", "revision": "0"},
                 [(image.tag, FakeSource(image))])
    return path


def test_the_bundle_is_a_catalog_of_its_entry_in_a_private_folder_removed_after(
        tmp_path: Path) -> None:
    path = bundle(tmp_path)
    with open_bundle_catalog(path) as opened:
        root = opened.catalog.root
        assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
        catalogs, _ = load_sources((), (), builtin=True, bundles=[opened.catalog])
        entry = catalogs.find("one.bundle:one")
        assert entry is opened.entry and opened.holds(entry) and entry.name == "One"
        assert opened.version().version == "1.0"
        assert opened.source.inspect("corral-test/one:1")["RepoTags"] == ["corral-test/one:1"]
    assert not root.exists()


def test_render_source_takes_the_entry_and_answers_with_the_bundle(tmp_path: Path) -> None:
    path = bundle(tmp_path)
    args = build_parser().parse_args(["deploy", "--bundle", str(path), "--stack", "s",
                                      "--set", "NAP=5"])
    stack, answers, source = render_source(args)
    assert stack.entry == "one" and stack.service("app").command == ("sleep", "5")
    assert source is not None and source.name == "bundle one.bundle"


def corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    at = data.index(b"image: corral-test/one:1")
    data[at] ^= 1
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("verb", ["deploy", "plan"])
def test_a_corrupted_or_truncated_bundle_is_one_line_and_no_host_is_contacted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verb: str) -> None:
    path = bundle(tmp_path)
    inventory = unreachable_inventory(monkeypatch, tmp_path, "hosts:\n  - name: h1\n"
                                      "    ssh: root@192.0.2.1\n", "a bad bundle reached a host")
    yes = ["--yes"] if verb == "deploy" else []
    corrupt(path)
    result = corral_here(verb, "--bundle", str(path), "--stack", "s", *yes,
                         "--inventory", str(inventory))
    assert result.returncode == 1 and not result.stdout
    assert result.stderr == (f"corral: {path}: entry/0/docker-compose.yml: sha256 does not "
                             "match the manifest (corrupted)\n")
    (tmp_path / "again").mkdir()
    path = bundle(tmp_path / "again")
    path.write_bytes(path.read_bytes()[:3000])
    result = corral_here(verb, "--bundle", str(path), "--stack", "s", *yes,
                         "--inventory", str(inventory))
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"corral: {path}: ") and "truncated" in result.stderr


def test_an_entry_other_than_the_bundles_is_refused(tmp_path: Path) -> None:
    path = bundle(tmp_path)
    result = corral_here("plan", "other", "--bundle", str(path), "--stack", "s")
    assert result.returncode == 2
    assert result.stderr == f"corral: {path} holds entry one, not other\n"


def test_images_push_from_a_file_reads_the_bundle_before_any_host(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = bundle(tmp_path)
    inventory = unreachable_inventory(monkeypatch, tmp_path, "hosts:\n  - name: h1\n"
                                      "    ssh: root@192.0.2.1\n", "a bad bundle reached a host")
    path.write_bytes(path.read_bytes()[:3000])
    result = corral_here("images", "push", "corral-test/one:1", "--to", "h1",
                         "--from", str(path), "--inventory", str(inventory))
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"corral: {path}: ") and "truncated" in result.stderr
    gone = tmp_path / "gone.bundle"
    result = corral_here("images", "push", "corral-test/one:1", "--to", "h1",
                         "--from", str(gone), "--inventory", str(inventory))
    assert result.stderr == f"corral: {gone}: No such file or directory\n"
