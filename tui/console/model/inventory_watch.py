"""Noticing that the inventory file changed, so the console follows it without a restart.

A host removed with `corral hosts rm` (or by editing the file) must stop being
acted on at once, not when someone restarts the console. Polling the file's
stat is cheap (one `stat` every few seconds) and needs no inotify, which
remote and container filesystems often lack.
"""

from __future__ import annotations

import os
from pathlib import Path

from corral.backends.inventory import Inventory, load_inventory

#: Seconds between two looks at the file.
POLL_SECONDS = 2.0


class InventoryWatch:
    """Tells when the inventory file changed since it was last read.

    Args:
        path: The inventory file; None (the implicit local host) never changes.
    """

    def __init__(self, path: str | os.PathLike[str] | None):
        self.path = Path(path) if path is not None else None
        self.stamp = self._stamp()

    def _stamp(self) -> tuple[int, int, int] | None:
        if self.path is None:
            return None
        try:
            info = self.path.stat()
        except OSError:
            return None
        # An editor that writes a new file and renames it changes the inode.
        return info.st_mtime_ns, info.st_size, info.st_ino

    def changed(self) -> bool:
        """Whether the file looks different from when it was last read (one stat)."""
        return self.path is not None and self._stamp() != self.stamp

    def read(self) -> Inventory:
        """Read the file again and remember its stamp (blocking: a worker thread).

        A file that fails to load is remembered too: it is not reported
        again until it changes once more.

        Raises:
            InventoryError: The file is malformed (naming file and line) or gone.
        """
        assert self.path is not None
        self.stamp = self._stamp()
        return load_inventory(self.path)
