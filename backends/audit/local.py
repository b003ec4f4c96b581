"""The local audit file: JSON lines in the XDG state directory.

`$XDG_STATE_HOME/corral/audit.jsonl` (default `~/.local/state/corral/`), the
folder 0700 and the file 0600: entries name hosts, users and objects.

Two Corral processes may append at once: each line is written by one
`write()` on a descriptor opened with `O_APPEND`, which the kernel appends
whole, so lines never interleave. The file is bounded: past `MAX_BYTES` it is
renamed `audit.jsonl.1` (replacing the previous one) under an advisory lock,
and a new file starts; readers read both.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from corral.backends.audit.entry import AuditEntry, from_dict

log = logging.getLogger(__name__)

FILE_NAME = "audit.jsonl"
#: Size past which the file is rotated (one older generation is kept).
MAX_BYTES = 4 * 1024 * 1024
#: Longest line read back; longer ones are not ours.
MAX_LINE = 64 * 1024


def state_dir() -> Path:
    """`$XDG_STATE_HOME/corral`, or `~/.local/state/corral`."""
    base = os.environ.get("XDG_STATE_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    return root / "corral"


def audit_path() -> Path:
    """Where the local audit file is."""
    return state_dir() / FILE_NAME


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)


@contextlib.contextmanager
def _rotation_lock(folder: Path) -> Iterator[None]:
    fd = os.open(folder / ".audit.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _rotate_if_full(path: Path, max_bytes: int) -> None:
    try:
        if path.stat().st_size < max_bytes:
            return
    except FileNotFoundError:
        return
    # Another process may have rotated while this one waited for the lock.
    with _rotation_lock(path.parent), contextlib.suppress(FileNotFoundError):
        if path.stat().st_size >= max_bytes:
            os.replace(path, path.with_name(path.name + ".1"))


def append(entry: AuditEntry, path: Path | None = None, max_bytes: int = MAX_BYTES) -> Path:
    """Append one entry as one line.

    Args:
        entry: The entry.
        path: The file; default `audit_path()`.
        max_bytes: Rotate the file once it has grown past this.

    Returns:
        The file written.

    Raises:
        OSError: The file cannot be written.
    """
    path = path or audit_path()
    _private_dir(path.parent)
    _rotate_if_full(path, max_bytes)
    line = (json.dumps(entry.to_dict(), sort_keys=True, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
        os.write(fd, line)  # one write: O_APPEND keeps it whole beside other writers
    finally:
        os.close(fd)
    return path


def read(path: Path | None = None) -> list[AuditEntry]:
    """Every readable entry of the file and of its rotated predecessor, oldest first.

    Lines that are not entries (a torn write after a crash, a hand edit) are
    skipped with a log message.
    """
    path = path or audit_path()
    entries = []
    for part in (path.with_name(path.name + ".1"), path):
        try:
            handle = part.open("rb")
        except FileNotFoundError:
            continue
        with handle:
            for number, raw in enumerate(handle, 1):
                if len(raw) > MAX_LINE or not raw.strip():
                    continue
                try:
                    entries.append(from_dict(json.loads(raw)))
                except ValueError as exc:
                    log.warning("%s:%d: skipped: %s", part, number, exc)
    entries.sort(key=lambda entry: entry.time)
    return entries
