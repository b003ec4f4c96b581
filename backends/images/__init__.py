"""Images onto hosts: layer chains, the streaming archive filter, push over SSH.

What the layers above may import; everything else in this package is internal.
"""

from corral.backends.images.archive import FilterStats, filter_archive
from corral.backends.images.layers import LayerPlan, chain_ids, present_chains
from corral.backends.images.push import EngineSource, ImageSource, PushReport, push_image

__all__ = [
    "chain_ids",
    "EngineSource",
    "filter_archive",
    "FilterStats",
    "ImageSource",
    "LayerPlan",
    "present_chains",
    "push_image",
    "PushReport",
]
