"""Layer chains and the names `docker save` gives layers (corral.backends.images.layers)."""

from __future__ import annotations

from corral.backends.images.layers import (
    LayerPlan,
    chain_ids,
    legacy_layer_ids,
    present_chains,
)

# A four-layer image committed onto the lab's busybox on Docker 20.10, and the layer
# directory names its `docker save` archive had (measured 2026-12-03).
DIFF_IDS = [
    "sha256:5ccd50132ec2771995bcd90230971bfbdadb29b93b838786cf01ebd943c2ccd6",
    "sha256:52822ae3f4280ab2ea5d70660a63b7a1cedce069cc796199822b9004bc6b2959",
    "sha256:6b1dffd7cec20c4884e937432d3f4c50771d6c93b622fc14530aae2acfb9d4f2",
    "sha256:21613c6aea80e9643744544379b46b26da191ba9409365f793a5c6e381729f60",
]
SAVED_DIRS = [
    "ff197448d064b68d41a43e8e0f9ea86907f2158d3c8f32164b88c6e2dbcdb580",
    "fdc96203ee69c0f501ba6a7c768646d126b9efd818e64641b00f9b322b4d80c2",
    "7a48d3ddab868353b0bf715b5d111ab2bc6bd34823d2732ec61f84dd47ae3e47",
    "88d88d2c142cdb3b7979340270a3d45676bf659af0b68d68dffe4a57bb6311a6",  # top: not derivable
]


def test_chain_ids_follow_the_oci_rule() -> None:
    import hashlib

    chains = chain_ids(DIFF_IDS[:2])
    assert chains[0] == DIFF_IDS[0]
    expected = hashlib.sha256(f"{DIFF_IDS[0]} {DIFF_IDS[1]}".encode()).hexdigest()
    assert chains[1] == f"sha256:{expected}"
    assert chain_ids([]) == []


def test_legacy_layer_ids_are_the_directory_names_docker_20_10_saves() -> None:
    assert legacy_layer_ids(DIFF_IDS) == SAVED_DIRS[:3]
    assert legacy_layer_ids(DIFF_IDS[:1]) == []


def test_present_chains_hold_every_prefix_of_every_image() -> None:
    images = [{"RootFS": {"Layers": DIFF_IDS[:2]}}, {"RootFS": {}}, {}]
    assert present_chains(images) == set(chain_ids(DIFF_IDS[:2]))


def test_a_plan_skips_the_layers_whose_chain_the_target_holds() -> None:
    plan = LayerPlan.for_target(DIFF_IDS, set(chain_ids(DIFF_IDS[:2])))
    assert plan.present == (True, True, False, False) and plan.missing == 2
    assert {name for name in plan.members if name.endswith("/layer.tar")} == {
        f"{SAVED_DIRS[0]}/layer.tar", f"{SAVED_DIRS[1]}/layer.tar"}
    assert f"blobs/sha256/{DIFF_IDS[1].removeprefix('sha256:')}" in plan.members


def test_the_same_layer_elsewhere_in_another_chain_is_not_present() -> None:
    # The target holds layer 1's content, but on top of another base: not usable.
    other = ["sha256:" + "0" * 64, DIFF_IDS[1]]
    plan = LayerPlan.for_target(DIFF_IDS, present_chains([{"RootFS": {"Layers": other}}]))
    assert plan.present == (False, False, False, False) and not plan.members


def test_a_blob_shared_by_two_positions_is_skipped_only_if_both_are_present() -> None:
    empty = "sha256:" + "e" * 64
    diff_ids = [DIFF_IDS[0], empty, DIFF_IDS[1], empty]
    partial = LayerPlan.for_target(diff_ids, set(chain_ids(diff_ids[:2])))
    assert f"blobs/sha256/{'e' * 64}" not in partial.members
    whole = LayerPlan.for_target(diff_ids, set(chain_ids(diff_ids)))
    assert f"blobs/sha256/{'e' * 64}" in whole.members


def test_a_manifest_must_agree_with_what_is_skipped() -> None:
    plan = LayerPlan.for_target(DIFF_IDS, set(chain_ids(DIFF_IDS[:1])))
    layers = [f"{name}/layer.tar" for name in SAVED_DIRS]
    assert plan.consistent(layers)
    assert not plan.consistent([layers[1], layers[0], *layers[2:]])
    assert not plan.consistent(layers[:1])
    assert plan.consistent(["a/layer.tar"])  # nothing skipped in it: harmless
