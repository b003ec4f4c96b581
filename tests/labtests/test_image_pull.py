"""Pulling an image on a lab host through Corral's tunnel, from the lab registry.

The registry is seeded by pushing a multi-layer busybox-based image from a
reachable host's engine; a host the registry is blocked from (iptables drops
its packets, a silent firewall) must fail fast with one clear line.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid

import pytest

from corral.backends.errors import ActionRefused, RegistryUnreachable
from corral.backends.images import LayerProgress, pull_image
from tests.support.images import MB, build_layered_image, push_to_registry, remove_image
from tests.support.lab import Lab
from tests.support.lab_cli import engine, running_fleet

pytestmark = pytest.mark.lab

#: Generous bound on a blocked host's failure: the pull's own deadline is 8 s; the
#: engine, left alone, waits out two 30 s dials (https, then http) and more.
FAIL_FAST = 20.0
BIG = 6 * MB


def registry_image_id(address: str, repository: str, tag: str) -> str:
    """The image ID the registry serves: its manifest's config digest."""
    request = urllib.request.Request(
        f"http://{address}/v2/{repository}/manifests/{tag}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["config"]["digest"]


@pytest.fixture(scope="module")
def seeded(lab: Lab):
    """A two-layer image (a big random file, then a marker) pushed to the lab registry
    from the first reachable host; removed from every lab engine afterwards."""
    source = lab.registry_hosts(reachable=True)[0]
    name = f"corral-test/pull-{uuid.uuid4().hex[:8]}"
    ref = f"{lab.registry_address}/{name}:1"
    client = engine(lab.host(source).socket)
    image_id = build_layered_image(client, name, "1", big_bytes=BIG)
    push_to_registry(client, image_id, ref)
    yield ref, name, image_id
    for host in lab.hosts:
        other = engine(host.socket)
        for leftover in (ref, f"{name}:1"):
            remove_image(other, leftover)
        other.close()
    client.close()


def test_a_reachable_host_pulls_through_the_tunnel_with_layer_progress(
    lab: Lab, seeded
) -> None:
    ref, name, image_id = seeded
    target = lab.registry_hosts(reachable=True)[1]
    direct = engine(lab.host(target).socket)
    remove_image(direct, ref)
    progress: list[LayerProgress] = []
    with running_fleet(lab.inventory, lab.known_hosts) as (_loop, fleet):
        result = pull_image(fleet.session(target), ref, on_progress=progress.append)
    registry_id = registry_image_id(lab.registry_address, name, "1")
    assert result.image_id == registry_id == image_id
    assert direct.images.get(ref).id == image_id
    # Three layers: busybox's, then the two committed. The base is on the host already,
    # but an engine skips a layer only when it knows the registry's blob for it (it
    # pulled or pushed that blob before), so here it may come down again.
    assert len(result.layers) == 3
    assert set(result.layers.values()) <= {"Already exists", "Pull complete"}
    big = [p for p in progress if p.status == "Downloading" and (p.total or 0) >= BIG]
    assert big, f"no download progress for the {BIG}-byte layer: {progress[:5]}"
    assert result.downloaded >= BIG
    direct.close()


def test_a_blocked_host_fails_fast_with_one_clear_line(lab: Lab, seeded) -> None:
    ref, _name, _image_id = seeded
    target = lab.registry_hosts(reachable=False)[0]
    with running_fleet(lab.inventory, lab.known_hosts) as (_loop, fleet):
        started = time.monotonic()
        with pytest.raises(RegistryUnreachable) as caught:
            pull_image(fleet.session(target), ref)
        elapsed = time.monotonic() - started
    message = str(caught.value)
    print(f"\nblocked host {target}: failed in {elapsed:.1f}s: {message}")
    assert elapsed < FAIL_FAST, f"took {elapsed:.1f}s"
    assert message == (f"{target}: registry {lab.registry_address} unreachable: "
                       f"no answer within 8s")
    assert not engine(lab.host(target).socket).images.list(name=ref)


def test_a_readonly_session_refuses_and_pulls_nothing(lab: Lab, seeded) -> None:
    ref, _name, _image_id = seeded
    target = lab.registry_hosts(reachable=True)[1]
    direct = engine(lab.host(target).socket)
    remove_image(direct, ref)
    refused = pytest.raises(ActionRefused, match=f"read-only: refusing to image.pull {ref}")
    with running_fleet(lab.inventory, lab.known_hosts, readonly=True) as (_loop, fleet), refused:
        pull_image(fleet.session(target), ref)
    assert not direct.images.list(name=ref)
    direct.close()
