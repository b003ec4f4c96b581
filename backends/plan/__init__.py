"""The deploy planner: where each container goes, and why. Pure: no I/O.

What the layers above may import; everything else in this package is internal.
"""

from corral.backends.plan.model import CONFIG_CHANGED, KEEP, REPLACE, Plan, Step

__all__ = [
    "CONFIG_CHANGED",
    "KEEP",
    "REPLACE",
    "Plan",
    "Step",
]
