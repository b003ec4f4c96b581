"""Adding hosts to and removing hosts from the inventory file.

Operators annotate their inventories, so edits are made to the text: a new
host is appended as a block at the end of the `hosts:` list, a removed host's
lines (with the comment right above it) are cut. Only when the layout makes
that unsafe (a flow-style `hosts: [...]`, anchors a removal would break) is
the file rewritten from its data, losing comments.

Every write is atomic: a temporary file in the same directory is written,
synced, loaded back and checked, then renamed over the original, so a crash
leaves either the old inventory or the new one, never half of either.

Each edit passes the gate (`backends/guard.py`) as `hosts.add` or
`hosts.rm`: a read-only Corral writes nothing, whichever UI asks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from corral.backends import guard
from corral.backends.errors import InventoryError
from corral.backends.inventory.host_entry import HostEntry
from corral.backends.inventory.load import HostSpec, Inventory, load_inventory, parse_target
from corral.backends.inventory.text import appended, cut, rewritten
from corral.catalog.bounded import read_bytes
from corral.catalog.excerpt import quoted
from corral.catalog.yamlsource import load_file


def add_host(path: str | os.PathLike[str], entry: HostEntry) -> Inventory:
    """Append a host to an inventory file, creating the file if needed.

    Args:
        path: The inventory file; created (in a 0700 directory) if missing.
        entry: The host to add.

    Returns:
        The inventory as written.

    Raises:
        ActionRefused: Corral is read-only; nothing was written.
        InventoryError: Naming the file: it is invalid, already has a host of
            that name, the result would not load, or it cannot be written.
    """
    args = {"ssh": entry.ssh, "labels": dict(entry.labels), "jump": list(entry.jump),
            "socket": entry.socket, "inventory": str(path)}
    with guard.mutating("hosts.add", target=entry.name, args=args):
        return _add_host(_real(path), entry)


def _add_host(path: Path, entry: HostEntry) -> Inventory:
    text, before = _read(path)
    old = _existing(path, text, before)
    _refuse_duplicate(old, entry.name)
    if before is None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    candidates = [appended(text, entry.to_mapping())]
    candidates.append(rewritten([*_plain_hosts(path, before), entry.to_mapping()]))

    def expected(new: Inventory) -> bool:
        added = new.hosts[-1] if new.hosts else None
        return (
            _unlined(new.hosts[:-1]) == _unlined(old.hosts)
            and added is not None
            and added.name == entry.name
            and str(added.ssh) == str(parse_target(entry.ssh))
            and added.labels == entry.labels
        )

    return _replace(path, candidates, expected, before)


def check_new_name(path: str | os.PathLike[str], name: str) -> None:
    """Check, before trying a host, that it could be added under `name`.

    Raises:
        InventoryError: The file is invalid or already has a host `name`.
    """
    path = _real(path)
    _refuse_duplicate(_existing(path, *_read(path)), name)


def _refuse_duplicate(inventory: Inventory, name: str) -> None:
    if name in inventory.names():
        raise InventoryError(
            f"a host named {quoted(name)} is already in the inventory",
            file=str(inventory.path),
            line=inventory.get(name).line,
        )


def remove_host(path: str | os.PathLike[str], name: str) -> Inventory:
    """Remove the host called `name` from an inventory file.

    Raises:
        ActionRefused: Corral is read-only; nothing was written.
        InventoryError: Naming the file: it is missing or invalid, or the
            result would not load, or it cannot be written.
        UnknownHost: The inventory has no such host.
    """
    with guard.mutating("hosts.rm", target=name, args={"inventory": str(path)}):
        return _remove_host(_real(path), name)


def _remove_host(path: Path, name: str) -> Inventory:
    text, before = _read(path)
    if before is None:
        raise InventoryError("inventory file not found", file=str(path))
    old = load_inventory(path)
    old.get(name)
    kept = tuple(host for host in old.hosts if host.name != name)
    plain = [host for host in _plain_hosts(path, before) if host.get("name") != name]
    candidates = [cut(text, old.names().index(name)), rewritten(plain)]
    return _replace(path, candidates, lambda new: _unlined(new.hosts) == _unlined(kept), before)


# --- reading and writing ------------------------------------------------------


def _real(path: str | os.PathLike[str]) -> Path:
    # Edit the file a symlink points to rather than replacing the link.
    return Path(os.path.realpath(Path(path).expanduser()))


def _read(path: Path) -> tuple[str, os.stat_result | None]:
    try:
        before = path.stat()
    except FileNotFoundError:
        return "", None
    except OSError as exc:
        raise InventoryError(f"cannot read: {_reason(exc)}", file=str(path)) from None
    # Bytes, not read_text: universal newlines would turn CRLF files into LF.
    # Bounded: the size is checked before anything is parsed.
    data = read_bytes(path, error=InventoryError)
    try:
        return data.decode("utf-8"), before
    except UnicodeDecodeError as exc:
        raise InventoryError(f"cannot read: {_reason(exc)}", file=str(path)) from None


def _existing(path: Path, text: str, before: os.stat_result | None) -> Inventory:
    # An empty or comments-only file is an inventory waiting for its first host.
    if before is None or not text.strip() or _document_is_empty(text):
        return Inventory(hosts=(), path=path)
    return load_inventory(path)


def _document_is_empty(text: str) -> bool:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader) is None
    except yaml.YAMLError:
        return False  # let the loader report it with its line


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _unlined(hosts: Iterable[HostSpec]) -> list[HostSpec]:
    return [dataclasses.replace(host, line=0) for host in hosts]


def _replace(
    path: Path,
    candidates: list[str | None],
    expected: Callable[[Inventory], bool],
    before: os.stat_result | None,
) -> Inventory:
    """Write the first candidate text that loads as `expected`, atomically."""
    mode = stat.S_IMODE(before.st_mode) if before is not None else 0o600
    problem = "the edited inventory does not load as intended"
    for text in candidates:
        if text is None:
            continue
        temporary = _write_temporary(path, text, mode)
        try:
            try:
                new = load_inventory(temporary)
            except InventoryError as exc:
                problem = exc.message
                continue
            if not expected(new):
                continue
            _check_unchanged(path, before)
            os.replace(temporary, path)
        except OSError as exc:
            raise InventoryError(f"cannot write: {_reason(exc)}", file=str(path)) from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        _sync_directory(path.parent)
        return dataclasses.replace(new, path=path)
    raise InventoryError(f"not changed: {problem}", file=str(path))


def _write_temporary(path: Path, text: str, mode: int) -> Path:
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InventoryError(f"cannot write: {_reason(exc)}", file=str(path)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            os.fchmod(stream.fileno(), mode)
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        if isinstance(exc, OSError):
            raise InventoryError(f"cannot write: {_reason(exc)}", file=str(path)) from None
        raise
    return Path(name)


def _check_unchanged(path: Path, before: os.stat_result | None) -> None:
    # Two writers (the console and a shell) must not silently drop each
    # other's host: refuse if the file changed since it was read.
    try:
        now = path.stat()
    except FileNotFoundError:
        now = None
    same = (before is None and now is None) or (
        before is not None
        and now is not None
        and (now.st_ino, now.st_size, now.st_mtime_ns)
        == (before.st_ino, before.st_size, before.st_mtime_ns)
    )
    if not same:
        raise InventoryError("changed by someone else meanwhile; try again", file=str(path))


def _sync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _plain_hosts(path: Path, before: os.stat_result | None) -> list[dict[str, Any]]:
    """The hosts as plain data, for a rewrite (aliases and merges resolved)."""
    if before is None:
        return []
    document = load_file(path)
    return _plain((document or {}).get("hosts") or [])


def _plain(value: Any) -> Any:
    # yamlsource's Mapping/Sequence carry line numbers; safe_dump wants dict/list.
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
