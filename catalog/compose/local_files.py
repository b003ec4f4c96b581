"""Files beside the compose file: relative bind mounts the deploy ships, and `build:`.

`./nginx.conf:/etc/nginx/nginx.conf` and `./app:/app` name files on the
operator's machine, in the compose file's folder. They become `local` mounts
(`Mount.kind`) whose source is the absolute local path; the deploy hashes
their content and ships them to the hosts (`backends/deploy/files.py`).

Refused here, one problem each naming the file: a path that leaves the
compose folder (`../x`, or a symlink on the way), one that does not exist,
a symlink, and anything neither a regular file nor a folder. What lies inside
a folder is checked when it is hashed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from corral.catalog.compose import values as cv
from corral.catalog.problems import Report, Source
from corral.catalog.spec import Build, Mount

_BUILD_KEYS = {"context", "dockerfile", "args", "target"}


def local_mounts(service: str, mounts: tuple[Mount, ...], base: Path | None, source: Source,
                 line: int | None, report: Report) -> tuple[Mount, ...]:
    """`mounts` with each relative bind turned into a `local` mount (or reported).

    Args:
        service: The service, for messages.
        mounts: Its parsed `volumes`.
        base: The compose file's folder; None when there is none.
        source: The compose file, for problems.
        line: The `volumes:` line.
        report: Collects problems.
    """
    result = []
    for mount in mounts:
        if mount.kind != "bind" or (mount.source or "").startswith("/"):
            result.append(mount)
            continue
        try:
            path = local_path(mount.source or "", base)
        except ValueError as exc:
            report.error(f"service {service}: volumes: {mount.source}: {exc}", source.file, line)
            continue
        result.append(Mount("local", path, mount.target, mount.mode, mount.options))
    return tuple(result)


def local_path(relative: str, base: Path | None) -> str:
    """The absolute path of `relative` inside `base`, checked.

    Raises:
        ValueError: Why it cannot be shipped (one line).
    """
    if relative.startswith("~"):
        raise ValueError("a path in a home folder is not shipped; put it beside the compose"
                         " file and write ./...")
    if base is None:
        raise ValueError("a path on this machine; Corral ships files only beside a compose"
                         " file deployed as FILE, not from a catalog entry (use an absolute"
                         " path present on the hosts, or a named volume)")
    folder = os.path.abspath(base)
    path = os.path.normpath(os.path.join(folder, relative))
    if os.path.commonpath([folder, path]) != folder:
        raise ValueError(f"leaves the compose file's folder {folder}; only files beside it"
                         " are shipped")
    here = folder
    for part in Path(os.path.relpath(path, folder)).parts:
        if part == ".":
            continue
        here = os.path.join(here, part)
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            raise ValueError(f"{here} does not exist") from None
        except OSError as exc:
            raise ValueError(f"{here} cannot be read: {exc.strerror}") from None
        if stat.S_ISLNK(mode):
            raise ValueError(f"{here} is a symbolic link; Corral ships only regular files"
                             " and folders") from None
    mode = os.lstat(path).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ValueError(f"{path} is not a regular file or a folder")
    return path


def built_image(stack: str, service: str) -> str:
    """The name of a built image when `image:` gives none: `STACK-SERVICE:corral`."""
    return f"{stack}-{service}".lower() + ":corral"


def read_build(raw: object, base: Path, report: Report, where: str, file: str,
               line: int | None) -> Build:
    """A `build:` value (a context, or a mapping) as a `Build`; its context must be a folder.

    Keys Corral does not pass to the builder (`cache_from`, `labels`, `ssh`…) are
    warnings.

    Raises:
        ValueError: The value is malformed or the context is not a folder here.
    """
    if isinstance(raw, str):
        raw = {"context": raw}
    if not isinstance(raw, dict):
        raise ValueError("expected a context folder or a mapping")
    for key in sorted(str(k) for k in raw if k not in _BUILD_KEYS):
        report.warn(f"{where}: {key} is not passed to the local builder; ignored", file, line)
    context = cv.text(raw.get("context") or ".")
    if "://" in context or context.startswith("git@"):
        raise ValueError(f"context {context}: Corral builds only from a folder on this machine")
    folder = os.path.normpath(os.path.join(os.path.abspath(base), os.path.expanduser(context)))
    if not os.path.isdir(folder):
        raise ValueError(f"context {folder} is not a folder")
    args = cv.key_values(raw.get("args") or {}, none_value="")
    return Build(folder, cv.text(raw["dockerfile"]) if raw.get("dockerfile") else None,
                 {str(k): str(v) for k, v in sorted(args.items())},
                 cv.text(raw["target"]) if raw.get("target") else None)
