"""Moving a volume's files: export to a tar file, import from one, copy between hosts.

Bytes go through the helper container's archive endpoints (see `helper`) in
chunks of `CHUNK`: never a whole volume in memory, and a copy streams host
A's archive straight into host B's put, without a temporary file. An export
holds the volume's files under `./` (as `tar -C VOLUME -cf FILE .` would), so
the same file imports anywhere; owners, modes and times travel in it.

Every transfer passes the gate (`guard.mutating`): import and copy change a
volume; export changes none, but it creates (and removes) a helper container
on the host — a link cut in between leaves it there — and it takes data off
the host, which the audit trail should show. So a read-only Corral refuses
all three.

Everything here blocks: call it from worker threads.
"""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from corral.backends import guard
from corral.backends.errors import ActionRefused, BackendError, HostUnreachable, NotFound
from corral.backends.ssh.session import HostSession
from corral.backends.translate import translate_docker_error
from corral.backends.volumes.archive_check import ArchiveSummary
from corral.backends.volumes.helper import (
    MOUNT,
    VolumeState,
    helper_container,
    refuse_writers,
    volume_state,
)

#: Bytes read or sent at a time.
CHUNK = 1 << 20

#: `progress(bytes_so_far)`, called after every chunk.
Progress = Callable[[int], None]
#: `confirm(question)` -> go ahead; asked before files land in a volume that holds some.
Confirm = Callable[[str], bool]


@dataclass(frozen=True)
class TransferResult:
    """What a transfer did.

    Attributes:
        verb: `volume.export`, `volume.import` or `volume.copy`.
        source: `HOST/VOLUME` or the file read.
        target: `HOST/VOLUME` or the file written.
        bytes: Bytes of archive moved.
        created: The target volume did not exist and was created.
        live: Taken while a running container could write it (`--live`).
    """

    verb: str
    source: str
    target: str
    bytes: int
    created: bool = False
    live: bool = False

    def as_json(self) -> dict[str, object]:
        """The result for `--json`."""
        return {"verb": self.verb, "source": self.source, "target": self.target,
                "bytes": self.bytes, "created": self.created, "live": self.live}


def export_volume(session: HostSession, volume: str, path: Path, *, live: bool = False,
                  progress: Progress | None = None) -> TransferResult:
    """Write the volume's files to the tar file `path` (mode 0600).

    The file appears whole or not at all (written beside it, then renamed).

    Args:
        session: The volume's host.
        volume: The volume's name.
        path: The tar file to write (replaced if it exists).
        live: Go ahead even while a running container writes the volume.
        progress: Told the bytes written so far.

    Raises:
        ActionRefused: Read-only, or a running container writes the volume.
        NotFound: No such volume on the host.
        BackendError: The host, the engine or the local file failed.
    """
    guard.check("volume.export", hosts=session.name, target=volume, readonly=session.readonly)
    state = _existing(session, volume)
    if not live:
        refuse_writers(state, f"export {volume}")
    partial = path.with_name(f".{path.name}.part")
    done = 0
    with guard.mutating("volume.export", hosts=session.name, target=volume,
                        args={"file": str(path), "live": live}, readonly=session.readonly), \
            helper_container(session, state, writable=False) as helper:
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out, _archive(session, helper) as chunks:
                for chunk in chunks:
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done)
            os.replace(partial, path)
        except OSError as exc:
            raise BackendError(f"{path}: {exc.strerror or exc}") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
    return TransferResult("volume.export", f"{session.name}/{volume}", str(path), done, live=live)


