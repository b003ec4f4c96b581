"""Bundle files on synthetic archives: one copy per layer, checked bytes, hostile files
(issue 13, item 3)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from corral.backends.errors import BundleError
from corral.backends.images import (
    BundleSource,
    open_bundle,
    push_image,
    verify_bundle,
    write_bundle,
)
from tests.unit.backends.images_fakes import FakeApi, FakeSource, FakeTarget, Image, layer_tar

BASE = layer_tar("base", 5000)
SHARED = layer_tar("shared", 7000)


@pytest.fixture
def images() -> tuple[Image, Image]:
    one = Image("corral-test/one:1", [BASE, SHARED, layer_tar("one")], top_name="a" * 64)
    two = Image("corral-test/two:1", [BASE, SHARED, layer_tar("two")], top_name="b" * 64)
    return one, two


@pytest.fixture
def entry(tmp_path: Path) -> list[tuple[str, Path]]:
    folder = tmp_path / "entry"
    (folder / "0").mkdir(parents=True)
    (folder / "config.yml").write_text("name: demo\nversion: '1'\n")
    (folder / "0" / "docker-compose.yml").write_text("web:\n  image: corral-test/one:1\n")
    return [("config.yml", folder / "config.yml"),
            ("0/docker-compose.yml", folder / "0" / "docker-compose.yml")]


def make(tmp_path: Path, images: tuple[Image, Image], entry, chunk: int = 1000) -> Path:
    source = FakeSource(*images)
    path = tmp_path / "demo.bundle"
    write_bundle(path, entry, {"id": "demo", "version": "1", "revision": "0"},
                 [(image.tag, source) for image in images], chunk_size=chunk)
    return path


def members(path: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(path) as tar:
        return {info.name: info for info in tar.getmembers()}


def test_a_layer_shared_by_two_images_is_stored_once(tmp_path, images, entry) -> None:
    path = make(tmp_path, images, entry)
    names = members(path)
    layers = sorted(name for name in names if name.startswith("layers/"))
    assert len(layers) == 4  # base, shared, one's top, two's top
    assert list(names)[-1] == "manifest.json"
    with tarfile.open(path) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert len(open_bundle(path).images) == 2
    assert [image["layers"] for image in manifest["images"]] == [
        images[0].diff_ids, images[1].diff_ids]
    assert manifest["entry"]["files"] == ["entry/config.yml", "entry/0/docker-compose.yml"]
    listed = {item["name"]: item for item in manifest["members"]}
    assert set(listed) == set(names) - {"manifest.json"}
    report = verify_bundle(path)
    assert report.members == len(names) - 1
    assert report.images == ["corral-test/one:1", "corral-test/two:1"]


def test_the_source_gives_an_archive_docker_load_reads(tmp_path, images, entry) -> None:
    path = make(tmp_path, images, entry)
    source = BundleSource(path)
    one = images[0]
    assert source.inspect(one.tag)["Id"] == one.id
    archive = b"".join(source.archive(one.tag, 4096))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        assert manifest[0]["RepoTags"] == [one.tag]
        assert tar.extractfile(manifest[0]["Config"]).read() == one.config
        assert [tar.extractfile(name).read() for name in manifest[0]["Layers"]] == one.layers
        # Layer directories below the top are named as Docker 20.10 names them.
        assert [name.split("/")[0] for name in manifest[0]["Layers"]][:-1] == one.dirs[:-1]


def test_a_push_from_a_bundle_skips_the_layers_the_target_holds(
        tmp_path, images, entry) -> None:
    path = make(tmp_path, images, entry)
    api = FakeApi()
    api.hold(images[0])
    report = push_image(BundleSource(path), FakeTarget(api), images[1].tag)
    assert report.mode == "partial" and report.layers_present == 2
    assert api.tags[images[1].tag] == images[1].id


def corrupt(path: Path, member: str) -> None:
    info = members(path)[member]
    with open(path, "r+b") as handle:
        handle.seek(info.offset_data + info.size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))


def test_a_corrupted_member_is_named_and_nothing_is_loaded(tmp_path, images, entry) -> None:
    path = make(tmp_path, images, entry)
    member = f"layers/{images[0].diff_ids[1].removeprefix('sha256:')}.tar"
    corrupt(path, member)
    with pytest.raises(BundleError) as caught:
        verify_bundle(path)
    assert str(caught.value) == (f"{path}: {member}: sha256 does not match the manifest "
                                 "(corrupted)")
    api = FakeApi()
    with pytest.raises(BundleError, match=member):
        push_image(BundleSource(path), FakeTarget(api), images[0].tag)
    assert not api.tags and not api.bodies


def test_a_corrupted_entry_file_is_named(tmp_path, images, entry) -> None:
    path = make(tmp_path, images, entry)
    corrupt(path, "entry/0/docker-compose.yml")
    with pytest.raises(BundleError, match="entry/0/docker-compose.yml: sha256"):
        verify_bundle(path)


@pytest.mark.parametrize("cut", ["half", "inside the manifest", "after the manifest"])
def test_a_truncated_file_is_refused_in_one_line(tmp_path, images, entry, cut) -> None:
    path = make(tmp_path, images, entry)
    data = path.read_bytes()
    manifest = members(path)["manifest.json"]
    keep = {"half": len(data) // 2, "inside the manifest": manifest.offset_data + 10,
            "after the manifest": manifest.offset_data + manifest.size}[cut]
    path.write_bytes(data[:keep])
    with pytest.raises(BundleError) as caught:
        verify_bundle(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert "truncated" in message


def hostile(tmp_path: Path, name: str, kind: bytes = tarfile.REGTYPE) -> Path:
    path = tmp_path / "hostile.bundle"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo(name)
        info.type = kind
        if kind == tarfile.SYMTYPE:
            info.linkname = "/etc/passwd"
            tar.addfile(info)
        else:
            info.size = 2
            tar.addfile(info, io.BytesIO(b"hi"))
    return path


@pytest.mark.parametrize("name", ["../escape", "entry/../../escape", "/etc/passwd",
                                  "entry/./x"])
def test_member_paths_out_of_the_bundle_are_refused(tmp_path, name) -> None:
    path = hostile(tmp_path, name)
    with pytest.raises(BundleError, match="unsafe member path"):
        verify_bundle(path)


def test_links_are_refused(tmp_path) -> None:
    with pytest.raises(BundleError, match="entry/link: not a regular file"):
        verify_bundle(hostile(tmp_path, "entry/link", tarfile.SYMTYPE))


def test_a_member_the_manifest_does_not_list_is_refused(tmp_path, images, entry) -> None:
    path = make(tmp_path, images, entry)
    with tarfile.open(path, "a") as tar:
        info = tarfile.TarInfo("entry/extra")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(BundleError, match="entry/extra: not listed in manifest.json"):
        verify_bundle(path)


def test_not_a_bundle(tmp_path) -> None:
    path = tmp_path / "x.bundle"
    path.write_bytes(b"hello" * 300)
    with pytest.raises(BundleError, match=f"^{path}: "):
        verify_bundle(path)


def test_a_huge_pax_header_is_refused_unread(tmp_path) -> None:
    path = tmp_path / "pax.bundle"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("entry/x")
        info.pax_headers = {"comment": "x" * (2 << 20)}
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(BundleError, match="not a bundle .*header larger than"):
        verify_bundle(path)


def test_images_are_found_by_tag_id_and_id_prefix(tmp_path, images, entry) -> None:
    source = BundleSource(make(tmp_path, images, entry))
    one = images[0]
    assert source.inspect(one.id)["Id"] == one.id
    assert source.inspect(one.id.removeprefix("sha256:")[:12])["Id"] == one.id
    with pytest.raises(Exception, match="no image corral-test/one:2"):
        source.inspect("corral-test/one:2")


def test_an_untagged_reference_is_bundled_as_latest(tmp_path, images, entry) -> None:
    image = Image("corral-test/plain:latest", [BASE, layer_tar("plain")])
    source = FakeSource(image)
    source.images["corral-test/plain"] = source.images[image.id] = image
    path = tmp_path / "plain.bundle"
    write_bundle(path, entry, {"id": "plain"},
                 [("corral-test/plain", source), (image.id, source)])
    bundled = BundleSource(path)
    assert bundled.bundle.images[0].repo_tags == ("corral-test/plain:latest",)
    assert bundled.inspect("corral-test/plain")["Id"] == image.id


class _BigSource:
    """One image whose 24 MB layer is generated chunk by chunk, never held whole."""

    name = "big"
    SIZE = 24 << 20
    CHUNK = 64 << 10

    def __init__(self) -> None:
        import hashlib
        hasher = hashlib.sha256()
        for piece in self._layer():
            hasher.update(piece)
        self.diff_id = f"sha256:{hasher.hexdigest()}"
        self.config = json.dumps({"rootfs": {"type": "layers",
                                             "diff_ids": [self.diff_id]}}).encode()
        self.id = "sha256:" + hashlib.sha256(self.config).hexdigest()

    def _layer(self):
        info = tarfile.TarInfo("big.bin")
        info.size = self.SIZE
        yield info.tobuf(tarfile.USTAR_FORMAT)
        block = bytes(range(256)) * (self.CHUNK // 256)
        for _ in range(self.SIZE // self.CHUNK):
            yield block
        yield bytes(1024)

    @property
    def layer_size(self) -> int:
        return 512 + self.SIZE + 1024

    def inspect(self, image: str) -> dict:
        return {"Id": self.id, "RepoTags": ["corral-test/big:1"],
                "RootFS": {"Type": "layers", "Layers": [self.diff_id]}}

    def archive(self, image: str, chunk_size: int):
        def member(name: str, size: int) -> bytes:
            info = tarfile.TarInfo(name)
            info.size = size
            return info.tobuf(tarfile.USTAR_FORMAT)

        yield member("top/layer.tar", self.layer_size)
        yield from self._layer()
        yield bytes(-self.layer_size % 512)
        config = f"{self.id.removeprefix('sha256:')}.json"
        yield member(config, len(self.config)) + self.config + bytes(-len(self.config) % 512)
        manifest = json.dumps([{"Config": config, "RepoTags": ["corral-test/big:1"],
                                "Layers": ["top/layer.tar"]}]).encode()
        yield member("manifest.json", len(manifest)) + manifest + bytes(-len(manifest) % 512)
        yield bytes(1024)


def test_create_and_read_back_stream_without_holding_a_layer(tmp_path, entry) -> None:
    import tracemalloc
    source = _BigSource()
    path = tmp_path / "big.bundle"
    tracemalloc.start()
    try:
        write_bundle(path, entry, {"id": "big"}, [("corral-test/big:1", source)],
                     chunk_size=1 << 20)
        _, written_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = sum(len(piece) for piece in BundleSource(path).archive("corral-test/big:1",
                                                                       1 << 20))
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > source.SIZE
    assert written_peak < 6 << 20 and read_peak < 6 << 20, (written_peak, read_peak)


def test_a_malformed_manifest_is_named(tmp_path, images, entry) -> None:
    path = make(tmp_path, images, entry)
    data = path.read_bytes()
    info = members(path)["manifest.json"]
    manifest = json.loads(data[info.offset_data:info.offset_data + info.size])
    manifest["entry"]["files"] = {"not": "a list"}
    rebuilt = tmp_path / "bad.bundle"
    with tarfile.open(path) as source, tarfile.open(rebuilt, "w") as tar:
        for member in source.getmembers():
            if member.name == "manifest.json":
                text = json.dumps(manifest).encode()
                member.size = len(text)
                tar.addfile(member, io.BytesIO(text))
            else:
                tar.addfile(member, source.extractfile(member))
    with pytest.raises(BundleError, match="manifest.json: malformed"):
        verify_bundle(rebuilt)
