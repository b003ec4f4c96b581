"""Volumes' files moved through the engine's archive API: export, import, copy.

What the layers above may import; everything else in this package is internal.
"""

from corral.backends.volumes.archive_check import ArchiveSummary, check_archive
from corral.backends.volumes.helper import (
    HELPER_LABEL,
    HELPER_PREFIX,
    VolumeState,
    volume_state,
)
from corral.backends.volumes.target import VolumeRef, check_volume_name, parse_volume_ref
from corral.backends.volumes.transfer import (
    TransferResult,
    copy_volume,
    export_volume,
    import_volume,
)

__all__ = [
    "ArchiveSummary",
    "check_archive",
    "check_volume_name",
    "copy_volume",
    "export_volume",
    "HELPER_LABEL",
    "HELPER_PREFIX",
    "import_volume",
    "parse_volume_ref",
    "TransferResult",
    "VolumeRef",
    "VolumeState",
    "volume_state",
]
