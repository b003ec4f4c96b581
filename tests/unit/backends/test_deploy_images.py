"""How deploy chooses, per host and image, present · pull · push · unavailable (pure), and
how a failed transfer is reported (fakes)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from corral.backends.deploy import image_plan
from corral.backends.deploy.image_plan import (
    EMPTY_LAYER,
    HostImages,
    ImageRow,
    decide,
    human_bytes,
    layer_sizes,
    missing_bytes,
    named_registry,
    unavailable_problems,
)
from corral.backends.errors import BackendError, PushRejected
from corral.backends.images import chain_ids
from corral.backends.ssh.fleet import HostResult

BASE, BIG, TOP = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64
APP = "team/app:1"
REG = "10.0.0.5:5000/team/app:1"


def inspect(*layers: str) -> dict:
    return {"Id": "sha256:" + "9" * 64, "RootFS": {"Layers": list(layers)}}


def held(*images: str, chains: set[str] | None = None, sizes: dict | None = None) -> HostImages:
    return HostImages({image: inspect(BASE, BIG, TOP) for image in images}, chains, sizes)


def test_a_present_image_is_present_and_nothing_moves() -> None:
    rows = decide({"h1": [APP]}, {"h1": held(APP)})
    assert rows == [ImageRow("h1", APP, "present")]


def test_an_image_another_host_has_is_pushed_from_it_with_the_missing_layers_bytes() -> None:
    sizes = {APP: [1000, 6_000_000, 20]}
    hosts = {"src": held(APP, sizes=sizes),
             "dst": held(chains=set(chain_ids([BASE])))}  # holds the base layer only
    [row] = decide({"dst": [APP]}, hosts, order=["src", "dst"])
    assert (row.action, row.source, row.bytes) == ("push", "src", 6_000_020)
    assert row.describe() == "push from src (6.0 MB)"


def test_the_push_source_is_the_first_holder_in_inventory_order() -> None:
    hosts = {"a": held(), "b": held(APP), "c": held(APP)}
    rows = decide({"a": [APP]}, hosts, order=["c", "b", "a"])
    assert rows[0].source == "c"
    # Several targets missing the same image each get a row (they run concurrently).
    rows = decide({"a": [APP], "d": [APP]}, {**hosts, "d": held()}, order=["b", "c"])
    assert [(r.host, r.action, r.source) for r in rows] == [("a", "push", "b"),
                                                           ("d", "push", "b")]


def test_an_image_naming_a_registry_is_pulled_with_a_push_as_fallback() -> None:
    hosts = {"h1": held(), "h2": held(REG)}
    rows = decide({"h1": [REG]}, hosts, order=["h1", "h2"])
    assert rows == [ImageRow("h1", REG, "pull", "10.0.0.5:5000", fallback="h2")]
    assert rows[0].describe() == "pull from 10.0.0.5:5000, else push from h2"
    # --pull never: the host that has it pushes it.
    [never] = decide({"h1": [REG]}, hosts, "never")
    assert (never.action, never.source) == ("push", "h2")


def test_pull_always_pulls_a_present_image_that_names_a_registry_only() -> None:
    hosts = {"h1": held(REG, APP)}
    rows = decide({"h1": [REG, APP]}, hosts, "always")
    assert {r.image: r.action for r in rows} == {REG: "pull", APP: "present"}


def test_an_image_nobody_has_is_pulled_unless_pull_never_says_no() -> None:
    [row] = decide({"h1": [APP]}, {"h1": held()})
    assert (row.action, row.source) == ("pull", "docker.io")
    [row] = decide({"h1": [APP]}, {"h1": held()}, "never")
    assert row.action == "unavailable" and "--pull never" in row.why
    assert unavailable_problems([row]) == {"h1": [f"image {APP} unavailable: {row.why}"]}
    [row] = decide({"h1": ["sha256:" + "f" * 64]}, {"h1": held()})
    assert row.action == "unavailable" and "names no registry" in row.why


def test_an_offline_source_is_no_source() -> None:
    # Only online hosts are read: a host that is not in `hosts` cannot be a source.
    [row] = decide({"h1": [APP]}, {"h1": held()}, "never", order=["gone", "h1"])
    assert row.action == "unavailable"


@pytest.mark.parametrize(("image", "registry"), [
    ("10.0.0.5:5000/team/app:1", "10.0.0.5:5000"),
    ("registry.example.com/app", "registry.example.com"),
    ("localhost/app:2", "localhost"), ("team/app:1", ""), ("busybox", ""),
])
def test_only_an_explicit_registry_counts_as_named(image: str, registry: str) -> None:
    assert named_registry(image) == registry


def test_layer_sizes_come_from_history_bottom_first_skipping_empty_steps() -> None:
    history = [{"Size": 20}, {"Size": 0}, {"Size": 6000}, {"Size": 1000}]  # top first
    assert layer_sizes([BASE, BIG, TOP], history) == [1000, 6000, 20]
    # Four steps, three layers, one of them the empty tar: sizes pair with real layers.
    steps = [{"Size": 20}, {"Size": 0}, {"Size": 0}, {"Size": 1000}]
    assert layer_sizes([BASE, EMPTY_LAYER, TOP], steps) == [1000, 0, 20]
    assert layer_sizes([BASE], [{"Size": 1}, {"Size": 2}]) is None
    assert missing_bytes([BASE, BIG], None, set()) is None
    assert missing_bytes([BASE, BIG], [5, 7], set(chain_ids([BASE, BIG]))) == 0


def test_bytes_read_humanly() -> None:
    assert [human_bytes(n) for n in (0, 999, 6_000_020, 1_500_000_000, 250_000_000)] == [
        "0 B", "999 B", "6.0 MB", "1.5 GB", "250 MB"]


def test_a_failed_transfer_is_one_line_naming_the_image(monkeypatch: pytest.MonkeyPatch) -> None:
    """An engine's reason (a full disk) rarely names the image: the host's line does."""
    def push(source, target, image, **kwargs):
        if image == "team/big:1":
            raise PushRejected("write /x/layer.tar: no space left on device", host=target.name)
        return SimpleNamespace(layers=0, bytes_sent=0)

    class Fleet:
        readonly = False
        registries = ()
        sessions = {"lab1": SimpleNamespace(name="lab1")}

        def query(self, run, hosts):
            results = []
            for host in hosts:
                try:
                    results.append(HostResult(host, run(SimpleNamespace(name=host,
                                                                        readonly=False))))
                except BackendError as error:
                    results.append(HostResult(host, error=error))
            return results

    monkeypatch.setattr(image_plan, "push_image", push)
    rows = [ImageRow("lab2", APP, "push", "lab1"), ImageRow("lab2", "team/big:1", "push", "lab1"),
            ImageRow("lab3", APP, "push", "lab1")]
    assert image_plan.transfer(Fleet(), rows) == {
        "lab2": "team/big:1: write /x/layer.tar: no space left on device"}


def test_a_bundle_is_the_source_of_its_images_before_hosts_and_registries() -> None:
    bundled = HostImages({APP: inspect(BASE, BIG, TOP), REG: inspect(BASE, BIG, TOP)},
                         sizes={APP: [1000, 6_000_000, 20], REG: [1000, 6_000_000, 20]})
    hosts = {"src": held(APP, REG), "dst": held(chains=set(chain_ids([BASE])))}
    rows = decide({"dst": [APP, REG]}, hosts, order=["src", "dst"],
                  bundle=("bundle one.bundle", bundled))
    assert [(r.image, r.action, r.source, r.bytes) for r in rows] == [
        (REG, "push", "bundle one.bundle", 6_000_020),
        (APP, "push", "bundle one.bundle", 6_000_020)]
    assert rows[0].describe() == "push from bundle one.bundle (6.0 MB)"


def test_a_host_holding_another_image_of_the_bundles_name_gets_the_bundles() -> None:
    bundled = HostImages({APP: {"Id": "sha256:" + "1" * 64, "RootFS": {"Layers": [BASE]}}},
                         sizes={APP: [10]})
    [row] = decide({"h1": [APP]}, {"h1": held(APP)}, bundle=("bundle b", bundled))
    assert (row.action, row.source) == ("push", "bundle b") and "another" in row.why
    same = HostImages({APP: inspect(BASE, BIG, TOP)}, sizes={APP: None})
    [row] = decide({"h1": [APP]}, {"h1": held(APP)}, bundle=("bundle b", same))
    assert row.action == "present"
    # An image the bundle lacks is decided as without a bundle.
    [row] = decide({"h1": ["other:1"]}, {"h1": held()}, bundle=("bundle b", same))
    assert (row.action, row.source) == ("pull", "docker.io")
