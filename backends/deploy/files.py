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

`plan_host_paths()` asks each host with containers to create which digests it
holds already and whether every absolute bind source exists (one shell command
per host, over the SSH connection; the local engine's host is this machine).
A missing absolute path is a `PlanError` naming host and path. `ship()`
streams a tar of each missing item through the same SSH connection into
`tar -x` on the host (bounded memory: 256 KiB chunks), unpacked into a
`.part-*` directory beside the final one and renamed into place by a second
command, so a cut transfer leaves nothing that looks complete. The content
is hashed again while it is sent: a file edited since the plan is never
renamed in (the ship stops: plan again).

Refused, with one line naming the file: symbolic links and special files
inside a shipped folder, more than `MAX_ENTRIES` entries, more than
`MAX_BYTES` in all. After a successful apply, `prune()` removes the digests
no generation that may still run binds (an upgrade keeps the generation it
came from, for a rollback); `corral rm STACK` removes the stack's directory
(`remove_files()`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import secrets
import shlex
import stat
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from corral.backends.errors import BackendError, DeployError, HostOffline, PlanError
from corral.backends.plan.model import CREATE, REPLACE
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession
from corral.catalog.spec import Mount, Stack

ENV_FILES_DIR = "CORRAL_FILES_DIR"
DEFAULT_FILES_DIR = "/var/lib/corral/files"
#: At most this many bytes of shipped content per stack.
MAX_BYTES = 256 * 1024 * 1024
#: At most this many files and folders in one shipped folder.
MAX_ENTRIES = 10_000
_CHUNK = 256 * 1024
_TIMEOUT = 30.0


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
        digest: SHA-256 of its content (hex).
        size: Bytes of content.
        entries: Files and folders in it (1 for a file).
        folder: True for a folder.
        host_path: Where the hosts hold it (the containers' bind source).
    """

    local: str
    digest: str
    size: int
    entries: int
    folder: bool
    host_path: str

    @property
    def directory(self) -> str:
        """The host directory named after the digest, holding `host_path`."""
        return os.path.dirname(self.host_path)


@dataclass(frozen=True)
class FileRow:
    """One shipped item on one host, for the plan.

    Attributes:
        host: The host.
        local: The path on this machine.
        services: Services on that host that bind it.
        size: Bytes of content.
        action: `ship` (the host lacks it) or `present`.
        host_path: Where the host holds it.
    """

    host: str
    local: str
    services: tuple[str, ...]
    size: int
    action: str
    host_path: str

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {**dataclasses.asdict(self), "services": list(self.services)}


@dataclass
class FilePlan:
    """What the plan knows about files: the items shipped and, per host, each row."""

    items: dict[str, LocalFile] = field(default_factory=dict)
    rows: list[FileRow] = field(default_factory=list)

    @property
    def to_ship(self) -> list[FileRow]:
        """Rows the apply must send."""
        return [row for row in self.rows if row.action == "ship"]


def _entries(path: str) -> Iterator[tuple[str, os.stat_result]]:
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


class _Digest:
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
            while chunk := handle.read(_CHUNK):
                yield chunk
    except OSError as exc:
        raise PlanError(f"{path}: cannot be read ({exc.strerror})") from None


def digest_of(path: str) -> _Digest:
    """Hash a file or folder (see `_Digest`).

    Raises:
        PlanError: Something in it is refused (named), or it is too large.
    """
    digest = _Digest()
    for name, info in _entries(path):
        digest.entry(name, info)
        if stat.S_ISREG(info.st_mode):
            for chunk in _read(os.path.join(os.path.dirname(path), name)):
                digest.content(chunk)
    return digest


def localize(stack: Stack, root: str | None = None) -> tuple[Stack, dict[str, LocalFile]]:
    """`stack` with its `local` mounts made binds of the hosts' copies.

    Returns:
        The stack, and each item it ships by local path.

    Raises:
        PlanError: An item is refused or too large (one line naming the file).
    """
    items: dict[str, LocalFile] = {}
    if not any(m.kind == "local" for s in stack.services for m in s.volumes):
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
        services.append(dataclasses.replace(service, volumes=tuple(mounts)))
    return dataclasses.replace(stack, services=tuple(services)), items


def _new_containers(prepared) -> dict[str, set[str]]:
    """Host -> services with containers to create there."""
    hosts: dict[str, set[str]] = {}
    for step in prepared.plan.changes:
        if step.action in (CREATE, REPLACE):
            hosts.setdefault(step.host, set()).add(step.service)
    return hosts


def _binds(prepared, services: set[str]) -> list[str]:
    """Absolute bind sources the services' containers mount."""
    return sorted({m.source for s in prepared.stack.services if s.name in services
                   for m in s.volumes if m.kind == "bind" and m.source})


async def _shell(session: HostSession, command: str, timeout: float = _TIMEOUT
                 ) -> tuple[int, str]:
    """Run a shell command on the host: over SSH, or here for the local engine."""
    if session.spec.is_local:
        process = await asyncio.create_subprocess_exec(
            "sh", "-c", command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
        return process.returncode or 0, out.decode(errors="replace")
    return await session.run_command(command, timeout)


def plan_host_paths(fleet: Fleet, prepared, items: dict[str, LocalFile]) -> FilePlan:
    """Read which shipped items each host holds, and check absolute bind sources.

    Only hosts where the plan creates containers are asked.

    Raises:
        PlanError: A bind source is missing on a host (each host and path named).
    """
    result = FilePlan(dict(items))
    hosts = _new_containers(prepared)
    paths = {host: _binds(prepared, services) for host, services in hosts.items()}
    asked = {host: wanted for host, wanted in paths.items() if wanted}
    if not asked:
        return result
    shipped = {item.host_path: item for item in items.values()}
    stack_dir = f"{files_root()}/{prepared.stack.name}"

    def read(session: HostSession) -> list[str]:
        wanted = asked[session.name]
        script = "; ".join(f"[ -e {shlex.quote(p)} ] || echo {shlex.quote(p)}" for p in wanted)
        status, output = fleet.backend.run(_shell(session, script or "true"),
                                           timeout=_TIMEOUT + 5)
        if status:
            raise DeployError(f"checking bind sources failed (exit {status})",
                              host=session.name)
        return [line for line in output.splitlines() if line]

    missing: dict[str, dict[str, str]] = {}
    for answer in fleet.query(read, hosts=sorted(asked)):
        if not answer.ok:
            raise PlanError(f"cannot check the bind mounts on {answer.host}:"
                            f" {answer.error.message}")  # type: ignore[union-attr]
        services = hosts[answer.host]
        absent = set(answer.value or ())
        for path in asked[answer.host]:
            item = shipped.get(path)
            if item is not None:
                users = tuple(sorted(s.name for s in prepared.stack.services
                                     if s.name in services
                                     and any(m.source == path for m in s.volumes)))
                result.rows.append(FileRow(answer.host, item.local, users, item.size,
                                           "ship" if path in absent else "present", path))
            elif path in absent:
                where = ("a shipped file of an earlier deploy: deploy the stack from its"
                         " compose file again" if path.startswith(stack_dir + "/")
                         else "bind mount source missing")
                missing.setdefault(answer.host, {})[path] = where
    if missing:
        first_host = sorted(missing)[0]
        first_path = sorted(missing[first_host])[0]
        raise PlanError(f"stack {prepared.stack.name}: {first_host}: {first_path} does not"
                        " exist (a bind mount source; create it on the host, or use a named"
                        " volume or a path beside the compose file)",
                        {"bind mounts": {f"{host} {path}": why for host, paths in
                                         sorted(missing.items())
                                         for path, why in sorted(paths.items())}})
    result.rows.sort(key=lambda row: (row.host, row.local))
    return result


class _Sender:
    """A file-like sink that forwards bytes to a running process in 256 KiB chunks."""

    def __init__(self, fleet: Fleet, process) -> None:
        self.fleet = fleet
        self.process = process
        self.buffer = bytearray()
        self.sent = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= _CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if not self.buffer:
            return
        chunk, self.buffer = bytes(self.buffer), bytearray()
        self.fleet.backend.run(self.process.send(chunk), timeout=_TIMEOUT)
        self.sent += len(chunk)


class _Hashing:
    """A reader that hashes what it reads (to catch a file changed since the plan)."""

    def __init__(self, handle: BinaryIO, digest: _Digest) -> None:
        self.handle = handle
        self.digest = digest

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.content(data)
        return data


class _SshProcess:
    def __init__(self, process) -> None:
        self.process = process

    async def send(self, chunk: bytes) -> None:
        self.process.stdin.write(chunk)
        await self.process.stdin.drain()

    async def finish(self) -> tuple[int, str]:
        self.process.stdin.write_eof()
        result = await self.process.wait()
        error = result.stderr if isinstance(result.stderr, bytes) else b""
        return result.exit_status or 0, error.decode(errors="replace")

    async def abort(self) -> None:
        self.process.stdin.write_eof()
        await self.process.wait()


class _LocalProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def send(self, chunk: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(chunk)
        await self.process.stdin.drain()

    async def finish(self) -> tuple[int, str]:
        assert self.process.stdin is not None
        self.process.stdin.close()
        _, error = await self.process.communicate()
        return self.process.returncode or 0, error.decode(errors="replace")

    async def abort(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.communicate()


async def _start(session: HostSession, command: str):
    if session.spec.is_local:
        return _LocalProcess(await asyncio.create_subprocess_exec(
            "sh", "-c", command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE))
    conn = session.connection
    if conn is None:
        raise HostOffline("no SSH connection to ship files over", host=session.name)
    return _SshProcess(await conn.create_process(command, encoding=None))


def unpack_command(item: LocalFile, part: str) -> str:
    """The host's side of a ship: unpack into `part`, beside the digest directory.

    A failed unpack removes `part`; `commit_command` renames it in once the
    content sent is known to match the digest.
    """
    parent, part = shlex.quote(os.path.dirname(item.directory)), shlex.quote(part)
    return (f"set -e; mkdir -p {parent}; rm -rf {part}; mkdir {part};"
            f" trap 'rm -rf {part}' EXIT; tar -x -f - -C {part}; trap - EXIT")


def commit_command(item: LocalFile, part: str) -> str:
    """Rename an unpacked `part` into place (or drop it when the directory is there)."""
    final, part = shlex.quote(item.directory), shlex.quote(part)
    return (f"set -e; if [ -d {final} ]; then rm -rf {part}; else chmod 755 {part};"
            f" mv {part} {final}; fi")


def _send(fleet: Fleet, session: HostSession, item: LocalFile) -> int:
    """Stream one item to one host, then rename it in; the bytes sent.

    Raises:
        DeployError: The transfer or the unpack failed, or the content changed
            since the plan; nothing was renamed in (the part is removed).
    """
    part = f"{os.path.dirname(item.directory)}/.part-{item.digest[:12]}-{secrets.token_hex(4)}"
    try:
        process = fleet.backend.run(_start(session, unpack_command(item, part)),
                                    timeout=_TIMEOUT)
    except (OSError, BackendError) as exc:
        raise DeployError(f"shipping {item.local} failed: {exc}", host=session.name) from exc
    sender = _Sender(fleet, process)
    digest = _Digest()
    parent = os.path.dirname(item.local)
    try:
        with tarfile.open(fileobj=sender, mode="w|", format=tarfile.PAX_FORMAT) as archive:
            for name, info in _entries(item.local):
                digest.entry(name, info)
                member = tarfile.TarInfo(name)
                member.mode = stat.S_IMODE(info.st_mode)
                member.mtime = int(info.st_mtime)
                if stat.S_ISDIR(info.st_mode):
                    member.type = tarfile.DIRTYPE
                    archive.addfile(member)
                    continue
                member.size = info.st_size
                with open(os.path.join(parent, name), "rb") as handle:
                    archive.addfile(member, _Hashing(handle, digest))
        sender.flush()
        status, error = fleet.backend.run(process.finish(), timeout=_TIMEOUT)
    except (OSError, BackendError, tarfile.TarError, PlanError) as exc:
        _discard(fleet, session, process, part)
        message = exc.message if isinstance(exc, BackendError) else str(exc)
        raise DeployError(f"shipping {item.local} failed: {message}", host=session.name) from exc
    if status:
        raise DeployError(f"unpacking {item.local} into {item.directory} failed (exit"
                          f" {status}): {error.strip()[:200]}", host=session.name)
    if digest.hexdigest() != item.digest:
        _discard(fleet, session, None, part)
        raise DeployError(f"{item.local} changed since the plan; plan again", host=session.name)
    status, _ = fleet.backend.run(_shell(session, commit_command(item, part)),
                                  timeout=_TIMEOUT + 5)
    if status:
        raise DeployError(f"moving {item.local} into {item.directory} failed (exit {status})",
                          host=session.name)
    return sender.sent


def _discard(fleet: Fleet, session: HostSession, process, part: str) -> None:
    """Stop a ship half-way: end the archive stream, remove what was unpacked."""
    try:
        if process is not None:
            fleet.backend.run(process.abort(), timeout=_TIMEOUT)
        fleet.backend.run(_shell(session, f"rm -rf {shlex.quote(part)}"), timeout=_TIMEOUT + 5)
    except (OSError, BackendError, TimeoutError):
        pass  # a `.part-*` left behind is never bound, and `corral rm` removes it


def human(count: int) -> str:
    """`12.3 KiB`."""
    size = float(count)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} MiB"


def ship(fleet: Fleet, files: FilePlan, report: Callable) -> dict[str, str]:
    """Send every item the hosts lack (`FilePlan.to_ship`), hosts in parallel.

    Args:
        fleet: The connected fleet.
        files: From the plan (`Prepared.files`).
        report: The apply's progress callback.

    Returns:
        Host -> error, for hosts where a ship failed (the others are done).
    """
    # prepare.py imports this module to plan: its Progress is imported late.
    from corral.backends.deploy.prepare import Progress

    by_host: dict[str, list[FileRow]] = {}
    for row in files.to_ship:
        by_host.setdefault(row.host, []).append(row)
    if not by_host:
        return {}

    def run(session: HostSession) -> None:
        for row in by_host[session.name]:
            item = files.items[row.local]
            report(Progress(session.name, row.local, "ship", "running", human(item.size)))
            try:
                sent = _send(fleet, session, item)
            except BackendError as exc:
                report(Progress(session.name, row.local, "ship", "failed", exc.message))
                raise
            report(Progress(session.name, row.local, "ship", "done",
                            f"{human(item.size)} ({human(sent)} sent) to {row.host_path}"))

    errors = {}
    for answer in fleet.query(run, hosts=sorted(by_host)):
        if not answer.ok:
            errors[answer.host] = answer.error.message  # type: ignore[union-attr]
    return errors


def digests_bound(stack: Stack, root: str | None = None) -> set[str]:
    """The digest directories of `ROOT/STACK` that the stack's services bind."""
    prefix = f"{root or files_root()}/{stack.name}/"
    return {m.source[len(prefix):].split("/", 1)[0] for s in stack.services for m in s.volumes
            if m.kind == "bind" and m.source and m.source.startswith(prefix)}


def prune_command(stack: str, keep: set[str]) -> str:
    """Remove every digest directory (and `.part-*` leftover) of a stack but `keep`."""
    folder = shlex.quote(f"{files_root()}/{stack}")
    kept = " ".join(sorted(keep))
    return (f"cd {folder} 2>/dev/null || exit 0; for d in * .part-*; do [ -e \"$d\" ] ||"
            f" continue; case ' {kept} ' in *\" $d \"*) ;; *) rm -rf \"./$d\";; esac; done")


def prune(fleet: Fleet, prepared, hosts: list[str]) -> None:
    """After a successful apply: drop the digests no generation that may run binds.

    Kept: what the new definition binds, and during an upgrade what the
    generation it came from binds (a rollback restarts those containers).
    Failures are ignored: the next apply, or `corral rm`, tries again.
    """
    keep = digests_bound(prepared.stack)
    previous = prepared.previous
    if prepared.definition.upgrade_from is not None and previous is not None:
        keep |= digests_bound(previous.stack)
    if not keep and not (previous and digests_bound(previous.stack)):
        return  # this stack ships nothing, and did not before
    command = prune_command(prepared.stack.name, keep)
    fleet.query(lambda session: fleet.backend.run(_shell(session, command),
                                                  timeout=_TIMEOUT + 5), hosts=hosts)


def remove_files(fleet: Fleet, session: HostSession, stack: str) -> None:
    """Remove a stack's shipped files from one host (`corral rm`).

    Raises:
        DeployError: The removal failed.
    """
    command = f"rm -rf {shlex.quote(f'{files_root()}/{stack}')}"
    status, _ = fleet.backend.run(_shell(session, command), timeout=_TIMEOUT + 5)
    if status:
        raise DeployError(f"removing the shipped files of {stack} failed (exit {status})",
                          host=session.name)
