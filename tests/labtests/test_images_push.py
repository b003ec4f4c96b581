"""Push over SSH between lab hosts: only the missing layers cross the link (issue 13, item 2).

A four-layer image is committed on lab1 onto the lab's busybox image (one layer holds
6 MB of random data); lab2 and lab3 hold only that busybox base. Bytes are counted twice:
the request body Corral sends, and on the wire (the target's veth, SSH included).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import json
import tarfile
import time
import uuid
from pathlib import Path

import docker
import pytest

from corral.backends.errors import ActionRefused, PushLinkLost
from corral.backends.images import push_image
from tests.support.lab import Lab
from tests.support.lab_cli import engine, running_fleet
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab

BASE = "corral-lab/busybox:1"
RANDOM_BYTES = 6_000_000
#: Headers, the image config, each layer's `json`/`VERSION`, manifest, repositories.
TAR_OVERHEAD = 64 * 1024
#: What SSH adds on the wire, and the odd keepalive, on top of the body's 5 %.
WIRE_OVERHEAD = 256 * 1024


def commit_layer(client: docker.DockerClient, base: str, script: str, tag: str,
                 changes: list[str] | None = None) -> None:
    container = client.containers.run(base, ["sh", "-c", script], detach=True)
    try:
        container.wait(timeout=60)
        repository, _, label = tag.rpartition(":")
        container.commit(repository, label, changes=changes)
    finally:
        container.remove(force=True)


@pytest.fixture(scope="module")
def multi(lab: Lab) -> str:
    """A four-layer image on lab1: busybox, a small file, 6 MB of random data, a CMD."""
    tag = f"corral-test/pushed-{uuid.uuid4().hex[:6]}:1"
    lab1 = engine(lab.host("lab1").socket)
    commit_layer(lab1, BASE, "echo one > /one.txt", f"{tag}-a")
    commit_layer(lab1, f"{tag}-a", f"head -c {RANDOM_BYTES} /dev/urandom > /big.bin", f"{tag}-b")
    commit_layer(lab1, f"{tag}-b", "echo three > /three.txt", tag,
                 changes=['CMD ["cat", "/one.txt"]'])
    for step in (f"{tag}-a", f"{tag}-b"):
        lab1.images.remove(step)
    for host in ("lab2", "lab3"):
        # What the targets hold: only the base, whose chain is the image's first layer.
        assert not engine(lab.host(host).socket).images.list(name=tag.split(":")[0])
    return tag


def missing_layer_bytes(lab: Lab, image: str, present: int) -> int:
    """The bytes of the image's `layer.tar` members above its first `present` layers,
    read from lab1's own `docker save` (not from Corral)."""
    archive = b"".join(engine(lab.host("lab1").socket).api.get_image(image))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        layers = json.loads(tar.extractfile("manifest.json").read())[0]["Layers"]
        return sum(tar.getmember(name).size for name in layers[present:])


def wire_bytes(lab: Lab, host: str) -> int:
    """Bytes the bridge has sent into `host`'s namespace (its veth's far end)."""
    hosts = json.loads((lab.dir / "lab.json").read_text())["hosts"]
    veth = next(item["veth"] for item in hosts if item["name"] == host)
    return int(Path(f"/sys/class/net/{veth}/statistics/tx_bytes").read_text())


def test_a_push_sends_only_the_missing_layers_and_a_second_push_nothing(
        lab: Lab, multi: str) -> None:
    missing = missing_layer_bytes(lab, multi, present=1)
    source_id = engine(lab.host("lab1").socket).images.get(multi).id
    lab2 = engine(lab.host("lab2").socket)
    with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
        lab1_session, lab2_session = fleet.session("lab1"), fleet.session("lab2")
        before = wire_bytes(lab, "lab2")
        started = time.monotonic()
        report = push_image(lab1_session, lab2_session, multi)
        elapsed = time.monotonic() - started
        on_wire = wire_bytes(lab, "lab2") - before
        print(f"\npush: body {report.bytes_sent} B, wire {on_wire} B, missing layers "
              f"{missing} B, skipped {report.layer_bytes_skipped} B, read "
              f"{report.bytes_read} B, {elapsed:.2f} s")
        assert report.mode == "partial" and report.layers_present == 1
        assert report.bytes_sent <= 1.05 * missing + TAR_OVERHEAD
        assert on_wire <= 1.05 * missing + WIRE_OVERHEAD
        assert report.layer_bytes_skipped > 0
        assert report.image_id == source_id == lab2.images.get(multi).id
        output = lab2.containers.run(multi, remove=True)
        assert output == b"one\n"
        assert lab2.containers.run(multi, ["wc", "-c", "/big.bin"], remove=True).split()[0] \
            == str(RANDOM_BYTES).encode()

        before = wire_bytes(lab, "lab2")
        again = push_image(lab1_session, lab2_session, multi)
        on_wire = wire_bytes(lab, "lab2") - before
        print(f"second push: body {again.bytes_sent} B, wire {on_wire} B")
        assert again.mode == "present" and again.bytes_sent == 0
        assert on_wire < 64 * 1024

        with pytest.raises(ActionRefused, match="read-only"):
            push_image(lab1_session, fleet.session("lab3"), multi, readonly=True)
    assert not engine(lab.host("lab3").socket).images.list(name=multi.split(":")[0])


