"""Writing a bundle: an entry's files and images read from engines, each layer once.

Each image's `docker save` archive streams through `tarfile`'s stream reader:
its configuration and every `layer.tar` whose diffID the bundle does not hold
yet go into the bundle as they come, hashed on the way; nothing is held in
memory beyond one chunk (and a configuration). A layer directory is named by
its legacy v1 ID (`layers.legacy_layer_ids`), so its diffID is known before
its bytes go by and a layer already written is skipped unread. A layer whose
name is not recognised (the top one, or a newer engine's layout) is spooled
to a temporary file and hashed to learn its diffID. Every layer's sha256 must
be its diffID, the configuration's the image ID.

The bundle is written next to the target under a temporary name (mode 0600)
and renamed over it only once complete: a failed create leaves no bundle.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from corral.backends.errors import BundleError, ImageArchiveError
from corral.backends.images.bundle import (
    FORMAT,
    MANIFEST,
    MAX_CONFIG_BYTES,
    READ_CHUNK,
    config_member,
    layer_member,
    safe_member_name,
)
from corral.backends.images.layers import legacy_layer_ids
from corral.backends.images.push import ImageSource

#: `on_progress(image, bytes_read)` while an image's archive is read.
Progress = Callable[[str, int], None]


@dataclass
class BundledImage:
    """One image written.

    Attributes:
        image: The reference asked for.
        id: Its ID.
        source: Where it was read from.
        layers: Its layer count.
        layers_written: Layers this image added to the bundle (others were there).
    """

    image: str
    id: str
    source: str
    layers: int
    layers_written: int = 0


@dataclass
class BundleReport:
    """What `write_bundle` wrote.

    Attributes:
        path: The bundle.
        bytes: Its size.
        members: Its members, manifest included.
        images: Per image.
        layers: Distinct layers stored.
    """

    path: str
    bytes: int = 0
    members: int = 0
    images: list[BundledImage] = field(default_factory=list)
    layers: int = 0

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {"path": self.path, "bytes": self.bytes, "members": self.members,
                "layers": self.layers,
                "images": [vars(image) for image in self.images]}


class _ChunkReader(io.RawIOBase):
    """A file object over an iterable of byte chunks (what tarfile's stream mode reads)."""

    def __init__(self, chunks: Iterable[bytes], on_read: Callable[[int], None] | None):
        self.chunks: Iterator[bytes] = iter(chunks)
        self.pending = memoryview(b"")
        self.total = 0
        self.on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending:
            chunk = next(self.chunks, None)
            if chunk is None:
                return 0
            self.pending = memoryview(chunk)
            self.total += len(chunk)
            if self.on_read is not None:
                self.on_read(self.total)
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


class _Hashing:
    """Reads `size` bytes of `source`, hashing them (what `addfile` copies from)."""

    def __init__(self, source: BinaryIO):
        self.source = source
        self.hasher = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.hasher.update(data)
        return data


class _Writer:
    """The bundle being written: members with their sha256 and size."""

    def __init__(self, tar: tarfile.TarFile):
        self.tar = tar
        self.listed: list[dict[str, Any]] = []
        self.names: set[str] = set()

    def add(self, name: str, size: int, source: BinaryIO) -> str:
        """Write one member; its sha256 hex."""
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o644, int(time.time())
        hashing = _Hashing(source)
        self.tar.addfile(info, hashing)
        digest = hashing.hasher.hexdigest()
        self.listed.append({"name": name, "size": size, "sha256": f"sha256:{digest}"})
        self.names.add(name)
        return digest

    def add_bytes(self, name: str, data: bytes) -> str:
        return self.add(name, len(data), io.BytesIO(data))


def write_bundle(
    path: Path | str,
    entry_files: Iterable[tuple[str, Path]],
    entry: dict[str, Any],
    images: Iterable[tuple[str, ImageSource]],
    *,
    chunk_size: int = READ_CHUNK,
    on_progress: Progress | None = None,
) -> BundleReport:
    """Write a bundle file: the entry's files, the images, then the manifest.

    Args:
        path: The bundle to write (replaced if it exists, once complete).
        entry_files: (member name under `entry/`, local file) pairs.
        entry: What the manifest says of the entry (id, version...); its
            `files` is filled in.
        images: (image reference, the source to read it from) pairs.
        chunk_size: Bytes per chunk read from a source.
        on_progress: Told the bytes read of each image's archive.

    Raises:
        BundleError: A file or an image archive is not as expected (the
            message names it); no bundle is left.
        ImagePushError: Reading a source failed.
    """
    target = Path(path)
    report = BundleReport(str(target))
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                             dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as raw, \
                tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            writer = _Writer(tar)
            files = []
            for name, local in entry_files:
                member = f"entry/{name}"
                if not safe_member_name(member):
                    raise BundleError(f"{local}: unsafe name {name!r} for the bundle")
                with open(local, "rb") as handle:
                    writer.add(member, os.fstat(handle.fileno()).st_size, handle)
                files.append(member)
            listed_images: list[dict[str, Any]] = []
            by_id: dict[str, dict[str, Any]] = {}
            for reference, source in images:
                _bundle_image(writer, reference, source, chunk_size, on_progress,
                              report, listed_images, by_id)
            manifest = {"format": FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                   time.gmtime()),
                        "entry": {**entry, "files": files}, "images": listed_images,
                        "members": writer.listed}
            writer.tar.addfile(_info(MANIFEST, manifest), io.BytesIO(_json(manifest)))
            report.members = len(writer.listed) + 1
            report.layers = sum(1 for name in writer.names if name.startswith("layers/"))
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
        report.bytes = target.stat().st_size
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return report


