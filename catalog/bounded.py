"""Reading operators' and catalog authors' files within fixed bounds.

Every file Corral reads (inventory, configuration, catalog files, answers,
READMEs) is small when it is what it claims to be. A file that is not, by
mistake or by design (a 50 MB inventory, a compose file that is a symlink to
`/etc/shadow` or to `/dev/zero`), must be refused before it is parsed: the
size is checked on the open file, and at most the cap plus one byte is ever
read. Error messages quote such files only through `excerpt()`, so one long
or hostile line never floods the operator's terminal.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from corral.catalog.errors import CatalogError, CorralError
from corral.catalog.excerpt import excerpt

#: The most any file Corral reads may hold. Real inventories, configurations,
#: compose files and READMEs are a few kilobytes; parsing 1 MiB of YAML takes
#: about 3 s in pure Python.
MAX_FILE_BYTES = 1 << 20


def describe_size(size: int) -> str:
    """`1 MiB`, `512 KiB` or `N bytes`, for messages."""
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20} MiB"
    if size >= 1 << 10 and size % (1 << 10) == 0:
        return f"{size >> 10} KiB"
    return f"{size} bytes"


def read_bytes(
    path: str | os.PathLike[str],
    *,
    limit: int = MAX_FILE_BYTES,
    root: str | os.PathLike[str] | None = None,
    error: type[CorralError] = CatalogError,
) -> bytes:
    """Read a regular file of at most `limit` bytes.

    Args:
        path: The file.
        limit: The most it may hold.
        root: If given, the file (after following every symlink) must lie
            inside this folder (also resolved): a catalog cannot reach out.
        error: The error class to raise (it takes `message, file=`).

    Returns:
        The file's bytes.

    Raises:
        CatalogError: (of class `error`) the file is missing, unreadable, not
            a regular file, outside `root`, or larger than `limit`; one line
            naming the file and the cap.
    """
    if root is not None and not is_inside(path, root):
        raise error(f"refused: it leads outside the catalog folder {root}"
                    f" (to {excerpt(os.path.realpath(path))})", file=path)
    try:
        # O_NONBLOCK: opening a FIFO must not hang; it is refused below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error("file not found", file=path) from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}", file=path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error("not a regular file", file=path)
        if info.st_size > limit:
            raise error(_too_large(info.st_size, limit), file=path)
        chunks = []
        left = limit + 1  # one byte more tells a file that grew while read
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}", file=path) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise error(_too_large(None, limit), file=path)
    return data


def read_text(
    path: str | os.PathLike[str],
    *,
    limit: int = MAX_FILE_BYTES,
    root: str | os.PathLike[str] | None = None,
    error: type[CorralError] = CatalogError,
) -> str:
    """`read_bytes`, decoded as UTF-8 with universal newlines (as `Path.read_text`).

    Raises:
        CatalogError: As `read_bytes`, or the file is not UTF-8 text.
    """
    data = read_bytes(path, limit=limit, root=root, error=error)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _too_large(size: int | None, limit: int) -> str:
    held = f" ({size:,} bytes)" if size is not None else ""
    return f"file too large{held}: Corral reads at most {describe_size(limit)} here"


def is_inside(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """Whether `path`, every symlink followed, lies inside `root` (also resolved)."""
    real = os.path.realpath(path)
    base = os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def inside_or_none(path: Path, root: Path | None) -> Path | None:
    """`path` if it is inside `root` (or `root` is None), else None."""
    return path if root is None or is_inside(path, root) else None
