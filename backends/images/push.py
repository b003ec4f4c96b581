"""Push an image to a host over its SSH tunnel, sending only the layers it lacks.

The source engine's `GET /images/{name}/get` archive streams through
`archive.filter_archive`, which drops the `layer.tar` of every layer whose
chain the target already holds, into the target's `POST /images/load` as a
chunked request body: no temporary file. The source is read on a thread of
its own, a few chunks ahead of the upload (`feed`), so both links stream at
once; memory is bounded by those chunks (and each SSH channel's window, see
`ssh/window.py`). Concurrent pushes of one image from one engine (one per
target) share one read of its archive, each with its own filter. Both
streams go through an OpenSSH child per link when `ssh` is there
(`ssh/pump.py`: its C ciphers, off the interpreter lock), else through the
hosts' stream relays when they run (`ssh/relay.py`) or the main tunnels.

Docker 20.10 writes `manifest.json` (which maps layer directories to layers)
after the layers, so the filter cannot wait for it; instead it recognises the
layer directories by name, recomputed from the image's diffIDs
(`layers.legacy_layer_ids`; Docker 25+ names blobs by diffID). When the
manifest finally goes by, the filter checks it agrees with what was skipped;
if it does not, the upload is cut before it ends (the engine loads nothing)
and the full archive is sent instead. A layer the filter does not recognise
is sent: the top layer always is (its name hashes the whole configuration).

An engine that refuses the partial archive (the containerd image store) gets
the full archive, and the report says so. After the load, the image ID on the
target must equal the source's; otherwise the image is removed and
`PushIdMismatch` raised. A cut link leaves the target's engine with a
truncated body, which it refuses whole: nothing is tagged, and a re-run sends
only what is still missing.

Blocking docker-py calls: run on a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from corral.backends import guard
from corral.backends.errors import (
    BackendError,
    DockerUnavailable,
    HostOffline,
    NotFound,
    PushIdMismatch,
    PushLinkLost,
    PushRejected,
    PushSourceFailed,
    PushSourceMissing,
)
from corral.backends.images.archive import FilterStats, filter_archive
from corral.backends.images.feed import FeedRegistry, Ticket
from corral.backends.images.layers import LayerPlan, present_chains
from corral.backends.ssh.pump import bulk_client
from corral.backends.ssh.session import HostSession
from corral.backends.translate import translate_docker_error

log = logging.getLogger(__name__)

#: Bytes read from the source per chunk; the most the filter holds at once.
CHUNK_SIZE = 1 << 20

#: `on_progress(bytes_sent, bytes_read)` after each chunk goes out.
Progress = Callable[[int, int], None]

#: Archive reads that concurrent pushes of one image from one engine share (`feed`).
_FEEDS = FeedRegistry()


class ImageSource(Protocol):
    """Where a pushed image comes from (an engine today; a bundle file later)."""

    name: str

    def inspect(self, image: str) -> dict[str, Any]:
        """`docker image inspect` of `image`; raises PushSourceMissing if absent."""

    def archive(self, image: str, chunk_size: int) -> Iterable[bytes]:
        """The `docker save` archive of `image`, streamed.

        A source may also have a `feed_key` attribute: concurrent pushes of an
        image from sources with equal keys share one read of its archive.
        """


class EngineSource:
    """Images read from an engine: an inventory host's, or the operator's local one
    (an `is_local` inventory host).

    Args:
        session: The engine's session (online).
    """

    def __init__(self, session: HostSession):
        self.session = session
        self.name = session.name

    @property
    def feed_key(self) -> object:
        """What concurrent pushes from this source share reads by: the session."""
        return self.session

    def inspect(self, image: str) -> dict[str, Any]:
        try:
            return self.session.call(lambda client: client.api.inspect_image(image))
        except NotFound:
            raise PushSourceMissing(f"no image {image}", host=self.name) from None

    def archive(self, image: str, chunk_size: int) -> Iterator[bytes]:
        # Through an OpenSSH child of its own when one starts (`ssh/pump.py`),
        # ended when the read is closed or ends.
        with bulk_client(self.session) as (client, _):
            yield from saved_archive(client, self.name, image, chunk_size)


def saved_archive(client: Any, name: str, image: str, chunk_size: int) -> Iterator[bytes]:
    """An engine's `docker save` archive of `image`, in chunks, as a push source reads it.

    Args:
        client: The engine's docker-py client.
        name: The source's name, for errors.
        image: The image.
        chunk_size: The chunk size asked of the engine.

    Raises:
        PushSourceFailed: The engine failed while the archive was read.
    """
    try:
        yield from client.api.get_image(image, chunk_size=chunk_size)
    except BackendError:
        raise
    except Exception as exc:
        error = translate_docker_error(exc, name)
        raise PushSourceFailed(f"reading {image} failed: {error.message}",
                               host=name) from exc


@dataclass
class PushReport:
    """How one push went.

    Attributes:
        image: The image reference pushed.
        image_id: Its ID (equal on source and target).
        source: Where it came from.
        target: The host it went to.
        mode: `present` (nothing to do), `tagged` (the target had the image
            under another name), `partial` (layers it holds skipped) or `full`.
        bytes_sent: Bytes of archive sent to the target (the request body).
        bytes_read: Bytes of archive read from the source.
        layers: Layers of the image.
        layers_present: Layers the target held before.
        layers_sent: `layer.tar` members sent.
        layer_bytes_sent: Their bytes.
        layer_bytes_skipped: Bytes of the `layer.tar` members not sent.
        note: Why the full archive was sent, when a partial one was planned.
    """

    image: str
    image_id: str
    source: str
    target: str
    mode: str
    bytes_sent: int = 0
    bytes_read: int = 0
    layers: int = 0
    layers_present: int = 0
    layers_sent: int = 0
    layer_bytes_sent: int = 0
    layer_bytes_skipped: int = 0
    note: str = ""

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


class _ManifestDisagrees(Exception):
    """Raised inside the upload to cut it: the manifest maps skipped members otherwise."""


def push_image(
    source: HostSession | ImageSource,
    target: HostSession,
    image: str,
    *,
    readonly: bool = False,
    chunk_size: int = CHUNK_SIZE,
    on_progress: Progress | None = None,
) -> PushReport:
    """Put `image` on `target` as `source` has it, sending only the layers it lacks.

    Runs inside the gate as `image.push` on the target.

    Args:
        source: An engine's session (or another image source).
        target: The host to load the image on (online).
        image: Image reference (`repo:tag`, or an ID).
        readonly: The caller's session is read-only.
        chunk_size: Bytes per chunk read and sent.
        on_progress: Told bytes sent and read after each chunk.

    Returns:
        What was sent and how.

    Raises:
        ActionRefused: Read-only; nothing ran.
        PushSourceMissing: The source has no such image.
        PushSourceFailed: Reading the source failed (nothing loaded).
        PushLinkLost: The target's connection dropped (nothing loaded).
        PushRejected: The target's engine refused even the full archive.
        PushIdMismatch: The loaded image's ID differs (it was removed).
        BackendError: Another engine error, translated.
    """
    origin = EngineSource(source) if isinstance(source, HostSession) else source
    # Declared before anything else, so that concurrent pushes of this image
    # from this source find each other and share one read (`feed`).
    owner = getattr(origin, "feed_key", None)
    key = (owner, image) if owner is not None else None
    with _FEEDS.expect(key, lambda: origin.archive(image, chunk_size), chunk_size) as ticket, \
            guard.mutating("image.push", hosts=target.name, target=image,
                           args={"from": origin.name}, readonly=readonly):
        return _push(origin, target, image, ticket, on_progress)


def _push(source: ImageSource, target: HostSession, image: str, ticket: Ticket,
          on_progress: Progress | None) -> PushReport:
    wanted = source.inspect(image)
    image_id = wanted["Id"]
    diff_ids = list((wanted.get("RootFS") or {}).get("Layers") or [])
    report = PushReport(image, image_id, source.name, target.name, "present",
                        layers=len(diff_ids), layers_present=len(diff_ids))
    held = _target_image(target, image)
    if held is not None and held.get("Id") == image_id:
        return report
    if held is None and _is_reference(image) and "@" not in image \
            and _target_image(target, image_id):
        repository, tag = _split_reference(image)
        target.call(lambda client: client.api.tag(image_id, repository, tag))
        report.mode = "tagged"
        return report
    chains = host_chains(target)
    plan = LayerPlan.for_target(diff_ids, chains)
    report.layers_present = len(diff_ids) - plan.missing
    report.mode = "partial" if plan.members else "full"
    try:
        stats = _send(ticket.read, target, image, plan, on_progress)
    except (PushRejected, _ManifestDisagrees) as refused:
        if not plan.members or _hopeless(refused):
            raise _rejected(refused, target.name, image) from refused
        why = ("the archive's manifest did not match the layers skipped"
               if isinstance(refused, _ManifestDisagrees) else
               f"the engine refused the partial archive ({refused.message})")
        log.info("%s: %s; sending the full archive", target.name, why)
        report.mode, report.note = "full", f"{why}; sent the full archive"
        stats = _send(ticket.own_read, target, image,
                      LayerPlan(tuple(diff_ids), (False,) * len(diff_ids)), on_progress)
    if report.mode == "partial" and not stats.skipped:
        report.mode = "full"
        report.note = "no layer of the archive was recognised as one the target holds"
    report.bytes_sent, report.bytes_read = stats.bytes_out, stats.bytes_in
    report.layer_bytes_skipped = stats.skipped_bytes
    report.layer_bytes_sent = stats.kept_layer_bytes
    report.layers_sent = _layer_count(stats) - len(stats.skipped)
    # A digest reference names no tag the archive carries: the ID is what to check.
    _verify(target, image if "@" not in image else image_id, image_id)
    return report


def _send(read: Callable[[], Any], target: HostSession, image: str, plan: LayerPlan,
          on_progress: Progress | None) -> FilterStats:
    """Stream the archive `read()` gives (read on the feed's thread, see `feed`)
    through the filter into the target's load."""
    stats = FilterStats()

    def check(manifest: list) -> None:
        layers = (manifest[0] or {}).get("Layers") or [] if manifest else []
        if len(manifest) != 1 or not plan.consistent(layers):
            raise _ManifestDisagrees()

    sent = [0]
    chunks = read()

    def body() -> Iterator[bytes]:
        filtered = filter_archive(chunks, plan.members, stats,
                                  on_manifest=check if plan.members else None)
        for piece in filtered:
            yield piece
            sent[0] += len(piece)
            if on_progress is not None:
                on_progress(sent[0], stats.bytes_in)

    try:
        with bulk_client(target) as (client, _):
            answers = client.api.load_image(body(), quiet=False)
            for answer in answers:
                if isinstance(answer, dict) and answer.get("error"):
                    raise PushRejected(
                        f"loading {image} failed: {str(answer['error']).strip()}",
                        host=target.name)
    except (BackendError, _ManifestDisagrees):
        raise
    except Exception as exc:
        error = translate_docker_error(exc, target.name)
        if isinstance(error, (HostOffline, DockerUnavailable)):
            raise PushLinkLost(f"the connection dropped while pushing {image} "
                               f"({sent[0]} bytes sent); nothing was loaded",
                               host=target.name) from exc
        raise PushRejected(f"loading {image} failed: {error.message}",
                           host=target.name) from exc
    finally:
        chunks.close()  # stops the read if nothing else shares it
    return stats


def _layer_count(stats: FilterStats) -> int:
    manifest = stats.manifest or [{}]
    return len((manifest[0] or {}).get("Layers") or [])


#: Engine refusals that the full archive cannot cure: not worth sending it.
_HOPELESS = ("no space left on device", "read-only file system", "permission denied")


def _hopeless(refused: Exception) -> bool:
    return isinstance(refused, PushRejected) and any(
        words in refused.message.lower() for words in _HOPELESS)


def _rejected(refused: Exception, host: str, image: str) -> PushRejected:
    if isinstance(refused, PushRejected):
        return refused
    return PushRejected(f"the archive of {image} does not hold a single image", host=host)


def _verify(target: HostSession, image: str, image_id: str) -> None:
    loaded = _target_image(target, image)
    if loaded is None:
        raise PushRejected(f"the engine accepted the archive but has no {image} after it",
                           host=target.name)
    if loaded.get("Id") != image_id:
        try:
            target.call(lambda client: client.api.remove_image(image))
        except BackendError as error:
            log.warning("%s: removing the mismatched %s failed: %s", target.name, image, error)
        raise PushIdMismatch(f"{image} loaded as {loaded.get('Id')}, not {image_id} as at "
                             "the source; removed it", host=target.name)


def _target_image(target: HostSession, image: str) -> dict | None:
    try:
        return target.call(lambda client: client.api.inspect_image(image))
    except NotFound:
        return None


def host_chains(session: HostSession) -> set[str]:
    """Every layer chain `session`'s engine holds (intermediate images included).

    What a push to that host may skip, and what the plan counts as missing.
    """
    ids = {row["Id"] for row in session.call(lambda client: client.api.images(all=True))}
    images = []
    for image_id in sorted(ids):
        found = _target_image(session, image_id)
        if found is not None:  # removed meanwhile
            images.append(found)
    return present_chains(images)


def _is_reference(image: str) -> bool:
    """Whether `image` names a repository (not a bare ID)."""
    bare = image.removeprefix("sha256:")
    return not (image.startswith("sha256:") or
                (len(bare) >= 12 and all(c in "0123456789abcdef" for c in bare)))


def _split_reference(image: str) -> tuple[str, str]:
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return image, "latest"
    return name, tag