def test_a_link_cut_mid_push_leaves_nothing_tagged_and_a_rerun_sends_what_is_missing(
        lab: Lab, multi: str) -> None:
    missing = missing_layer_bytes(lab, multi, present=1)
    lab3 = engine(lab.host("lab3").socket)
    cut = []

    def cut_once(sent: int, read: int) -> None:
        if not cut:
            cut.append(sent)
            lab.fault("lab3", "link-down")

    with running_fleet(lab.inventory, lab.known_hosts, keep_online=True) as (_, fleet):
        lab1_session, lab3_session = fleet.session("lab1"), fleet.session("lab3")
        wait_until(lambda: lab1_session.online and lab3_session.online, "lab1 and lab3 online")
        try:
            with pytest.raises(PushLinkLost, match="nothing was loaded") as caught:
                push_image(lab1_session, lab3_session, multi, chunk_size=256 * 1024,
                           on_progress=cut_once)
        finally:
            if cut:
                lab.fault("lab3", "link-up")
                lab.restored("lab3")
        print(f"\ncut after {cut[0]} B sent: {caught.value}")
        assert caught.value.host == "lab3" and cut
        # Through lab3's own socket: no image under that name, half-loaded or not.
        assert not lab3.images.list(name=multi.split(":")[0])
        wait_until(lambda: lab3_session.online, "lab3 back online", timeout=20)
        report = push_image(lab1_session, lab3_session, multi)
        print(f"re-run after the cut: body {report.bytes_sent} B, missing {missing} B")
        assert report.mode == "partial" and report.bytes_sent <= 1.05 * missing + TAR_OVERHEAD
        assert lab3.images.get(multi).id == report.image_id


def rss_mib() -> float:
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmRSS")).split()[1]) / 1024


def test_memory_stays_flat_through_a_200_mb_layer(lab: Lab) -> None:
    """The issue's bound: RSS growth ≤ 50 MB whatever the image size. The upload sets the
    pace, so the source's bytes wait in the SSH channel: bounded by its window
    (`backends/ssh/window.py`), else they pile up (130 MB for a 300 MB layer)."""
    tag = f"corral-test/big-{uuid.uuid4().hex[:6]}:1"
    lab1 = engine(lab.host("lab1").socket)
    commit_layer(lab1, BASE, "head -c 200000000 /dev/urandom > /big.bin", tag)
    peak = [0.0]

    def sample(sent: int, read: int) -> None:
        peak[0] = max(peak[0], rss_mib())

    try:
        with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
            before = rss_mib()
            started = time.monotonic()
            report = push_image(fleet.session("lab1"), fleet.session("lab2"), tag,
                                on_progress=sample)
            elapsed = time.monotonic() - started
        print(f"\n200 MB layer: body {report.bytes_sent} B in {elapsed:.1f} s, RSS "
              f"{before:.0f} -> peak {peak[0]:.0f} MiB")
        assert report.mode == "partial" and report.bytes_sent >= 200_000_000
        assert peak[0] - before <= 50
    finally:
        lab1.images.remove(tag)
        with contextlib.suppress(docker.errors.ImageNotFound):
            engine(lab.host("lab2").socket).images.remove(tag)


def test_two_hosts_missing_an_image_at_once_share_one_read_of_the_source(lab: Lab) -> None:
    """Concurrent pushes of one image from one engine (`corral images push --to a,b`)
    ask that engine for ONE `docker save` (its `save` events count them), and each
    target still gets the image."""
    tag = f"corral-test/fanout-{uuid.uuid4().hex[:6]}:1"
    lab1 = engine(lab.host("lab1").socket)
    commit_layer(lab1, BASE, "head -c 3000000 /dev/urandom > /fan.bin", tag)
    image_id = lab1.images.get(tag).id
    targets = ("lab2", "lab3")
    since = int(time.time()) - 1
    try:
        with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet), \
                concurrent.futures.ThreadPoolExecutor(len(targets)) as pool:
            reports = list(pool.map(
                lambda host: push_image(fleet.session("lab1"), fleet.session(host), tag),
                targets))
        until = int(time.time()) + 1
        saves = list(lab1.api.events(since=since, until=until, decode=True,
                                     filters={"type": "image", "event": "save"}))
        print(f"\n{len(saves)} save(s) on lab1 for {len(targets)} targets")
        assert len(saves) == 1
        assert [report.mode for report in reports] == ["partial", "partial"]
        for host in targets:
            assert engine(lab.host(host).socket).images.get(tag).id == image_id
    finally:
        for host in ("lab1", *targets):
            with contextlib.suppress(docker.errors.ImageNotFound):
                engine(lab.host(host).socket).images.remove(tag)
