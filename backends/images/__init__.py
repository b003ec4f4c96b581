"""Images reaching the hosts: pulled by a host's engine from a registry it can reach.

What the layers above may import; everything else in this package is internal.
"""

from corral.backends.images.pull import (
    REACH_TIMEOUT,
    LayerProgress,
    ProgressCallback,
    PullResult,
    pull_image,
    split_reference,
)

__all__ = [
    "LayerProgress",
    "ProgressCallback",
    "PullResult",
    "pull_image",
    "REACH_TIMEOUT",
    "split_reference",
]
