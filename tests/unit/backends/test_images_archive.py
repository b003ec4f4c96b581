"""The streaming tar filter (corral.backends.images.archive) on small synthetic archives."""

from __future__ import annotations

import io
import tarfile
import tracemalloc
from collections.abc import Iterator

import pytest

from corral.backends.errors import ImageArchiveError
from corral.backends.images.archive import FilterStats, filter_archive
from tests.unit.backends.images_fakes import Image, chunked, layer_tar


def members(data: bytes) -> dict[str, bytes]:
    """Name -> content of every member of a tar (directories: empty)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {info.name: tar.extractfile(info).read() if info.isfile() else b""
                for info in tar.getmembers()}


IMAGE = Image("app:1", [layer_tar("base", 5000), layer_tar("mid", 700), layer_tar("top", 40)])


@pytest.mark.parametrize("size", [1, 511, 512, 513, 7777, 1 << 20])
def test_the_filter_drops_exactly_the_named_members_whatever_the_chunking(size: int) -> None:
    archive = IMAGE.archive()
    drop = {f"{IMAGE.dirs[0]}/layer.tar"}
    stats = FilterStats()
    out = b"".join(filter_archive(chunked(archive, size), drop, stats))
    expected = {name: data for name, data in members(archive).items() if name not in drop}
    assert members(out) == expected
    assert stats.skipped == sorted(drop)
    assert stats.skipped_bytes == len(IMAGE.layers[0])
    assert stats.bytes_in == len(archive) and stats.bytes_out == len(out)
    assert len(archive) - len(out) == 512 + len(IMAGE.layers[0]) + (-len(IMAGE.layers[0]) % 512)
    assert stats.kept_layer_bytes == sum(len(layer) for layer in IMAGE.layers[1:])
    assert stats.manifest and stats.manifest[0]["RepoTags"] == ["app:1"]


def test_dropping_nothing_passes_the_archive_through_byte_for_byte() -> None:
    archive = IMAGE.archive()
    assert b"".join(filter_archive(chunked(archive, 1000), set())) == archive


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_long_names_drop_with_their_extension_headers(fmt: int) -> None:
    long_dir = "d" * 140  # past ustar's 100 bytes: a PAX record or a GNU long name
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for name, data in ((f"{long_dir}/layer.tar", b"x" * 3000), ("keep.txt", b"kept"),
                           (f"{long_dir}/json", b"{}")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    stats = FilterStats()
    out = b"".join(filter_archive(chunked(buffer.getvalue(), 100),
                                  {f"{long_dir}/layer.tar"}, stats))
    assert members(out) == {"keep.txt": b"kept", f"{long_dir}/json": b"{}"}
    assert stats.skipped == [f"{long_dir}/layer.tar"]


def test_a_predicate_may_choose_what_to_drop() -> None:
    out = b"".join(filter_archive([IMAGE.archive()], lambda name: name.endswith("layer.tar")))
    assert not [name for name in members(out) if name.endswith("layer.tar")]


def test_a_truncated_archive_is_an_error() -> None:
    archive = IMAGE.archive()
    with pytest.raises(ImageArchiveError, match="truncated"):
        b"".join(filter_archive(chunked(archive[:3000], 512), set()))


def test_garbage_is_not_taken_for_a_tar() -> None:
    with pytest.raises(ImageArchiveError, match="not a tar"):
        b"".join(filter_archive([b"<html>" + b"x" * 600], set()))


def test_the_manifest_is_seen_before_any_byte_after_it_goes_out() -> None:
    archive = IMAGE.archive()
    out = bytearray()

    def refuse(manifest: list) -> None:
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        for piece in filter_archive(chunked(archive, 100_000), set(), on_manifest=refuse):
            out += piece
    assert out == b""  # one chunk holds all of it: nothing of it went out
    out.clear()
    with pytest.raises(RuntimeError):
        for piece in filter_archive(chunked(archive, 512), set(), on_manifest=refuse):
            out += piece
    assert b'"Layers"' not in out[-512:] and b"repositories" not in out


def stream_of_a_big_layer(size: int, chunk: int) -> Iterator[bytes]:
    """A tar with one `size`-byte member, made on the fly (never held)."""
    info = tarfile.TarInfo("big/layer.tar")
    info.size = size
    yield info.tobuf(tarfile.USTAR_FORMAT)
    block = bytes(chunk)
    for _ in range(size // chunk):
        yield block
    for name in ("manifest.json",):
        data = b"[]"
        info = tarfile.TarInfo(name)
        info.size = len(data)
        yield info.tobuf(tarfile.USTAR_FORMAT) + data + bytes(510) + bytes(1024)


@pytest.mark.parametrize("drop", [set(), {"big/layer.tar"}])
def test_memory_stays_flat_through_a_big_member(drop: set[str]) -> None:
    chunk, size = 1 << 20, 64 << 20
    stats = FilterStats()
    tracemalloc.start()
    try:
        biggest = 0
        for piece in filter_archive(stream_of_a_big_layer(size, chunk), drop, stats):
            biggest = max(biggest, len(piece))
            del piece
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stats.bytes_in == size + 3 * 512 + 1024
    assert biggest <= chunk + 2048
    assert peak < 4 * chunk  # a few chunks at most, not the 64 MiB member
