"""Files beside the compose file, shipped to the hosts; host paths checked in the plan.

A relative bind mount (`./nginx.conf:/etc/nginx/nginx.conf`, `./app:/app`)
reaches the spec as a `local` mount (`catalog/compose/local_files.py`).
`localize()` hashes each one's content (SHA-256 over the file, or over every
entry of a folder: path, type, permission bits, content) and turns the mount
into a plain bind of `ROOT/STACK/DIGEST/NAME` on the hosts, so:

- an unchanged file keeps its path: nothing is sent again and the
  containers keep their configuration hash;
- a changed file gets a new path: the bind source changes, so the service's
  configuration hash changes and its containers are recreated.

ROOT is `/var/lib/corral/files` unless `CORRAL_FILES_DIR` says otherwise (it
must be the same for every host: it is part of the containers' configuration).

`files_hosts.plan_host_paths()` asks each host with containers to create which digests it
holds already and whether every absolute bind source exists (one shell command
per host, over the SSH connection; the local engine's host is this machine).
A missing absolute path is a `PlanError` naming host and path. `files_ship.ship()`
streams a tar of each missing item through the same SSH connection into
`tar -x` on the host (bounded memory: 256 KiB chunks), unpacked into a
`.part-*` directory beside the final one and renamed into place by a second
command, so a cut transfer leaves nothing that looks complete. The content
is hashed again while it is sent: a file edited since the plan is never
renamed in (the ship stops: plan again).

A service's compose `secrets` and `configs` are shipped the same way, one
file each (`ref_item()`), with the mode and owner they ask for, bound
read-only at their target. A config's digest covers content, owner and mode.
A secret lives under `ROOT/STACK/secrets/TOKEN/` (0700), TOKEN random: a
path computed from its content would let anyone who reads a plan, a record,
`docker inspect` or a diagnostics bundle test guesses of a weak secret
offline. The stack record keeps each secret's token; whether it still
holds is decided against the hosts' copy (`secret_files.py`). Neither
content reaches the spec.

Refused, with one line naming the file: symbolic links and special files
inside a shipped folder, more than `MAX_ENTRIES` entries, more than
`MAX_BYTES` in all. After a successful apply, `prune()` removes the digests
no generation that may still run binds (an upgrade keeps the generation it
came from, for a rollback); `corral rm STACK` removes the stack's directory
(`remove_files()`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import secrets as random
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

from corral.backends.errors import PlanError
from corral.catalog.spec import FileRef, Mount, Stack

ENV_FILES_DIR = "CORRAL_FILES_DIR"
DEFAULT_FILES_DIR = "/var/lib/corral/files"
#: At most this many bytes of shipped content per stack.
MAX_BYTES = 256 * 1024 * 1024
#: At most this many files and folders in one shipped folder.
MAX_ENTRIES = 10_000
CHUNK = 256 * 1024
#: At most this many bytes in one secret or config (Swarm allows 500 KB).
MAX_REF_BYTES = 1024 * 1024
#: Secrets live in `ROOT/STACK/secrets/` (0700), apart from other shipped files.
SECRETS_DIR = "secrets"


def files_root() -> str:
    """Where shipped files live on the hosts (`CORRAL_FILES_DIR`, absolute)."""
    root = os.environ.get(ENV_FILES_DIR) or DEFAULT_FILES_DIR
    if not root.startswith("/"):
        raise PlanError(f"{ENV_FILES_DIR}={root} must be an absolute path")
    return root.rstrip("/") or "/"


@dataclass(frozen=True)
class LocalFile:
    """A file or folder on this machine that a stack ships.

    Attributes:
        local: Its absolute path here.
        digest: SHA-256 of its content (hex); for a secret, its random token
            (the name of its host directory, nothing computed from it).
        size: Bytes of content.
        entries: Files and folders in it (1 for a file).
        folder: True for a folder.
        host_path: Where the hosts hold it (the containers' bind source).
        kind: `secret` or `config` for a compose secret or config (then `local`
            names it, `secret db_password`, and it is one file); "" for a bind.
        uid, gid: A secret's or config's owner (None: root, as unpacked).
        mode: A secret's or config's permission bits.
        content_digest: SHA-256 of a secret's or config's bytes (checked
            again when it is sent; in memory only, never shown).
        source: A secret's or config's `file:` here (read again when sent).
        data: The bytes of an `environment:` / `content:` secret or config
            (None for a file, read again when sent); never shown.
    """

    local: str
    digest: str
    size: int
    entries: int
    folder: bool
    host_path: str
    kind: str = ""
    uid: int | None = None
    gid: int | None = None
    mode: int = 0
    content_digest: str = field(default="", repr=False, compare=False)
    source: str | None = None
    data: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def directory(self) -> str:
        """The host directory named after the digest, holding `host_path`."""
        return os.path.dirname(self.host_path)


def walk(path: str) -> Iterator[tuple[str, os.stat_result]]:
    """(path relative to `path`'s parent, lstat) of `path` and, for a folder, all inside it.

    Sorted, so two walks of the same content agree.

    Raises:
        PlanError: A symbolic link or special file, or too many entries.
    """
    parent = os.path.dirname(path)
    pending = [path]
    count = 0
    while pending:
        here = pending.pop()
        try:
            info = os.lstat(here)
        except OSError as exc:
            raise PlanError(f"{here}: cannot be read ({exc.strerror})") from None
        if stat.S_ISLNK(info.st_mode):
            raise PlanError(f"{here} is a symbolic link; Corral ships only regular files and"
                            " folders")
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
            raise PlanError(f"{here} is not a regular file or a folder; not shipped")
        count += 1
        if count > MAX_ENTRIES:
            raise PlanError(f"{path} holds more than {MAX_ENTRIES} entries; Corral ships at"
                            " most that many per folder (use a volume or an image)")
        yield os.path.relpath(here, parent), info
        if stat.S_ISDIR(info.st_mode):
            try:
                names = sorted(os.listdir(here), reverse=True)
            except OSError as exc:
                raise PlanError(f"{here}: cannot be listed ({exc.strerror})") from None
            pending.extend(os.path.join(here, name) for name in names)


class Digest:
    """The digest of an item: each entry's path, type, permissions and content."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.size = 0
        self.entries = 0

    def entry(self, name: str, info: os.stat_result) -> None:
        kind = "d" if stat.S_ISDIR(info.st_mode) else "f"
        self.hash.update(f"{kind} {stat.S_IMODE(info.st_mode):o} {name}\0".encode())
        self.entries += 1

    def content(self, chunk: bytes) -> None:
        self.hash.update(chunk)
        self.size += len(chunk)
        if self.size > MAX_BYTES:
            raise PlanError(f"shipped files exceed {MAX_BYTES // (1024 * 1024)} MiB; Corral"
                            " ships at most that much per stack (use a volume or an image)")

    def hexdigest(self) -> str:
        return self.hash.hexdigest()


def _read(path: str) -> Iterator[bytes]:
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
    except OSError as exc:
        raise PlanError(f"{path}: cannot be read ({exc.strerror})") from None


def digest_of(path: str) -> Digest:
    """Hash a file or folder (see `Digest`).

    Raises:
        PlanError: Something in it is refused (named), or it is too large.
    """
    digest = Digest()
    for name, info in walk(path):
        digest.entry(name, info)
        if stat.S_ISREG(info.st_mode):
            for chunk in _read(os.path.join(os.path.dirname(path), name)):
                digest.content(chunk)
    return digest


def localize(stack: Stack, root: str | None = None, tokens: dict[str, str] | None = None
             ) -> tuple[Stack, dict[str, LocalFile]]:
    """`stack` with its `local` mounts, secrets and configs made binds of the hosts' copies.

    A secret or config becomes a read-only bind of one file at its target
    (its content never reaches the spec: only the host path, named by digest,
    or for a secret by a random token), and leaves `Service.files`.

    Args:
        stack: The rendered stack.
        root: The hosts' files root (default `files_root()`).
        tokens: A token per secret (by its `LocalFile.local` label) to name
            its directory; a secret not in it gets a fresh one.

    Returns:
        The stack, and each item it ships by local path (for a secret or
        config, by its `LocalFile.local` label).

    Raises:
        PlanError: An item is refused or too large (one line naming the file).
    """
    items: dict[str, LocalFile] = {}
    if not any(m.kind == "local" for s in stack.services for m in s.volumes) \
            and not any(s.files for s in stack.services):
        return stack, items
    root = root or files_root()
    total = 0
    services = []
    for service in stack.services:
        mounts = []
        for mount in service.volumes:
            if mount.kind != "local" or not mount.source:
                mounts.append(mount)
                continue
            if mount.source not in items:
                digest = digest_of(mount.source)
                total += digest.size
                if total > MAX_BYTES:
                    raise PlanError(f"shipped files exceed {MAX_BYTES // (1024 * 1024)} MiB"
                                    f" with {mount.source}; Corral ships at most that much per"
                                    " stack (use a volume or an image)")
                name = os.path.basename(mount.source) or "root"
                items[mount.source] = LocalFile(
                    mount.source, digest.hexdigest(), digest.size, digest.entries,
                    os.path.isdir(mount.source),
                    f"{root}/{stack.name}/{digest.hexdigest()}/{name}")
            mounts.append(Mount("bind", items[mount.source].host_path, mount.target,
                                mount.mode, mount.options))
        kept = []
        for ref in service.files:
            if ref.source is None and ref.data is None:
                # From a record written before secrets and configs were delivered:
                # there is no content to ship, and its containers never had one.
                kept.append(ref)
                continue
            item = ref_item(stack.name, ref, root)
            if item.local in items and _identity(items[item.local]) != _identity(item):
                item = dataclasses.replace(item, local=f"{item.local} ({owner_text(item)})")
            if item.local not in items and item.kind == "secret" and tokens \
                    and item.local in tokens:
                item = with_token(item, tokens[item.local])
            item = items.setdefault(item.local, item)
            mounts.append(Mount("bind", item.host_path, ref.target, "ro"))
        # Delivered: from here on (and in the record) each is its bind, so a
        # stack rebuilt from the record is not localized twice.
        services.append(dataclasses.replace(service, volumes=tuple(mounts), files=tuple(kept)))
    return dataclasses.replace(stack, services=tuple(services)), items


def _identity(item: LocalFile) -> tuple:
    """What makes two uses of a secret or config the same file on the hosts."""
    return item.kind, item.content_digest, item.uid, item.gid, item.mode


def new_token() -> str:
    """A fresh random token naming a secret's directory (16 hex digits)."""
    return random.token_hex(8)


def with_token(item: LocalFile, token: str) -> LocalFile:
    """A secret's item moved to the directory `token` names."""
    folder = os.path.dirname(item.directory)
    return dataclasses.replace(
        item, digest=token, host_path=f"{folder}/{token}/{os.path.basename(item.host_path)}")


def retoken(stack: Stack, items: dict[str, LocalFile], tokens: dict[str, str]
            ) -> tuple[Stack, dict[str, LocalFile]]:
    """`stack` and `items` with each secret named in `tokens` moved to that token's
    directory (the binds of the localized stack follow)."""
    moved: dict[str, str] = {}
    result = dict(items)
    for label, token in tokens.items():
        item = items.get(label)
        if item is None or item.kind != "secret" or item.digest == token:
            continue
        result[label] = with_token(item, token)
        moved[item.host_path] = result[label].host_path
    if not moved:
        return stack, result
    services = tuple(dataclasses.replace(service, volumes=tuple(
        dataclasses.replace(m, source=moved[m.source])
        if m.kind == "bind" and m.source in moved else m for m in service.volumes))
        for service in stack.services)
    return dataclasses.replace(stack, services=services), result


def secret_variables(stack: Stack) -> set[str]:
    """Variables whose value is the content of an `environment:` secret (call before
    `localize`): like a password answer, never written into the record."""
    return {ref.origin.split(" ", 1)[1] for service in stack.services for ref in service.files
            if ref.kind == "secret" and ref.origin.startswith("environment ")}


def owner_text(item: LocalFile) -> str:
    """`uid 100, gid 101, mode 0440`: how a secret or config file is owned (for the plan)."""
    uid = 0 if item.uid is None else item.uid
    gid = 0 if item.gid is None else item.gid
    return f"uid {uid}, gid {gid}, mode {item.mode:04o}"


def ref_content(path: str) -> bytes:
    """The bytes of a secret's or config's `file:`, at most `MAX_REF_BYTES`.

    Raises:
        PlanError: It cannot be read, or is too large (named).
    """
    try:
        with open(path, "rb") as handle:
            content = handle.read(MAX_REF_BYTES + 1)
    except OSError as exc:
        raise PlanError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(content) > MAX_REF_BYTES:
        raise PlanError(f"{path} is larger than {MAX_REF_BYTES // 1024} KiB; a secret or config"
                        " is one small file (use a relative bind or a volume)")
    return content


def ref_item(stack: str, ref: FileRef, root: str) -> LocalFile:
    """The item a service's secret or config ships: one file, owned and moded as asked.

    A config's digest covers the content's digest, owner and mode, so any
    change gives a new host path (and recreates the containers that use it).
    A secret's directory is a fresh random token instead (nothing computed
    from its content may leave this process): `secret_files.settle()` keeps
    the recorded token while the hosts' copy is the same.

    Raises:
        PlanError: Its file cannot be read or is too large.
    """
    content = ref_content(ref.source) if ref.source is not None else (ref.data or "").encode()
    content_digest = hashlib.sha256(content).hexdigest()
    if ref.kind == "secret":
        digest = new_token()
    else:
        meta = f"{ref.kind}\0{ref.uid}\0{ref.gid}\0{ref.file_mode:o}\0{content_digest}"
        digest = hashlib.sha256(meta.encode()).hexdigest()
    name = re.sub(r"[^A-Za-z0-9._-]", "_", ref.name).lstrip(".") or ref.kind
    folder = f"{root}/{stack}/{SECRETS_DIR}" if ref.kind == "secret" else f"{root}/{stack}"
    return LocalFile(f"{ref.kind} {ref.name}", digest, len(content), 1, False,
                     f"{folder}/{digest}/{name}", kind=ref.kind, uid=ref.uid, gid=ref.gid,
                     mode=ref.file_mode, content_digest=content_digest, source=ref.source,
                     data=content if ref.source is None else None)


def digests_bound(stack: Stack, root: str | None = None) -> set[str]:
    """The digest directories of `ROOT/STACK` that the stack's services bind.

    A secret's is `secrets/TOKEN`, and `secrets` itself is then kept too.
    """
    prefix = f"{root or files_root()}/{stack.name}/"
    bound = set()
    for service in stack.services:
        for mount in service.volumes:
            if mount.kind != "bind" or not mount.source or not mount.source.startswith(prefix):
                continue
            parts = mount.source[len(prefix):].split("/")
            if parts[0] == SECRETS_DIR and len(parts) > 2:
                bound |= {SECRETS_DIR, f"{SECRETS_DIR}/{parts[1]}"}
            else:
                bound.add(parts[0])
    return bound


#: The label carrying a `build:` context's content digest (hashed with the config).
BUILD_CONTEXT_LABEL = "io.corral.build-context"


def context_digest(folder: str) -> str:
    """SHA-256 over a build context: each entry's path, permissions and content.

    Lenient, unlike a shipped folder: a symbolic link counts by its target,
    special files are skipped, there is no cap (the local engine reads it all
    anyway). `.dockerignore` is not applied: any change in the folder counts.

    Raises:
        PlanError: The folder cannot be read.
    """
    digest = hashlib.sha256()
    try:
        for here, folders, names in os.walk(folder):
            folders.sort()
            for name in sorted(names):
                path = os.path.join(here, name)
                info = os.lstat(path)
                relative = os.path.relpath(path, folder)
                if stat.S_ISLNK(info.st_mode):
                    digest.update(f"l {relative} {os.readlink(path)}\0".encode())
                elif stat.S_ISREG(info.st_mode):
                    digest.update(f"f {stat.S_IMODE(info.st_mode):o} {relative}\0".encode())
                    with open(path, "rb") as handle:
                        while chunk := handle.read(CHUNK):
                            digest.update(chunk)
    except OSError as exc:
        raise PlanError(f"build context {folder}: cannot be read ({exc.strerror})") from None
    return digest.hexdigest()


def mark_builds(stack: Stack) -> Stack:
    """`stack` with each `build:` service labelled with its context's digest.

    The label is part of the configuration hash: an edited context recreates
    the service's containers (after the apply rebuilt and pushed the image),
    an unchanged one changes nothing.
    """
    if not any(s.build for s in stack.services):
        return stack
    services = tuple(
        dataclasses.replace(s, labels={**s.labels,
                                       BUILD_CONTEXT_LABEL: context_digest(s.build.context)})
        if s.build else s for s in stack.services)
    return dataclasses.replace(stack, services=services)
