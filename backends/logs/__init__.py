"""Following logs: one container, or every replica of a service or stack, merged.

What the layers above may import; everything else in this package is internal.
"""

from corral.backends.logs.demux import NOTICE, STDERR, LogLine, format_rfc3339_ns, parse_rfc3339_ns
from corral.backends.logs.follow import LogFollower, LogOptions, LogSource
from corral.backends.logs.spool import LogHistory
from corral.backends.logs.target import CONTAINER, BadTarget, LogTarget, parse_target

__all__ = [
    "BadTarget",
    "CONTAINER",
    "format_rfc3339_ns",
    "LogFollower",
    "LogHistory",
    "LogLine",
    "LogOptions",
    "LogSource",
    "LogTarget",
    "NOTICE",
    "parse_rfc3339_ns",
    "parse_target",
    "STDERR",
]
