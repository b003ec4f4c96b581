"""Pushes read their source on a thread of their own, and concurrent pushes of one image
share one read (corral.backends.images.feed, through push_image)."""

from __future__ import annotations

import concurrent.futures
import io
import tarfile
import threading
import time

import pytest

from corral.backends.errors import PushLinkLost, PushRejected, PushSourceFailed
from corral.backends.images import feed, push_image
from tests.unit.backends.images_fakes import (
    FakeApi,
    FakeSource,
    FakeTarget,
    Image,
    chunked,
    layer_tar,
)

BASE = Image("base:1", [layer_tar("base", 20_000)], top_name="b" * 64)
APP = Image("app:1", [layer_tar("base", 20_000), layer_tar("lib", 90_000),
                      layer_tar("app", 3000)])


class SharedSource(FakeSource):
    """A source whose pushes may share reads (as an engine's: `feed_key`)."""

    feed_key = "the-source"


def names_in(body: bytes) -> set[str]:
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return set(tar.getnames())


def target_with(*images: Image, name: str = "dst", **options) -> FakeTarget:
    api = FakeApi(**options)
    for image in images:
        api.hold(image)
    return FakeTarget(api, name=name)


def push_all(source, targets, image: str = "app:1", **kwargs) -> list:
    """push_image to every target at once, as `corral images push --to a,b,c` does."""
    def one(target):
        try:
            return push_image(source, target, image, **kwargs)
        except Exception as exc:  # noqa: BLE001 — returned to the test
            return exc

    with concurrent.futures.ThreadPoolExecutor(len(targets)) as pool:
        return list(pool.map(one, targets))


def test_three_targets_at_once_read_the_source_once_each_with_its_own_layers() -> None:
    source = SharedSource(APP)
    with_base, bare, other = target_with(BASE, name="a"), target_with(name="b"), \
        target_with(BASE, name="c")
    reports = push_all(source, [with_base, bare, other], chunk_size=4096)
    assert source.reads == 1
    assert [report.mode for report in reports] == ["partial", "full", "partial"]
    assert f"{APP.dirs[0]}/layer.tar" not in names_in(with_base.api.bodies[0])
    assert f"{APP.dirs[0]}/layer.tar" in names_in(bare.api.bodies[0])
    for target in (with_base, bare, other):
        assert target.api.tags["app:1"] == APP.id


def test_a_push_that_comes_after_the_read_began_reads_on_its_own() -> None:
    source = SharedSource(APP)
    first = push_image(source, target_with(name="a"), "app:1")
    second = push_image(source, target_with(name="b"), "app:1")
    assert source.reads == 2 and first.mode == second.mode == "full"


def test_a_target_that_refuses_leaves_the_others_running() -> None:
    source = SharedSource(APP)
    broken = target_with(name="broken", cut_after=30_000)
    fine = [target_with(name="a"), target_with(BASE, name="b")]
    results = push_all(source, [broken, *fine], chunk_size=4096)
    assert source.reads == 1
    assert isinstance(results[0], PushRejected | PushLinkLost)
    assert [result.mode for result in results[1:]] == ["full", "partial"]
    assert all(target.api.tags["app:1"] == APP.id for target in fine)


def test_a_source_that_fails_fails_every_push_sharing_it() -> None:
    class Failing(SharedSource):
        def archive(self, image, chunk_size):
            self.reads += 1
            data = self.images[image].archive()
            yield data[:10_000]
            raise PushSourceFailed("reading app:1 failed: gone", host="src")

    source = Failing(APP)
    targets = [target_with(name=name) for name in "abc"]
    results = push_all(source, targets, chunk_size=4096)
    assert source.reads == 1
    assert all(isinstance(result, PushSourceFailed) for result in results)
    assert all(not target.api.bodies and "app:1" not in target.api.tags for target in targets)


class PacedApi(FakeApi):
    """A target whose load takes the first chunk, then waits for `go` before reading on
    (and fails the push if `go` does not come)."""

    def __init__(self, go: threading.Event, **options):
        super().__init__(**options)
        self.go = go

    def load_image(self, data, quiet=False):
        def paced():
            for index, piece in enumerate(data):
                yield piece
                if index == 0:
                    assert self.go.wait(5), "the upload was not released"
        return super().load_image(paced(), quiet)


class CountingSource(FakeSource):
    """Counts the chunks handed out; sets `ahead` once `enough` went while the upload waits."""

    def __init__(self, *images, enough: int):
        super().__init__(*images)
        self.given = 0
        self.enough = enough
        self.ahead = threading.Event()

    def archive(self, image, chunk_size):
        self.reads += 1
        for piece in chunked(self.images[image].archive(), chunk_size):
            self.given += 1
            if self.given >= self.enough:
                self.ahead.set()
            yield piece


def test_the_source_is_read_while_the_upload_waits_and_no_more_than_a_few_chunks_ahead(
        ) -> None:
    source = CountingSource(APP, enough=3)
    release = threading.Event()
    target = FakeTarget(PacedApi(release))
    results = []
    thread = threading.Thread(target=lambda: results.append(
        push_image(source, target, "app:1", chunk_size=4096)))
    thread.start()
    try:
        assert source.ahead.wait(5), "reading waited for the upload (no read-ahead)"
        time.sleep(0.3)
        # The upload holds one chunk; the queue DEPTH more; the reader one in hand.
        assert source.given <= 1 + feed.DEPTH + 1
    finally:
        release.set()
    thread.join(10)
    assert results and results[0].mode == "full"


def test_pieces_are_coalesced_to_the_chunk_size() -> None:
    pieces = [b"a" * 300, b"b" * 300, b"c" * 500, b"d" * 2000, b"e" * 10]
    out = list(feed._coalesced(iter(pieces), 1000))
    assert b"".join(out) == b"".join(pieces)
    assert [len(piece) for piece in out] == [1100, 2000, 10]


@pytest.fixture(autouse=True)
def _short_join_wait(monkeypatch):
    monkeypatch.setattr(feed, "JOIN_WAIT", 2.0)