def import_volume(session: HostSession, volume: str, archive: ArchiveSummary, *,
                  live: bool = False, confirm: Confirm | None = None,
                  progress: Progress | None = None) -> TransferResult:
    """Put the files of a checked tar file into the volume, creating it if needed.

    Files of the same name are replaced; others already there stay.

    Args:
        session: The volume's host.
        volume: The volume's name.
        archive: The file, as `check_archive` passed it.
        live: Go ahead even while a running container writes the volume.
        confirm: Asked before writing into a volume that already holds files;
            None refuses that.
        progress: Told the bytes sent so far.

    Raises:
        ActionRefused: Read-only, a running container writes the volume, it
            holds Corral's own records, or the import was not confirmed.
        BackendError: The host or the engine failed (a volume created for
            this import is removed again).
    """
    guard.check("volume.import", hosts=session.name, target=volume, readonly=session.readonly)
    state = _writable_target(session, volume, live)
    with guard.mutating("volume.import", hosts=session.name, target=volume,
                        args={"file": str(archive.path), "live": live},
                        readonly=session.readonly), \
            _created_if_missing(session, state) as created, \
            helper_container(session, state, writable=True) as helper:
        if not created:
            _confirm_if_not_empty(session, helper, state, confirm, f"from {archive.path}")
        try:
            with archive.path.open("rb") as source:
                sent = _put(session, helper, _counted(_file_chunks(source), progress))
        except OSError as exc:
            raise BackendError(f"{archive.path}: {exc.strerror or exc}") from None
    return TransferResult("volume.import", str(archive.path), f"{session.name}/{volume}",
                          sent, created=created, live=live)


def copy_volume(source: HostSession, volume: str, target: HostSession, name: str, *,
                live: bool = False, confirm: Confirm | None = None,
                progress: Progress | None = None) -> TransferResult:
    """Copy a volume's files to a volume on another (or the same) host.

    The source's archive streams straight into the target's put: no
    temporary file, memory flat.

    Args:
        source: The source volume's host.
        volume: The source volume.
        target: The target's host (may be `source`).
        name: The target volume (created if missing).
        live: Go ahead even while running containers write either volume.
        confirm: As for `import_volume`.
        progress: Told the bytes copied so far.

    Raises:
        ActionRefused: As for `import_volume`, or the source is the target.
        NotFound: No such source volume.
        BackendError: Either host or engine failed (a target volume created
            for this copy is removed again).
    """
    if source.name == target.name and volume == name:
        raise ActionRefused(f"{volume} would be copied onto itself; name another volume "
                            "or host", host=source.name)
    hosts = tuple(dict.fromkeys((source.name, target.name)))
    what = f"{source.name}/{volume} -> {target.name}/{name}"
    readonly = source.readonly or target.readonly
    guard.check("volume.copy", hosts=hosts, target=what, readonly=readonly)
    from_state = _existing(source, volume)
    if not live:
        refuse_writers(from_state, f"copy {volume}")
    to_state = _writable_target(target, name, live)
    done = 0

    def counted(count: int) -> None:
        nonlocal done
        done = count
        if progress is not None:
            progress(count)

    with guard.mutating("volume.copy", hosts=hosts, target=what, args={"live": live},
                        readonly=readonly), \
            helper_container(source, from_state, writable=False) as reader, \
            _created_if_missing(target, to_state) as created, \
            helper_container(target, to_state, writable=True) as writer:
        if not created:
            _confirm_if_not_empty(target, writer, to_state, confirm,
                                  f"from {source.name}/{volume}")
        with _archive(source, reader) as chunks:
            _put(target, writer, _counted(chunks, counted))
    return TransferResult("volume.copy", f"{source.name}/{volume}", f"{target.name}/{name}",
                          done, created=created, live=live)


def _existing(session: HostSession, volume: str) -> VolumeState:
    state = volume_state(session, volume)
    if not state.exists:
        raise NotFound(f"no volume {volume}", host=session.name)
    return state


def _writable_target(session: HostSession, volume: str, live: bool) -> VolumeState:
    state = volume_state(session, volume)
    owned = state.corral_owned
    if owned is not None:
        raise ActionRefused(f"volume {volume} holds {owned}; Corral does not write files "
                            "into it", host=session.name)
    if not live:
        refuse_writers(state, f"write into {volume}")
    return state


