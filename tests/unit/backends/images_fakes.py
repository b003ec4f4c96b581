"""Synthetic image archives shaped like Docker 20.10's `docker save`, and fake engines.

Shared by the unit tests of `corral.backends.images`.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import requests

from corral.backends.errors import NotFound
from corral.backends.images.layers import chain_ids, legacy_layer_ids
from corral.backends.inventory.load import HostSpec


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(seed: str, size: int = 3000) -> bytes:
    """A small layer: one file whose bytes derive from `seed`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        data = (seed.encode() * (size // len(seed) + 1))[:size]
        info = tarfile.TarInfo(f"{seed}.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass
class Image:
    """A synthetic image: its layers, config, ID and `docker save` archive."""

    tag: str
    layers: list[bytes]
    top_name: str = "f" * 64
    fmt: int = tarfile.USTAR_FORMAT
    manifest_layers: list[str] | None = None   # to make a manifest disagree

    @property
    def diff_ids(self) -> list[str]:
        return [sha(layer) for layer in self.layers]

    @property
    def config(self) -> bytes:
        return json.dumps({"rootfs": {"type": "layers", "diff_ids": self.diff_ids},
                           "os": "linux", "tag": self.tag}).encode()

    @property
    def id(self) -> str:
        return sha(self.config)

    @property
    def dirs(self) -> list[str]:
        return [*legacy_layer_ids(self.diff_ids), self.top_name]

    def inspect(self) -> dict:
        return {"Id": self.id, "RootFS": {"Type": "layers", "Layers": self.diff_ids},
                "RepoTags": [self.tag]}

    def archive(self) -> bytes:
        """The save archive, members in lexicographic order (manifest.json last but one)."""
        members = {f"{self.id.removeprefix('sha256:')}.json": self.config}
        for directory, layer in zip(self.dirs, self.layers, strict=True):
            members[f"{directory}/VERSION"] = b"1.0"
            members[f"{directory}/json"] = json.dumps({"id": directory}).encode()
            members[f"{directory}/layer.tar"] = layer
        layers = self.manifest_layers or [f"{d}/layer.tar" for d in self.dirs]
        members["manifest.json"] = json.dumps([{
            "Config": f"{self.id.removeprefix('sha256:')}.json", "RepoTags": [self.tag],
            "Layers": layers}]).encode()
        members["repositories"] = b"{}"
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=self.fmt) as tar:
            for name in sorted(members):
                if name.endswith("/VERSION"):
                    info = tarfile.TarInfo(name.rsplit("/", 1)[0])
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                info = tarfile.TarInfo(name)
                info.size = len(members[name])
                tar.addfile(info, io.BytesIO(members[name]))
        return buffer.getvalue()


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


class FakeSource:
    """An image source serving synthetic images."""

    def __init__(self, *images: Image, name: str = "src"):
        self.name = name
        self.images = {image.tag: image for image in images}
        self.reads = 0

    def inspect(self, image: str) -> dict:
        if image not in self.images:
            from corral.backends.errors import PushSourceMissing
            raise PushSourceMissing(f"no image {image}", host=self.name)
        return self.images[image].inspect()

    def archive(self, image: str, chunk_size: int) -> Iterable[bytes]:
        self.reads += 1
        return chunked(self.images[image].archive(), chunk_size)


@dataclass
class FakeApi:
    """The part of docker-py's APIClient a push uses, over an in-memory image store.

    `needs_every_layer` plays the containerd image store (every layer.tar
    required); `wrong_id` loads the image under another ID; `cut_after` drops
    the link once that many body bytes arrived.
    """

    images: dict[str, dict] = field(default_factory=dict)      # id -> inspect
    tags: dict[str, str] = field(default_factory=dict)          # tag -> id
    needs_every_layer: bool = False
    wrong_id: bool = False
    cut_after: int | None = None
    bodies: list[bytes] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def hold(self, image: Image) -> None:
        self.images[image.id] = image.inspect()
        self.tags[image.tag] = image.id

    def inspect_image(self, ref: str) -> dict:
        image_id = self.tags.get(ref, ref)
        if image_id not in self.images:
            raise NotFound(f"No such image: {ref}", host="dst", status=404)
        return self.images[image_id]

    def images_list(self) -> list[dict]:
        return [{"Id": image_id} for image_id in self.images]

    def tag(self, image_id: str, repository: str, tag: str) -> bool:
        self.tags[f"{repository}:{tag}"] = image_id
        return True

    def remove_image(self, ref: str) -> None:
        self.removed.append(ref)
        self.tags.pop(ref, None)

    def load_image(self, data: Iterable[bytes], quiet: bool = False) -> list[dict]:
        received = bytearray()
        for piece in data:
            received += piece
            if self.cut_after is not None and len(received) >= self.cut_after:
                raise requests.exceptions.ConnectionError("connection reset by peer")
        self.bodies.append(bytes(received))
        with tarfile.open(fileobj=io.BytesIO(bytes(received))) as tar:
            names = set(tar.getnames())
            manifest = json.loads(tar.extractfile("manifest.json").read())[0]
            config = json.loads(tar.extractfile(manifest["Config"]).read())
            held = {chain for image in self.images.values()
                    for chain in chain_ids(image["RootFS"]["Layers"])}
            diff_ids = config["rootfs"]["diff_ids"]
            for chain, path in zip(chain_ids(diff_ids), manifest["Layers"], strict=True):
                if path not in names and (chain not in held or self.needs_every_layer):
                    return [{"error": f"open {path}: no such file or directory"}]
                if path in names:
                    assert sha(tar.extractfile(path).read()) in diff_ids
        image_id = sha(json.dumps(config).encode()) if not self.wrong_id else sha(b"other")
        self.images[image_id] = {"Id": image_id, "RootFS": {"Layers": diff_ids}}
        for tag in manifest["RepoTags"]:
            self.tags[tag] = image_id
        return [{"stream": f"Loaded image: {tag}\n"} for tag in manifest["RepoTags"]]


class FakeClient:
    def __init__(self, api: FakeApi):
        self.api = _ApiView(api)


class _ApiView:
    """docker-py's spelling of `images(all=True)` on top of FakeApi."""

    def __init__(self, api: FakeApi):
        self._api = api

    def images(self, all: bool = False) -> list[dict]:  # noqa: A002 (docker-py's name)
        return self._api.images_list()

    def __getattr__(self, name: str):
        return getattr(self._api, name)


class FakeTarget:
    """A HostSession stand-in: `name`, `spec` (a local host: no OpenSSH pump), `client`,
    `stream_client`, `call`."""

    def __init__(self, api: FakeApi, name: str = "dst"):
        self.name = name
        self.spec = HostSpec(name, None)
        self.api = api
        self.client = FakeClient(api)

    def stream_client(self) -> FakeClient:
        return self.client

    def call(self, method, *args, **kwargs):
        return method(self.client, *args, **kwargs)
