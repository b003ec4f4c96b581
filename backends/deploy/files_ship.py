"""Shipping files beside the compose file to the hosts (see `files.py`).

A tar of each item is streamed through the host's SSH connection into
`tar -x` (256 KiB chunks: bounded memory), unpacked into a `.part-*`
directory beside its digest directory, and renamed into place by a second
command once the bytes sent hash to the planned digest.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import secrets
import shlex
import stat
import subprocess
import tarfile
from collections.abc import Callable
from typing import BinaryIO

from corral.backends.deploy.files import CHUNK, Digest, LocalFile, ref_content, walk
from corral.backends.deploy.files_hosts import TIMEOUT, FilePlan, FileRow, host_shell
from corral.backends.deploy.image_plan import human_bytes
from corral.backends.errors import BackendError, DeployError, HostOffline, PlanError
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession


class _Sender:
    """A file-like sink that forwards bytes to a running process in 256 KiB chunks."""

    def __init__(self, fleet: Fleet, process) -> None:
        self.fleet = fleet
        self.process = process
        self.buffer = bytearray()
        self.sent = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if not self.buffer:
            return
        chunk, self.buffer = bytes(self.buffer), bytearray()
        self.fleet.backend.run(self.process.send(chunk), timeout=TIMEOUT)
        self.sent += len(chunk)


class _Hashing:
    """A reader that hashes what it reads (to catch a file changed since the plan)."""

    def __init__(self, handle: BinaryIO, digest: Digest) -> None:
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
                                    timeout=TIMEOUT)
    except (OSError, BackendError) as exc:
        raise DeployError(f"shipping {item.local} failed: {exc}", host=session.name) from exc
    sender = _Sender(fleet, process)
    digest = Digest()
    parent = os.path.dirname(item.local)
    try:
        with tarfile.open(fileobj=sender, mode="w|", format=tarfile.PAX_FORMAT) as archive:
            for name, info in walk(item.local):
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
        status, error = fleet.backend.run(process.finish(), timeout=TIMEOUT)
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
    status, _ = fleet.backend.run(host_shell(session, commit_command(item, part)),
                                  timeout=TIMEOUT + 5)
    if status:
        raise DeployError(f"moving {item.local} into {item.directory} failed (exit {status})",
                          host=session.name)
    return sender.sent


def ref_unpack_command(item: LocalFile, part: str) -> str:
    """The host's side of shipping a secret or config: one file, owned and moded.

    A secret's parent (`ROOT/STACK/secrets`) is 0700 and its digest
    directory too; the engine (root) bind-mounts the file, so a container
    reads it through its own mode and owner, not through those folders.
    """
    parent = os.path.dirname(item.directory)
    name = shlex.quote(f"{part}/{os.path.basename(item.host_path)}")
    quoted_parent, quoted_part = shlex.quote(parent), shlex.quote(part)
    lock = f" chmod 700 {quoted_parent};" if item.kind == "secret" else ""
    owner = ""
    if item.uid is not None or item.gid is not None:
        owner = (f" chown {0 if item.uid is None else item.uid}:"
                 f"{0 if item.gid is None else item.gid} {name};")
    return (f"set -e; mkdir -p {quoted_parent};{lock} umask 077; rm -rf {quoted_part};"
            f" mkdir {quoted_part}; trap 'rm -rf {quoted_part}' EXIT;"
            f" tar -x -f - -C {quoted_part};{owner} chmod {item.mode:o} {name}; trap - EXIT")


def ref_commit_command(item: LocalFile, part: str) -> str:
    """Rename a secret's or config's unpacked `part` into place (0700 for a secret)."""
    final, part = shlex.quote(item.directory), shlex.quote(part)
    mode = "700" if item.kind == "secret" else "755"
    return (f"set -e; if [ -d {final} ]; then rm -rf {part}; else chmod {mode} {part};"
            f" mv {part} {final}; fi")


def ref_archive(item: LocalFile, content: bytes) -> bytes:
    """A tar of the one file a secret or config ships (owner and mode as planned)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        member = tarfile.TarInfo(os.path.basename(item.host_path))
        member.size = len(content)
        member.mode = item.mode
        member.uid = item.uid or 0
        member.gid = item.gid or 0
        archive.addfile(member, io.BytesIO(content))
    return buffer.getvalue()


def _send_ref(fleet: Fleet, session: HostSession, item: LocalFile) -> int:
    """Ship one secret or config to one host; the bytes sent.

    Its content is read again (a `file:`) and must still hash to the plan's.

    Raises:
        DeployError: It changed since the plan, or the unpack (or `chown`) failed.
    """
    try:
        content = item.data if item.data is not None else ref_content(item.source or "")
    except PlanError as exc:
        raise DeployError(f"shipping {item.local} failed: {exc.message}",
                          host=session.name) from exc
    if hashlib.sha256(content).hexdigest() != item.content_digest:
        raise DeployError(f"{item.local} changed since the plan; plan again", host=session.name)
    part = f"{os.path.dirname(item.directory)}/.part-{item.digest[:12]}-{secrets.token_hex(4)}"
    archive = ref_archive(item, content)
    try:
        process = fleet.backend.run(_start(session, ref_unpack_command(item, part)),
                                    timeout=TIMEOUT)
        fleet.backend.run(process.send(archive), timeout=TIMEOUT)
        status, error = fleet.backend.run(process.finish(), timeout=TIMEOUT)
    except (OSError, BackendError) as exc:
        message = exc.message if isinstance(exc, BackendError) else str(exc)
        raise DeployError(f"shipping {item.local} failed: {message}", host=session.name) from exc
    if status:
        why = " (setting its owner needs root on the host)" if "chown" in error else ""
        raise DeployError(f"writing {item.local} into {item.directory} failed (exit {status})"
                          f"{why}: {error.strip()[:200]}", host=session.name)
    status, _ = fleet.backend.run(host_shell(session, ref_commit_command(item, part)),
                                  timeout=TIMEOUT + 5)
    if status:
        raise DeployError(f"moving {item.local} into {item.directory} failed (exit {status})",
                          host=session.name)
    return len(archive)


def _discard(fleet: Fleet, session: HostSession, process, part: str) -> None:
    """Stop a ship half-way: end the archive stream, remove what was unpacked."""
    try:
        if process is not None:
            fleet.backend.run(process.abort(), timeout=TIMEOUT)
        fleet.backend.run(host_shell(session, f"rm -rf {shlex.quote(part)}"), timeout=TIMEOUT + 5)
    except (OSError, BackendError, TimeoutError):
        pass  # a `.part-*` left behind is never bound, and `corral rm` removes it


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
            report(Progress(session.name, row.local, "ship", "running", human_bytes(item.size)))
            try:
                sent = (_send_ref if item.kind else _send)(fleet, session, item)
            except BackendError as exc:
                report(Progress(session.name, row.local, "ship", "failed", exc.message))
                raise
            # A secret's folder is a random token, not a digest of it.
            named = "token" if item.kind == "secret" else "sha256"
            report(Progress(session.name, row.local, "ship", "done",
                            f"{human_bytes(item.size)} ({human_bytes(sent)} sent),"
                            f" {named} {item.digest[:12]}"))

    errors = {}
    for answer in fleet.query(run, hosts=sorted(by_host)):
        if not answer.ok:
            errors[answer.host] = answer.error.message  # type: ignore[union-attr]
    return errors