@contextlib.contextmanager
def _created_if_missing(session: HostSession, state: VolumeState) -> Iterator[bool]:
    """Create the volume if it does not exist; remove it again if the body fails."""
    if state.exists:
        yield False
        return
    session.call(lambda c: c.api.create_volume(state.volume))
    try:
        yield True
    except BaseException:
        # Half a volume is worse than none: the next attempt starts clean.
        with contextlib.suppress(BackendError):
            session.call(lambda c: c.api.remove_volume(state.volume))
        raise


def _confirm_if_not_empty(session: HostSession, helper: str, state: VolumeState,
                          confirm: Confirm | None, source: str) -> None:
    if _is_empty(session, helper):
        return
    question = (f"volume {state.volume} on {session.name} already holds files: put the files "
                f"{source} into it (same names replaced, others kept)?")
    if confirm is None or not confirm(question):
        raise ActionRefused(f"volume {state.volume} already holds files; not confirmed "
                            "(--yes confirms off a terminal), nothing written",
                            host=session.name)


def _archive_response(client, helper: str):
    # docker-py's `get_archive` hands back a generator that keeps its response
    # open when abandoned; the response itself can be closed on every path.
    # `identity`: the engine would gzip the tar for an `Accept-Encoding: gzip`
    # client; an export is a plain tar, and compressing costs the engine a core.
    # Private docker-py helpers: pinned by tests/unit/test_dependency_internals_volumes.py.
    api = client.api
    response = api._get(api._url("/containers/{0}/archive", helper),
                        params={"path": f"{MOUNT}/."}, stream=True,
                        headers={"Accept-Encoding": "identity"})
    api._raise_for_status(response)
    return response


@contextlib.contextmanager
def _archive(session: HostSession, helper: str) -> Iterator[Iterator[bytes]]:
    """The volume's files as a tar stream, in chunks; the response closed afterwards."""
    response = session.call(_archive_response, helper)
    try:
        yield _stream_chunks(session, response)
    finally:
        response.close()


def _stream_chunks(session: HostSession, response) -> Iterator[bytes]:
    try:
        yield from response.raw.stream(CHUNK, decode_content=False)
    except Exception as exc:
        raise HostUnreachable(f"the engine's archive stream broke off ({exc})",
                              host=session.name) from exc


def _is_empty(session: HostSession, helper: str) -> bool:
    """Whether the volume holds nothing but its root (reads the first members only)."""
    response = session.call(_archive_response, helper)
    try:
        reader = _ChunkReader(response.raw.stream(64 * 1024, decode_content=False))
        with tarfile.open(fileobj=reader, mode="r|") as archive:
            for member in archive:
                if member.name.strip("./"):
                    return False
        return True
    except (tarfile.TarError, OSError) as exc:
        raise BackendError(f"could not read the volume's files ({exc})",
                           host=session.name) from exc
    finally:
        response.close()


class _ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of chunks (the engine's chunked tar stream)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._rest:
            self._rest = next(self._chunks, b"")
            if not self._rest:
                return 0
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size


def _put(session: HostSession, helper: str, chunks: Iterable[bytes]) -> int:
    """Send the chunks (a tar stream) into the helper's mount; the bytes sent."""
    counter = _Tally(chunks)
    try:
        session.client.api.put_archive(helper, MOUNT, counter)
    except Exception as exc:
        raise translate_docker_error(exc, session.name) from exc
    return counter.total


class _Tally:
    """An iterable of chunks that counts what went through (requests sends it chunked)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.total = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.total += len(chunk)
            yield chunk


def _counted(chunks: Iterable[bytes], progress: Progress | None) -> Iterator[bytes]:
    done = 0
    for chunk in chunks:
        done += len(chunk)
        if progress is not None:
            progress(done)
        yield chunk


def _file_chunks(source: BinaryIO) -> Iterator[bytes]:
    while chunk := source.read(CHUNK):
        yield chunk
