"""Images onto hosts: pulled by a host's engine from a registry it can reach, or pushed
over SSH sending only the layers the target lacks (layer chains, the streaming archive filter).

What the layers above may import; everything else in this package is internal.
"""

from corral.backends.images.archive import FilterStats, filter_archive
from corral.backends.images.bundle import (
    Bundle,
    BundleImage,
    BundleSource,
    VerifyReport,
    entry_id,
    extract_entry,
    member_chunks,
    open_bundle,
    verify_bundle,
)
from corral.backends.images.bundle_write import BundledImage, BundleReport, write_bundle
from corral.backends.images.layers import LayerPlan, chain_ids, present_chains
from corral.backends.images.listing import HostImage, list_images
from corral.backends.images.pull import (
    REACH_TIMEOUT,
    LayerProgress,
    ProgressCallback,
    PullResult,
    PullTally,
    pull_image,
    split_reference,
)
from corral.backends.images.push import (
    EngineSource,
    ImageSource,
    PushReport,
    host_chains,
    push_image,
    saved_archive,
)
from corral.backends.images.remove import RemoveReport, remove_images, unused_images
from corral.backends.images.sources import ImageSources, check_online, find_sources, holds

__all__ = [
    "Bundle",
    "BundledImage",
    "BundleImage",
    "BundleReport",
    "BundleSource",
    "chain_ids",
    "check_online",
    "EngineSource",
    "entry_id",
    "extract_entry",
    "filter_archive",
    "find_sources",
    "FilterStats",
    "host_chains",
    "holds",
    "HostImage",
    "ImageSources",
    "ImageSource",
    "LayerPlan",
    "open_bundle",
    "LayerProgress",
    "list_images",
    "member_chunks",
    "present_chains",
    "ProgressCallback",
    "PullResult",
    "PullTally",
    "pull_image",
    "push_image",
    "saved_archive",
    "PushReport",
    "REACH_TIMEOUT",
    "remove_images",
    "RemoveReport",
    "split_reference",
    "unused_images",
    "verify_bundle",
    "VerifyReport",
    "write_bundle",
]
