"""`corral bundle verify`: ok on a sound bundle, one line naming the bad member otherwise
(issue 13, item 3)."""

from __future__ import annotations

from pathlib import Path

from corral.backends.images import write_bundle
from tests.support.deploy import corral_here
from tests.unit.backends.images_fakes import FakeSource, Image, layer_tar


def bundle(tmp_path: Path) -> Path:
    image = Image("corral-test/one:1", [layer_tar("base"), layer_tar("top")])
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("app:\n  image: corral-test/one:1\n")
    path = tmp_path / "one.bundle"
    write_bundle(path, [("0/docker-compose.yml", compose)],
                 {"id": "one", "version": "1.0", "revision": "0"},
                 [(image.tag, FakeSource(image))])
    return path


def test_verify_says_ok_with_what_the_bundle_holds(tmp_path: Path) -> None:
    path = bundle(tmp_path)
    result = corral_here("bundle", "verify", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{path}: ok, 4 members (")
    assert result.stdout.rstrip().endswith("one 1.0, images corral-test/one:1.")


def test_verify_names_a_truncated_file_in_one_line(tmp_path: Path) -> None:
    path = bundle(tmp_path)
    path.write_bytes(path.read_bytes()[:3000])
    result = corral_here("bundle", "verify", str(path))
    assert result.returncode == 1 and not result.stdout
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"corral: {path}: ") and "truncated" in result.stderr


def test_verify_of_a_missing_file_is_one_line(tmp_path: Path) -> None:
    result = corral_here("bundle", "verify", str(tmp_path / "nope.bundle"))
    assert result.returncode == 1
    assert result.stderr == f"corral: {tmp_path / 'nope.bundle'}: No such file or directory\n"
