"""Layer chains: which of an image's layers a host already holds, and their names in a save.

Pure: no I/O. An image's filesystem is the ordered list of its layers' diffIDs
(`RootFS.Layers`, the sha256 of each uncompressed layer tar). A layer is only
usable on top of the same layers below it, so engines key layers by *chain ID*
(the OCI rule): the first layer's chain ID is its diffID, and each next one is
`sha256(parent_chain + " " + diffID)`. An engine that holds any image whose
chain passes through a chain ID holds that layer, with everything under it.

`docker save` (`GET /images/{name}/get`) on engines up to Docker 24 names each
layer's directory by a legacy v1 ID instead of its diffID; `legacy_layer_ids`
recomputes those names so a filter can recognise a layer's `layer.tar` before
its bytes go by (in Docker 20.10's archive the `manifest.json` mapping names to
layers comes last). Docker 25 and later name layer blobs `blobs/sha256/<diffID>`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

#: `container_config` of the placeholder v1 image Docker (up to 24) writes for every
#: layer but the top one of a save, exactly as Go's encoding/json marshals it; a v1 ID
#: hashes it. Checked against Docker 20.10's archives (tests/unit/backends/images).
_EMPTY_CONTAINER_CONFIG = (
    '{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,'
    '"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,'
    '"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,'
    '"Labels":null}'
)
_EPOCH = "1970-01-01T00:00:00Z"


def _sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """The chain ID of each layer of an image, bottom first.

    Args:
        diff_ids: The image's `RootFS.Layers` (`sha256:<hex>` each), bottom first.

    Returns:
        One chain ID per layer, in the same order.
    """
    chains: list[str] = []
    for diff_id in diff_ids:
        chains.append(diff_id if not chains else _sha256(f"{chains[-1]} {diff_id}"))
    return chains


def legacy_layer_ids(diff_ids: Sequence[str]) -> list[str]:
    """The directory names (hex v1 IDs) `docker save` up to Docker 24 gives every
    layer but the top one.

    The top layer's name hashes the whole image configuration, as Go marshals
    it, so it is not recomputed: a filter that does not recognise it keeps it.

    Args:
        diff_ids: The image's `RootFS.Layers`, bottom first.

    Returns:
        `len(diff_ids) - 1` hex names, bottom first (empty for a one-layer image).
    """
    names: list[str] = []
    parent = ""
    for chain in chain_ids(diff_ids)[:-1]:
        # Go marshals map keys sorted: container_config, created, layer_id, parent.
        text = (f'{{"container_config":{_EMPTY_CONTAINER_CONFIG},"created":"{_EPOCH}",'
                f'"layer_id":"{chain}"' + (f',"parent":"{parent}"' if parent else "") + "}")
        parent = _sha256(text)
        names.append(parent.removeprefix("sha256:"))
    return names


def present_chains(images: Iterable[Mapping]) -> set[str]:
    """Every layer chain a host holds, from its images' inspect data.

    Args:
        images: `docker image inspect` results (each with `RootFS.Layers`).

    Returns:
        The chain ID of every layer of every image, prefixes included.
    """
    chains: set[str] = set()
    for image in images:
        chains.update(chain_ids((image.get("RootFS") or {}).get("Layers") or []))
    return chains


@dataclass(frozen=True)
class LayerPlan:
    """Which layers of an image a target lacks, and the archive members it may skip.

    Attributes:
        diff_ids: The image's layers, bottom first.
        present: For each layer, whether the target holds its chain.
        members: Archive member name -> layer index, for every layer the target
            holds whose `layer.tar` a save names recognisably (both the legacy
            `<v1 id>/layer.tar` and the Docker 25+ `blobs/sha256/<hex>`).
    """

    diff_ids: tuple[str, ...]
    present: tuple[bool, ...]
    members: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def for_target(cls, diff_ids: Sequence[str], target_chains: set[str]) -> LayerPlan:
        """Plan the transfer of an image with `diff_ids` to a host holding `target_chains`."""
        chains = chain_ids(diff_ids)
        present = tuple(chain in target_chains for chain in chains)
        # A layer is only present with all those under it; a chain is a prefix anyway.
        members: dict[str, int] = {}
        for index, name in enumerate(legacy_layer_ids(diff_ids)):
            if present[index]:
                members[f"{name}/layer.tar"] = index
        for index, diff_id in enumerate(diff_ids):
            # One blob serves every position of a diffID (two empty layers): skip it
            # only if the target holds them all.
            if all(present[i] for i, other in enumerate(diff_ids) if other == diff_id):
                members[f"blobs/sha256/{diff_id.removeprefix('sha256:')}"] = index
        return cls(tuple(diff_ids), present, members)

    @property
    def missing(self) -> int:
        """How many layers the target lacks."""
        return self.present.count(False)

    def consistent(self, manifest_layers: Sequence[str]) -> bool:
        """Whether a save's `manifest.json` agrees with the members this plan skips.

        Args:
            manifest_layers: The `Layers` list of the image's manifest entry,
                bottom first.

        Returns:
            False if a member this plan skips is, in the manifest, a layer the
            target does not hold at some position.
        """
        if len(manifest_layers) != len(self.diff_ids):
            return not any(name in self.members for name in manifest_layers)
        return all(self.present[index] for index, name in enumerate(manifest_layers)
                   if name in self.members)
