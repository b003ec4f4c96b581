"""An archive is checked before it is put into a volume: every escape named, nothing sent."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from corral.backends.errors import BadArchive
from corral.backends.volumes import check_archive, parse_volume_ref


def member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"x",
           link: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def archive(path: Path, *members: tuple[tarfile.TarInfo, bytes], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def test_a_volume_export_passes(tmp_path: Path) -> None:
    path = archive(tmp_path / "ok.tar", member(".", tarfile.DIRTYPE),
                   member("./d", tarfile.DIRTYPE), member("./d/f", data=b"hello"),
                   member("./l", tarfile.SYMTYPE, link="/etc/passwd"),
                   member("./h", tarfile.LNKTYPE, link="./d/f"))
    summary = check_archive(path)
    assert (summary.members, summary.content_bytes) == (5, 5)
    assert summary.file_bytes == path.stat().st_size


def test_a_compressed_archive_is_read_through(tmp_path: Path) -> None:
    path = archive(tmp_path / "ok.tar.gz", member("f"), mode="w:gz")
    assert check_archive(path).members == 1


@pytest.mark.parametrize(("members", "named", "why"), [
    ([member("/etc/cron.d/x")], "/etc/cron.d/x", "an absolute path"),
    ([member("./../../x")], "./../../x", "climbs out with '..'"),
    ([member("d/../../x")], "d/../../x", "climbs out with '..'"),
    ([member("./l", tarfile.SYMTYPE, link="/etc"), member("./l/passwd")], "./l/passwd",
     "a path through the symlink 'l'"),
    ([member("h", tarfile.LNKTYPE, link="../outside")], "h", "a hard link to '../outside'"),
    ([member("h", tarfile.LNKTYPE, link="/etc/shadow")], "h", "a hard link to '/etc/shadow'"),
    ([member("dev", tarfile.CHRTYPE)], "dev", "a device file"),
])
def test_an_escaping_member_is_named_with_the_file(tmp_path: Path, members, named, why) -> None:
    path = archive(tmp_path / "bad.tar", member("./fine"), *members)
    with pytest.raises(BadArchive) as caught:
        check_archive(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: member {named!r} is ")
    assert why in text
    assert "\n" not in text
    assert caught.value.exit_code == 2


def test_a_file_that_is_not_a_tar(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n" * 200)
    with pytest.raises(BadArchive, match=r"notes.txt: not a tar archive"):
        check_archive(path)


def test_an_empty_or_missing_file(tmp_path: Path) -> None:
    empty = archive(tmp_path / "empty.tar")
    with pytest.raises(BadArchive, match=r"empty.tar: an empty tar archive"):
        check_archive(empty)
    with pytest.raises(BadArchive, match=r"missing.tar: No such file"):
        check_archive(tmp_path / "missing.tar")


def test_a_truncated_archive(tmp_path: Path) -> None:
    path = archive(tmp_path / "t.tar", member("a", data=b"a" * 5000), member("b", data=b"b" * 5000))
    path.write_bytes(path.read_bytes()[:7000])
    with pytest.raises(BadArchive, match=r"t.tar: cut short or damaged after"):
        check_archive(path)


@pytest.mark.parametrize(("text", "default", "host", "volume"), [
    ("lab1/data", None, "lab1", "data"),
    ("lab2", "data", "lab2", "data"),
    ("lab2/other", "data", "lab2", "other"),
])
def test_volume_refs(text, default, host, volume) -> None:
    ref = parse_volume_ref(text, default_volume=default)
    assert (ref.host, ref.volume) == (host, volume)


@pytest.mark.parametrize("text", ["lab1", "/data", "lab1/", "lab1/a/b", "lab1/-x", "lab1/a b"])
def test_bad_volume_refs(text) -> None:
    with pytest.raises(ValueError, match="bad volume"):
        parse_volume_ref(text)
