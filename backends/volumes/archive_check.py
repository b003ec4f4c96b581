"""Checking a tar archive before it is put into a volume.

The engine extracts what it is sent into the volume as it stands. Its own
extraction is confined to the container, but a member named `/etc/x` or
`../x`, or one written through a symlink the same archive made, means the
archive was not made from a volume and would not land where its names say:
Corral refuses such an archive, naming the member, before any host is
contacted. The file is read once, as a stream (memory stays flat whatever
its size); gzip, bzip2 and xz archives are read through, as the engine would.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from corral.backends.errors import BadArchive


@dataclass(frozen=True)
class ArchiveSummary:
    """What an archive holds, once checked.

    Attributes:
        path: The file.
        members: How many members it has.
        content_bytes: The sum of its regular files' sizes.
        file_bytes: The file's size on disk (what is sent).
    """

    path: Path
    members: int
    content_bytes: int
    file_bytes: int


def member_problem(member: tarfile.TarInfo, links: set[str]) -> str | None:
    """Why `member` must not be put into a volume, or None when it may.

    Args:
        member: One member of the archive.
        links: The normalised names of the symlinks met so far in the same
            archive (a later member under one of them would be written
            through it).
    """
    name = member.name
    if name.startswith("/"):
        return "an absolute path"
    parts = PurePosixPath(name).parts
    if ".." in parts:
        return "a path that climbs out with '..'"
    clean = _normal(name)
    for depth in range(1, len(clean)):
        if "/".join(clean[:depth]) in links:
            return f"a path through the symlink {'/'.join(clean[:depth])!r}"
    if member.islnk():  # a hard link names another member of the archive
        target = member.linkname
        if target.startswith("/") or ".." in PurePosixPath(target).parts:
            return f"a hard link to {target!r}, outside the archive"
    if member.isdev():
        return "a device file"
    return None


def _normal(name: str) -> tuple[str, ...]:
    return tuple(part for part in PurePosixPath(name).parts if part not in (".", ""))


def check_archive(path: Path) -> ArchiveSummary:
    """Read the whole archive and refuse it if a member would escape the volume.

    Args:
        path: The tar file.

    Returns:
        What it holds.

    Raises:
        BadArchive: Not a readable tar file, or a member that would escape
            (named in the message, with the file).
    """
    links: set[str] = set()
    members = content = 0
    try:
        size = path.stat().st_size
        with tarfile.open(path, mode="r|*") as archive:
            for member in archive:
                problem = member_problem(member, links)
                if problem is not None:
                    raise BadArchive(f"member {member.name!r} is {problem}; refusing "
                                     "the archive (nothing was sent)", file=str(path))
                if member.issym():
                    links.add("/".join(_normal(member.name)))
                members += 1
                content += member.size if member.isreg() else 0
    except (tarfile.TarError, EOFError) as exc:
        what = ("not a tar archive" if members == 0
                else f"cut short or damaged after {members} members")
        raise BadArchive(f"{what} ({exc})", file=str(path)) from None
    except OSError as exc:
        raise BadArchive(exc.strerror or str(exc), file=str(path)) from None
    if members == 0:
        raise BadArchive("an empty tar archive", file=str(path))
    return ArchiveSummary(path, members, content, size)
