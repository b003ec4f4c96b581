"""Interactive `docker exec` in a container over a host's tunnel.

What the layers above may import; everything else in this package is internal.
"""

from corral.backends.exec.attach import ExecRequest, ExecStream, exec_frames
from corral.backends.exec.debug import (
    DEBUG_OF,
    NotRunning,
    not_running,
    remove_debug_copy,
    start_debug_copy,
)
from corral.backends.exec.target import ContainerTarget, parse_container_target

__all__ = [
    "ContainerTarget",
    "DEBUG_OF",
    "NotRunning",
    "not_running",
    "remove_debug_copy",
    "start_debug_copy",
    "exec_frames",
    "ExecRequest",
    "ExecStream",
    "parse_container_target",
]