def _json(data: Any) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True).encode()


def _info(name: str, data: Any) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(_json(data)), 0o644, int(time.time())
    return info


def _bundle_image(writer: _Writer, reference: str, source: ImageSource, chunk_size: int,
                  on_progress: Progress | None, report: BundleReport,
                  listed: list[dict[str, Any]], by_id: dict[str, dict[str, Any]]) -> None:
    inspected = source.inspect(reference)
    image_id = inspected["Id"]
    diff_ids = list((inspected.get("RootFS") or {}).get("Layers") or [])
    tags = [tag for tag in inspected.get("RepoTags") or [] if tag != "<none>:<none>"]
    named = _tag_of(reference, image_id)
    if named:  # the name the entry uses, whatever else the engine calls the image
        tags.append(named)
    done = BundledImage(reference, image_id, source.name, len(diff_ids))
    report.images.append(done)
    if image_id in by_id:  # two references to one image: one more name
        known = by_id[image_id]
        known["repo_tags"] = sorted({*known["repo_tags"], *tags})
        return
    where = f"{source.name}: {reference}"
    known_names = {f"{name}/layer.tar": diff_ids[index]
                   for index, name in enumerate(legacy_layer_ids(diff_ids))}
    known_names.update({f"blobs/sha256/{d.removeprefix('sha256:')}": d for d in diff_ids})
    config_names = {f"{image_id.removeprefix('sha256:')}.json",
                    f"blobs/sha256/{image_id.removeprefix('sha256:')}"}
    config_seen = False
    reader = _ChunkReader(source.archive(reference, chunk_size),
                          (lambda total: on_progress(reference, total)) if on_progress else None)
    try:
        with tarfile.open(fileobj=io.BufferedReader(reader, READ_CHUNK), mode="r|") as save:
            for info in save:
                if not info.isreg():
                    continue
                name = info.name
                if name in config_names and not config_seen:
                    config_seen = _add_config(writer, save, info, image_id, where)
                elif name.endswith("/layer.tar") or (name.startswith("blobs/sha256/")
                                                     and name not in config_names):
                    done.layers_written += _add_layer(writer, save, info,
                                                      known_names.get(name), diff_ids, where)
    except tarfile.TarError as exc:
        raise ImageArchiveError(f"{where}: unreadable image archive ({exc})") from None
    if not config_seen:
        raise BundleError(f"{where}: the image archive holds no configuration {image_id[:19]}")
    for diff_id in diff_ids:
        if layer_member(diff_id) not in writer.names:
            raise BundleError(f"{where}: the image archive lacks layer {diff_id[:19]}")
    entry = {"id": image_id, "repo_tags": sorted(set(tags)),
             "config": config_member(image_id), "layers": diff_ids}
    listed.append(entry)
    by_id[image_id] = entry


def _tag_of(reference: str, image_id: str) -> str | None:
    """`reference` as a `repo:tag` docker load accepts; None for an ID or a digest."""
    bare = reference.removeprefix("sha256:")
    if "@" in reference or reference.startswith("sha256:") or (
            len(bare) >= 12 and image_id.removeprefix("sha256:").startswith(bare)):
        return None
    return reference if ":" in reference.rpartition("/")[2] else f"{reference}:latest"


def _add_config(writer: _Writer, save: tarfile.TarFile, info: tarfile.TarInfo,
                image_id: str, where: str) -> bool:
    if info.size > MAX_CONFIG_BYTES:
        raise BundleError(f"{where}: the image configuration is over {MAX_CONFIG_BYTES} bytes")
    data = save.extractfile(info).read()
    if "sha256:" + hashlib.sha256(data).hexdigest() != image_id:
        raise BundleError(f"{where}: the saved configuration is not image {image_id[:19]}")
    writer.add_bytes(config_member(image_id), data)
    return True


def _add_layer(writer: _Writer, save: tarfile.TarFile, info: tarfile.TarInfo,
               diff_id: str | None, diff_ids: list[str], where: str) -> int:
    """Store one saved layer unless the bundle holds it; 1 if it was written."""
    data = save.extractfile(info)
    if diff_id is not None:
        member = layer_member(diff_id)
        if member in writer.names:
            return 0  # stored by an earlier image: its bytes are skipped unread
        digest = writer.add(member, info.size, data)
        if f"sha256:{digest}" != diff_id:
            raise BundleError(f"{where}: layer {info.name} is not {diff_id[:19]} "
                              "(its sha256 differs)")
        return 1
    # Not recognised by name: spooled to learn its diffID.
    with tempfile.TemporaryFile() as spool:
        hasher = hashlib.sha256()
        while piece := data.read(READ_CHUNK):
            hasher.update(piece)
            spool.write(piece)
        diff_id = f"sha256:{hasher.hexdigest()}"
        if diff_id not in diff_ids:
            raise BundleError(f"{where}: layer {info.name} is none of the image's layers")
        member = layer_member(diff_id)
        if member in writer.names:
            return 0
        spool.seek(0)
        writer.add(member, info.size, spool)
        return 1
