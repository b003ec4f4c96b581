"""MISSING ON worked out from the store's containers and the images listing (pure)."""

from __future__ import annotations

from corral.backends.engine import ImageRow
from corral.tui.console.model.image_needs import (
    NeededImage,
    needed_images,
    normal_reference,
    with_needs,
)
from tests.support.fleet_data import container


def test_references_are_compared_as_engines_list_tags() -> None:
    assert normal_reference("busybox") == "busybox:latest"
    assert normal_reference("10.0.0.5:5000/team/app") == "10.0.0.5:5000/team/app:latest"
    assert normal_reference("team/app:1.4") == "team/app:1.4"
    assert normal_reference("sha256:" + "a" * 64) is None
    assert normal_reference("a1b2c3d4e5f6") is None
    assert normal_reference("team/app@sha256:" + "b" * 64) is None


def test_only_the_stacks_images_are_needed() -> None:
    rows = [container("lab1", 1, "web-1", "team/web", "Up 1 hour", "shop", "web"),
            container("lab1", 2, "toolbox", "busybox:1", "Up 1 hour")]
    assert needed_images(rows) == {"team/web:latest"}


def test_missing_hosts_and_a_row_for_an_image_no_host_holds() -> None:
    listing = {"lab1/web": ImageRow("lab1", "aaa", ["team/web:1"], 1, 0, ["web-1"])}
    records, missing = with_needs(listing, {"team/web:1", "team/db:2"}, ["lab1", "lab2"])
    assert missing == {"team/db:2": ["lab1", "lab2"], "team/web:1": ["lab2"]}
    assert records["-/team/db:2"] == NeededImage("team/db:2", ["lab1", "lab2"])
    assert set(records) == {"lab1/web", "-/team/db:2"}
