"""Bundle files: a catalog entry and every image it needs, in one tar, for sneakernet.

A bundle is an uncompressed tar holding, in this order:

- `entry/...`: the catalog entry's folder (its `config.yml`, icon, README and
  the one version folder bundled);
- `images/<image id hex>.json`: each image's configuration, byte for byte as
  the engine saved it (its sha256 is the image ID);
- `layers/<diffID hex>.tar`: each layer's uncompressed tar, stored once
  however many images share it (its sha256 is the diffID);
- `manifest.json`, last: the sha256 and size of every other member, the
  images (repo tags, ID, config member, ordered diffIDs) and the entry.

A bundle is untrusted input (it crossed an air gap on a stick): reading one
bounds the member count and the JSON sizes, refuses absolute paths, `..`,
links and devices, and checks every byte against the manifest as it streams.
Errors are one line naming the file and the member.

`BundleSource` is an `ImageSource` for `push_image`: it reassembles the
archive `docker save` (Docker 20.10) writes for one image — `<v1 id>/VERSION`,
`json`, `layer.tar` per layer, `<id>.json`, `manifest.json`, `repositories` —
naming layer directories as Docker does (`layers.legacy_layer_ids`), so
the push's layer skipping recognises them. Each layer's sha256 is checked
before its last chunk goes out: a corrupted member cuts the stream, so the
engine loads (and tags) nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from corral.backends.errors import BundleError, PushSourceMissing
from corral.backends.images.layers import chain_ids, legacy_layer_ids

FORMAT = "corral-bundle/1"
MANIFEST = "manifest.json"
#: Most members a bundle may hold (a stack of many images stays far below).
MAX_MEMBERS = 100_000
#: Largest `manifest.json` read.
MAX_MANIFEST_BYTES = 16 << 20
#: Largest tar header (PAX or long-name extensions included) read.
MAX_HEADER_BYTES = 1 << 20
#: Largest image configuration read into memory.
MAX_CONFIG_BYTES = 8 << 20
#: Bytes read per step while hashing or streaming.
READ_CHUNK = 1 << 20
#: Most bytes of entry files (compose files, README, icon) written out of a bundle.
MAX_ENTRY_BYTES = 64 << 20
#: Where the entry's files live in a bundle.
ENTRY_PREFIX = "entry/"
#: A catalog entry id as Rancher's catalogs name them (`app`, or `X/app` for `X-templates/`).
_ENTRY_ID = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*$")
_HEX = set("0123456789abcdef")


def _hex(digest: str) -> str:
    return digest.removeprefix("sha256:")


def _is_digest(value: object) -> bool:
    return (isinstance(value, str) and value.startswith("sha256:")
            and len(value) == 71 and set(value[7:]) <= _HEX)


def config_member(image_id: str) -> str:
    """The member holding the configuration of image `image_id`."""
    return f"images/{_hex(image_id)}.json"


def layer_member(diff_id: str) -> str:
    """The member holding the layer `diff_id`."""
    return f"layers/{_hex(diff_id)}.tar"


def safe_member_name(name: str) -> bool:
    """Whether a member name stays inside the bundle: relative, no `..`, no empty part."""
    if not name or name.startswith("/") or "\\" in name or "\0" in name:
        return False
    # Split by hand: PurePosixPath would drop "." and doubled slashes unseen.
    return all(part not in ("..", ".", "") for part in name.split("/"))


@dataclass(frozen=True)
class BundleImage:
    """One image in a bundle.

    Attributes:
        id: The image ID (`sha256:...`, the config's sha256).
        repo_tags: Its `repo:tag` names.
        config: The member holding its configuration.
        layers: Its diffIDs, bottom first.
    """

    id: str
    repo_tags: tuple[str, ...]
    config: str
    layers: tuple[str, ...]

    def inspect(self) -> dict[str, Any]:
        """What `docker image inspect` says of it, as far as a push needs."""
        return {"Id": self.id, "RepoTags": list(self.repo_tags),
                "RootFS": {"Type": "layers", "Layers": list(self.layers)}}


@dataclass
class Bundle:
    """A bundle's table of contents, read and checked for shape (bytes not yet hashed).

    Attributes:
        path: The file.
        members: Member name -> its tar header, in archive order.
        expected: Member name -> (size, sha256 hex) as the manifest lists them.
        images: The images.
        entry: What the manifest says of the catalog entry.
    """

    path: Path
    members: dict[str, tarfile.TarInfo] = field(default_factory=dict)
    expected: dict[str, tuple[int, str]] = field(default_factory=dict)
    images: list[BundleImage] = field(default_factory=list)
    entry: dict[str, Any] = field(default_factory=dict)

    def fail(self, message: str, member: str | None = None) -> BundleError:
        """A one-line error naming the file (and the member)."""
        where = f"{self.path}: {member}" if member else str(self.path)
        return BundleError(f"{where}: {message}")

    def find(self, image: str) -> BundleImage | None:
        """The image named `image`: a repo tag (`:latest` if none), its ID or an ID
        prefix of 12 hex digits or more."""
        last = image.rpartition("/")[2]
        tagged = image if ":" in last or "@" in last else f"{image}:latest"
        bare = _hex(image)
        for candidate in self.images:
            if image in candidate.repo_tags or tagged in candidate.repo_tags:
                return candidate
            if len(bare) >= 12 and set(bare) <= _HEX and _hex(candidate.id).startswith(bare):
                return candidate
        return None


def open_bundle(path: Path | str) -> Bundle:
    """Read a bundle's member list and manifest, checking their shape.

    Member bytes are not hashed here (`verify_bundle` and `BundleSource` do).

    Raises:
        BundleError: The file is not a readable bundle, is truncated, holds an
            unsafe or unlisted member, or its manifest is malformed or incomplete.
    """
    bundle = Bundle(Path(path))
    try:
        size = bundle.path.stat().st_size
        with open(bundle.path, "rb") as stream:
            _index(bundle, stream, size)
            _read_manifest(bundle, stream)
    except OSError as exc:
        raise bundle.fail(exc.strerror or str(exc)) from None
    return bundle


class _BoundedReads:
    """The file as tarfile reads its headers: data is skipped by seeking, so a read
    larger than `MAX_HEADER_BYTES` can only be a hostile PAX or long-name header."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > MAX_HEADER_BYTES:
            raise tarfile.HeaderError(f"a tar header larger than {MAX_HEADER_BYTES} bytes")
        return self.stream.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.stream.seek(offset, whence)

    def tell(self) -> int:
        return self.stream.tell()


def _index(bundle: Bundle, stream: BinaryIO, size: int) -> None:
    try:
        tar = tarfile.TarFile(fileobj=_BoundedReads(stream), mode="r")  # type: ignore[arg-type]
    except tarfile.TarError as exc:
        raise bundle.fail(f"not a bundle (not a tar: {exc})") from None
    last: str | None = None
    while True:
        try:
            info = tar.next()
        except tarfile.TarError as exc:
            if last is not None:
                raise bundle.fail("truncated (the file ends inside or after it: "
                                  f"{exc})", last) from None
            raise bundle.fail(f"not a bundle ({exc})") from None
        if info is None:
            break
        name = info.name
        if len(bundle.members) >= MAX_MEMBERS:
            raise bundle.fail(f"more than {MAX_MEMBERS} members")
        if not safe_member_name(name):
            raise bundle.fail("unsafe member path (absolute, '..' or empty part)",
                              repr(name)[1:-1])
        if not info.isreg():
            raise bundle.fail("not a regular file (links, devices and folders are refused)",
                              name)
        if name in bundle.members:
            raise bundle.fail("appears twice", name)
        if info.offset_data + info.size > size:
            raise bundle.fail(f"truncated ({size - info.offset_data} of {info.size} bytes "
                              "in the file)", name)
        bundle.members[name] = info
        last = name
    # The end-of-archive marker (two zero blocks) tells a whole file from one cut
    # right after a member.
    if last is not None and tar.offset + 2 * tarfile.BLOCKSIZE > size:
        raise bundle.fail("truncated (the file ends without the tar's end blocks)")


def _read_manifest(bundle: Bundle, stream: BinaryIO) -> None:
    info = bundle.members.get(MANIFEST)
    if info is None:
        last = next(reversed(bundle.members), None)
        hint = f" (truncated after {last}?)" if last else ""
        raise bundle.fail(f"no {MANIFEST}: not a bundle, or truncated{hint}")
    if info.size > MAX_MANIFEST_BYTES:
        raise bundle.fail(f"larger than {MAX_MANIFEST_BYTES} bytes", MANIFEST)
    stream.seek(info.offset_data)
    try:
        manifest = json.loads(stream.read(info.size))
    except ValueError:
        raise bundle.fail("not JSON", MANIFEST) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise bundle.fail(f"not a {FORMAT} manifest", MANIFEST)
    try:
        for item in manifest["members"]:
            name, size, digest = item["name"], item["size"], item["sha256"]
            if not (isinstance(name, str) and isinstance(size, int) and size >= 0
                    and _is_digest(digest)) or name in bundle.expected:
                raise TypeError
            bundle.expected[name] = (size, _hex(digest))
        for item in manifest["images"]:
            image = BundleImage(item["id"], tuple(str(t) for t in item["repo_tags"]),
                                item["config"], tuple(item["layers"]))
            if not (_is_digest(image.id) and all(map(_is_digest, image.layers))
                    and image.config == config_member(image.id)):
                raise TypeError
            bundle.images.append(image)
        entry = manifest["entry"]
        files = entry.get("files") or []
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise TypeError
        bundle.entry = entry
    except (KeyError, TypeError, AttributeError):
        raise bundle.fail("malformed (members, images or entry)", MANIFEST) from None
    _check_complete(bundle)


def _check_complete(bundle: Bundle) -> None:
    for name in bundle.members:
        if name != MANIFEST and name not in bundle.expected:
            raise bundle.fail(f"not listed in {MANIFEST}", name)
    for name in bundle.expected:
        if name not in bundle.members:
            raise bundle.fail(f"listed in {MANIFEST} but missing from the file", name)
    for image in bundle.images:
        for name, digest in ((image.config, image.id),
                             *((layer_member(d), d) for d in image.layers)):
            if name not in bundle.expected:
                raise bundle.fail(f"{image.id[:19]} needs {name}, which is not in the bundle",
                                  MANIFEST)
            if bundle.expected[name][1] != _hex(digest):
                raise bundle.fail(f"lists a sha256 for {name} that is not {digest[:19]}",
                                  MANIFEST)
    for name in bundle.entry.get("files") or []:
        if name not in bundle.expected:
            raise bundle.fail(f"the entry's {name} is not in the bundle", MANIFEST)


@dataclass
class VerifyReport:
    """What `verify_bundle` checked.

    Attributes:
        path: The file.
        members: Members whose size and sha256 matched.
        bytes: Their bytes.
        images: The images' first repo tag (or ID).
        entry: The entry's id and version.
    """

    path: str
    members: int = 0
    bytes: int = 0
    images: list[str] = field(default_factory=list)
    entry: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {"path": self.path, "members": self.members, "bytes": self.bytes,
                "images": self.images, "entry": self.entry}


def verify_bundle(path: Path | str) -> VerifyReport:
    """Check every member of a bundle against its manifest, in archive order.

    Raises:
        BundleError: Naming the first bad member (or the file if it is not a bundle).
    """
    bundle = open_bundle(path)
    report = VerifyReport(str(bundle.path), entry={
        key: bundle.entry.get(key) for key in ("id", "version", "revision")})
    report.images = [(image.repo_tags or (image.id,))[0] for image in bundle.images]
    try:
        with open(bundle.path, "rb") as stream:
            for name, info in bundle.members.items():
                if name == MANIFEST:
                    continue
                for _ in _member_chunks(bundle, stream, info):
                    pass
                report.members += 1
                report.bytes += info.size
    except OSError as exc:
        raise bundle.fail(exc.strerror or str(exc)) from None
    return report


def _member_chunks(bundle: Bundle, stream: BinaryIO, info: tarfile.TarInfo,
                   chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
    """A member's bytes, checked against the manifest: the last chunk is only given
    once the whole member's size and sha256 matched."""
    size, digest = bundle.expected[info.name]
    if info.size != size:
        raise bundle.fail(f"{info.size} bytes, the manifest says {size}", info.name)
    stream.seek(info.offset_data)
    hasher = hashlib.sha256()
    left = size
    while left:
        piece = stream.read(min(chunk_size, left))
        if not piece:
            raise bundle.fail(f"truncated ({size - left} of {size} bytes)", info.name)
        hasher.update(piece)
        left -= len(piece)
        if not left and hasher.hexdigest() != digest:
            raise bundle.fail("sha256 does not match the manifest (corrupted)", info.name)
        yield piece
    if not size and hasher.hexdigest() != digest:
        raise bundle.fail("sha256 does not match the manifest (corrupted)", info.name)


def member_chunks(bundle: Bundle, name: str,
                  chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
    """One member's bytes, checked as they stream (the last chunk only once its size
    and sha256 matched the manifest).

    Raises:
        BundleError: The member is missing, corrupted or truncated.
    """
    info = bundle.members.get(name)
    if info is None or name not in bundle.expected:
        raise bundle.fail("not in the bundle", name)
    try:
        with open(bundle.path, "rb") as stream:
            yield from _member_chunks(bundle, stream, info, chunk_size)
    except OSError as exc:
        raise bundle.fail(exc.strerror or str(exc), name) from None


def _read_member(bundle: Bundle, stream: BinaryIO, name: str, limit: int) -> bytes:
    info = bundle.members[name]
    if info.size > limit:
        raise bundle.fail(f"larger than {limit} bytes", name)
    return b"".join(_member_chunks(bundle, stream, info))


class BundleSource:
    """Images read from a bundle file, for `push_image`.

    Args:
        path: The bundle (its manifest and member list are checked at once;
            member bytes as they stream).

    Raises:
        BundleError: The file is not a sound bundle.
    """

    def __init__(self, path: Path | str):
        self.bundle = open_bundle(path)
        self.name = f"bundle {self.bundle.path.name}"

    def inspect(self, image: str) -> dict[str, Any]:
        """The image's ID, tags and diffIDs; PushSourceMissing if the bundle lacks it."""
        return self._image(image).inspect()

    def _image(self, image: str) -> BundleImage:
        found = self.bundle.find(image)
        if found is None:
            raise PushSourceMissing(f"no image {image} in {self.bundle.path}", host=self.name)
        return found

    def layer_sizes(self, image: str) -> list[int]:
        """Each layer's bytes, bottom first: what a push sends of a layer the target lacks."""
        wanted = self._image(image)
        return [self.bundle.members[layer_member(d)].size for d in wanted.layers]

    def archive(self, image: str, chunk_size: int) -> Iterator[bytes]:
        """The image as `docker save` (Docker 20.10) writes it, every layer checked.

        Raises:
            BundleError: A member is corrupted or truncated; raised before the
                member's last chunk is given, so the archive never ends whole.
        """
        wanted = self._image(image)
        bundle = self.bundle
        with open(bundle.path, "rb") as stream:
            config = _read_member(bundle, stream, wanted.config, MAX_CONFIG_BYTES)
            if "sha256:" + hashlib.sha256(config).hexdigest() != wanted.id:
                raise bundle.fail(f"its sha256 is not the image ID {wanted.id}", wanted.config)
            names = _layer_dirs(wanted)
            parent = ""
            for index, (diff_id, directory) in enumerate(zip(wanted.layers, names, strict=True)):
                yield _header(f"{directory}/", 0, tarfile.DIRTYPE)
                yield from _small(f"{directory}/VERSION", b"1.0")
                yield from _small(f"{directory}/json",
                                  _layer_json(wanted.layers, index, directory, parent))
                parent = directory
                info = bundle.members[layer_member(diff_id)]
                yield _header(f"{directory}/layer.tar", info.size)
                # The manifest's sha256 of a layer member is its diffID (checked
                # on opening): the member is checked before its last chunk goes.
                yield from _member_chunks(bundle, stream, info, chunk_size)
                yield _padding(info.size)
            yield from _small(f"{_hex(wanted.id)}.json", config)
            tags = [tag for tag in wanted.repo_tags if tag != "<none>:<none>"]
            manifest = [{"Config": f"{_hex(wanted.id)}.json", "RepoTags": tags or None,
                         "Layers": [f"{name}/layer.tar" for name in names]}]
            yield from _small(MANIFEST, json.dumps(manifest, separators=(",", ":")).encode())
            repositories: dict[str, dict[str, str]] = {}
            for tag in tags:
                repository, _, label = tag.rpartition(":")
                repositories.setdefault(repository, {})[label] = names[-1] if names else ""
            if repositories:
                yield from _small("repositories", json.dumps(repositories).encode())
            yield bytes(2 * tarfile.BLOCKSIZE)


def entry_id(bundle: Bundle) -> str:
    """The id of the catalog entry the bundle carries, checked to be a plain entry id.

    Raises:
        BundleError: The manifest names no entry, or an id that is not one.
    """
    value = bundle.entry.get("id")
    if not isinstance(value, str) or not _ENTRY_ID.match(value):
        raise bundle.fail(f"the entry id {str(value)[:40]!r} is not a catalog entry id",
                          MANIFEST)
    return value


def extract_entry(bundle: Bundle, folder: Path | str) -> list[Path]:
    """Write the entry's files (`entry/...`) into `folder`, each checked as it is read.

    `folder` should be private to the caller (e.g. `tempfile.mkdtemp`, mode 0700):
    files are written with mode 0600, folders 0700. Member names were checked
    on opening (relative, no `..`); nothing but the entry's listed files is written.

    Returns:
        The files written.

    Raises:
        BundleError: A file is corrupted, truncated, or the entry is over
            `MAX_ENTRY_BYTES`; the member is named (files written so far stay:
            the caller removes `folder`).
    """
    root = Path(folder)
    names = [name for name in bundle.entry.get("files") or []
             if name.startswith(ENTRY_PREFIX) and len(name) > len(ENTRY_PREFIX)]
    if not names:
        raise bundle.fail("the bundle holds no entry file", MANIFEST)
    total = sum(bundle.members[name].size for name in names)
    if total > MAX_ENTRY_BYTES:
        raise bundle.fail(f"the entry's files are over {MAX_ENTRY_BYTES} bytes", MANIFEST)
    written = []
    try:
        with open(bundle.path, "rb") as stream:
            for name in names:
                path = root.joinpath(*name[len(ENTRY_PREFIX):].split("/"))
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                                     | getattr(os, "O_NOFOLLOW", 0), 0o600)
                with os.fdopen(descriptor, "wb") as out:
                    for piece in _member_chunks(bundle, stream, bundle.members[name]):
                        out.write(piece)
                written.append(path)
    except OSError as exc:
        raise bundle.fail(f"writing the entry: {exc.strerror or exc}") from None
    return written


def _layer_dirs(image: BundleImage) -> list[str]:
    """Layer directory names as Docker 20.10's save gives them (the top one cannot be
    recomputed without Go's marshalling of the config: any unique name loads)."""
    names = legacy_layer_ids(image.layers)
    if image.layers:
        top = chain_ids(image.layers)[-1]
        names.append(hashlib.sha256(f"{top} {image.id}".encode()).hexdigest())
    return names


def _layer_json(layers: tuple[str, ...], index: int, directory: str, parent: str) -> bytes:
    data: dict[str, Any] = {"id": directory, "created": "1970-01-01T00:00:00Z",
                            "layer_id": chain_ids(layers)[index]}
    if parent:
        data["parent"] = parent
    return json.dumps(data, separators=(",", ":")).encode()


def _header(name: str, size: int, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size if kind == tarfile.REGTYPE else 0
    info.type = kind
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info.tobuf(tarfile.PAX_FORMAT)


def _padding(size: int) -> bytes:
    return bytes(-size % tarfile.BLOCKSIZE)


def _small(name: str, data: bytes) -> Iterator[bytes]:
    yield _header(name, len(data))
    yield data + _padding(len(data))
