"""push_image on a fake engine (corral.backends.images.push): what is sent, fallbacks, errors."""

from __future__ import annotations

import io
import tarfile

import pytest
import requests

from corral.backends import guard
from corral.backends.errors import (
    ActionRefused,
    PushIdMismatch,
    PushLinkLost,
    PushRejected,
    PushSourceFailed,
    PushSourceMissing,
)
from corral.backends.images import push_image
from corral.backends.inventory.load import HostSpec
from tests.unit.backends.images_fakes import FakeApi, FakeSource, FakeTarget, Image, layer_tar

BASE = Image("base:1", [layer_tar("base", 20_000)], top_name="b" * 64)
APP = Image("app:1", [layer_tar("base", 20_000), layer_tar("lib", 9000), layer_tar("app", 3000)])


def names_in(body: bytes) -> set[str]:
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return set(tar.getnames())


def target_with(*images: Image, **options) -> FakeTarget:
    api = FakeApi(**options)
    for image in images:
        api.hold(image)
    return FakeTarget(api)


def test_only_the_layers_the_target_lacks_are_sent() -> None:
    target = target_with(BASE)
    report = push_image(FakeSource(APP), target, "app:1")
    assert report.mode == "partial" and report.note == ""
    assert (report.layers, report.layers_present, report.layers_sent) == (3, 1, 2)
    assert f"{APP.dirs[0]}/layer.tar" not in names_in(target.api.bodies[0])
    assert report.layer_bytes_skipped == len(APP.layers[0])
    assert report.layer_bytes_sent == len(APP.layers[1]) + len(APP.layers[2])
    assert report.bytes_sent == len(target.api.bodies[0]) < len(APP.archive())
    assert report.bytes_read == len(APP.archive())
    assert target.api.tags["app:1"] == APP.id == report.image_id


def test_a_second_push_sends_nothing() -> None:
    target = target_with(BASE)
    source = FakeSource(APP)
    push_image(source, target, "app:1")
    again = push_image(source, target, "app:1")
    assert again.mode == "present" and again.bytes_sent == 0 and source.reads == 1
    assert again.layers_present == again.layers == 3


def test_an_image_held_under_another_name_is_only_tagged() -> None:
    target = target_with(APP)
    del target.api.tags["app:1"]
    report = push_image(FakeSource(APP), target, "app:1")
    assert report.mode == "tagged" and report.bytes_sent == 0
    assert target.api.tags["app:1"] == APP.id


def test_a_target_without_the_base_gets_the_full_archive() -> None:
    target = target_with()
    report = push_image(FakeSource(APP), target, "app:1")
    assert report.mode == "full" and report.layers_sent == 3
    assert report.bytes_sent == len(APP.archive())


def test_an_engine_refusing_the_partial_archive_gets_the_full_one() -> None:
    target = target_with(BASE, needs_every_layer=True)   # like the containerd image store
    source = FakeSource(APP)
    report = push_image(source, target, "app:1")
    assert report.mode == "full" and "refused the partial archive" in report.note
    assert source.reads == 2 and report.bytes_sent == len(APP.archive())
    assert target.api.tags["app:1"] == APP.id


def test_a_manifest_disagreeing_with_the_skipped_layers_cuts_the_upload_and_sends_all() -> None:
    layers = [f"{d}/layer.tar" for d in APP.dirs]
    swapped = Image(APP.tag, APP.layers, manifest_layers=[layers[1], layers[0], layers[2]])
    target = target_with(BASE)
    report = push_image(FakeSource(swapped), target, "app:1")
    assert report.mode == "full" and "manifest did not match" in report.note
    assert len(target.api.bodies) == 1  # the cut upload never reached the engine whole


def test_an_image_loaded_under_another_id_is_removed() -> None:
    target = target_with(BASE, wrong_id=True)
    with pytest.raises(PushIdMismatch, match="removed") as caught:
        push_image(FakeSource(APP), target, "app:1")
    assert caught.value.host == "dst" and "app:1" in target.api.removed
    assert "app:1" not in target.api.tags


def test_a_cut_link_is_one_error_and_leaves_nothing_tagged() -> None:
    target = target_with(BASE, cut_after=2000)
    with pytest.raises(PushLinkLost, match="nothing was loaded") as caught:
        push_image(FakeSource(APP), target, "app:1")
    assert caught.value.host == "dst" and "app:1" not in target.api.tags
    target.api.cut_after = None
    report = push_image(FakeSource(APP), target, "app:1")
    assert report.mode == "partial" and report.layers_sent == 2


def test_an_engine_error_on_load_is_a_rejection_naming_the_host() -> None:
    target = target_with(needs_every_layer=True)
    broken = Image(APP.tag, APP.layers, manifest_layers=[f"{d}/gone.tar" for d in APP.dirs])
    with pytest.raises(PushRejected, match="no such file") as caught:
        push_image(FakeSource(broken), target, "app:1")
    assert str(caught.value).startswith("dst: ")


def test_a_missing_source_image_is_named() -> None:
    with pytest.raises(PushSourceMissing, match="no image nope:1"):
        push_image(FakeSource(APP), target_with(), "nope:1")


def test_read_only_refuses_before_touching_anything() -> None:
    seen = []
    guard.add_observer(lambda mutation, outcome, detail: seen.append((mutation, outcome)))
    target = target_with(BASE)
    source = FakeSource(APP)
    with pytest.raises(ActionRefused, match="image.push app:1 on dst"):
        push_image(source, target, "app:1", readonly=True)
    guard.enter_readonly("--readonly")
    with pytest.raises(ActionRefused):
        push_image(source, target, "app:1")
    assert source.reads == 0 and target.api.bodies == []
    assert [(m.verb, m.args, outcome) for m, outcome in seen] == \
        [("image.push", {"from": "src"}, "refused")] * 2


def test_a_push_is_reported_to_the_audit_observers() -> None:
    seen = []
    guard.add_observer(lambda mutation, outcome, detail: seen.append((mutation.verb, outcome)))
    push_image(FakeSource(APP), target_with(BASE), "app:1")
    assert seen == [("image.push", "ok")]


def test_a_full_disk_is_not_answered_with_the_full_archive() -> None:
    target = target_with(BASE)
    target.api.load_image = lambda data, quiet=False: (
        list(data), [{"error": "write /var/lib/docker/tmp/x: no space left on device"}])[1]
    source = FakeSource(APP)
    with pytest.raises(PushRejected, match="no space left on device"):
        push_image(source, target, "app:1")
    assert source.reads == 1


class CutSource:
    """An engine session whose `docker save` stream breaks after its first chunks."""

    name = "src"
    spec = HostSpec("src", None)  # a local engine: no OpenSSH pump

    def __init__(self, image: Image):
        self.image = image

    def stream_client(self):
        image = self.image

        class Api:
            def inspect_image(self, ref: str) -> dict:
                return image.inspect()

            def get_image(self, ref: str, chunk_size: int):
                data = image.archive()
                yield data[:1024]
                raise requests.exceptions.ChunkedEncodingError("connection broken")

        return type("Client", (), {"api": Api()})()

    def call(self, method):
        return method(self.stream_client())


def test_a_source_cut_mid_stream_is_a_source_error_and_loads_nothing() -> None:
    from corral.backends.images import EngineSource

    target = target_with(BASE)
    with pytest.raises(PushSourceFailed, match="src: reading app:1 failed"):
        push_image(EngineSource(CutSource(APP)), target, "app:1")  # type: ignore[arg-type]
    assert "app:1" not in target.api.tags and target.api.bodies == []
