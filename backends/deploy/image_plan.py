"""Deploy's images: per host and image, present, pulled, pushed or unavailable.

`decide()` is pure: from which online hosts hold each image (and, for a
push, the layers the target holds and each layer's size at the source) it
chooses, for every host a plan puts a new container on and every image
those containers run, one of

- present: the host has it (and `--pull always` does not ask for a pull);
- pull from REGISTRY: the image names a registry (`REGISTRY/REPO:TAG`) and
  `--pull` allows it; when another host holds the image, it is the fallback
  if the host turns out unable to reach the registry (`RegistryUnreachable`);
- push from SOURCE: an online inventory host that has it (the operator's own
  engine when it is an `is_local` inventory host), sending only the layers
  the target lacks; `bytes` estimates them from the source's layer sizes;
  or the deploy's bundle (`deploy --bundle`), see below;
- unavailable: no host has it and no pull is allowed or possible (why).

An image that names no registry (`team/app:1`, Docker Hub by default) is
pushed when a host has it: in the rooms Corral serves, a host is closer than
Docker Hub; with no host holding it, it is pulled.

A bundle given to the deploy is the source of every image it holds, before
hosts and registries: it carries the very image the entry was bundled with,
so a host is `present` only when it holds that image ID (a host with another
image under the same tag gets the bundle's), and nothing is pulled in its place.

`plan_images()` reads the hosts and decides; `transfer()` carries the pulls
and pushes out (each inside the gate, as `image.pull` / `image.push`),
target hosts concurrently, with progress. Blocking: call from a worker
thread or the command line.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace

from corral.backends.deploy.build import LOCAL_BUILD, builds_of, local_socket, no_engine_reason
from corral.backends.deploy.prepare import Prepared, Progress, ProgressCallback
from corral.backends.errors import (
    BackendError,
    NotFound,
    PushSourceMissing,
    RegistryUnreachable,
)
from corral.backends.images import (
    BundleSource,
    ImageSource,
    chain_ids,
    host_chains,
    pull_image,
    push_image,
)
from corral.backends.images import split_reference as split_image
from corral.backends.inventory import RegistryLogin, logins
from corral.backends.plan.model import CREATE, REPLACE
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession

PRESENT, PULL, PUSH, UNAVAILABLE = "present", "pull", "push", "unavailable"
PULL_MODES = ("never", "missing", "always")
#: The diffID of an empty layer tar (an image's `ENV`-only steps on old builders).
EMPTY_LAYER = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
#: Seconds between two byte-count progress events of one transfer.
PROGRESS_EVERY = 1.0


@dataclass(frozen=True)
class ImageRow:
    """How one image reaches one host.

    Attributes:
        host: The host that runs containers of it.
        image: The image reference.
        action: `present`, `pull`, `push` or `unavailable`.
        source: The registry (pull) or the inventory host (push) it comes from.
        bytes: For a push, the estimated bytes to send (the layers the target
            lacks); None when the source could not tell its layers' sizes.
        fallback: For a pull, the host to push from if the registry is unreachable.
        why: For `unavailable`, why; for others, an optional note.
    """

    host: str
    image: str
    action: str
    source: str = ""
    bytes: int | None = None
    fallback: str = ""
    why: str = ""

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)

    def describe(self) -> str:
        """`present`, `pull from REG`, `push from lab1 (6.3 MB)`, `unavailable: why`."""
        if self.action == PULL:
            more = f", else push from {self.fallback}" if self.fallback else ""
            return f"pull from {self.source}{more}"
        if self.action == PUSH:
            size = f" ({human_bytes(self.bytes)})" if self.bytes is not None else ""
            note = f"; {self.why}" if self.why else ""
            return f"push from {self.source}{size}{note}"
        if self.action == UNAVAILABLE:
            return f"unavailable: {self.why}"
        return PRESENT + (f" ({self.why})" if self.why else "")


def human_bytes(count: int) -> str:
    """`0 B`, `812 KB`, `6.3 MB`, `1.2 GB` (powers of 1000, as transfers are counted)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if count >= size:
            value = count / size
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{count} B"


def named_registry(image: str) -> str:
    """The registry an image reference names explicitly (`10.0.0.5:5000/app:1`), or ""."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return split_image(image)[0]
    return ""


def _is_id(image: str) -> bool:
    bare = image.removeprefix("sha256:")
    return image.startswith("sha256:") or (
        len(bare) in (12, 64) and all(c in "0123456789abcdef" for c in bare))


def needs_of(prepared: Prepared) -> dict[str, list[str]]:
    """Host -> the images its new containers (created or replaced) run, sorted."""
    needs: dict[str, set[str]] = defaultdict(set)
    for step in prepared.plan.changes:
        if step.action in (CREATE, REPLACE):
            image = prepared.stack.service(step.service).image
            if image:
                needs[step.host].add(image)
    return {host: sorted(images) for host, images in sorted(needs.items())}


def layer_sizes(diff_ids: Sequence[str], history: Sequence[Mapping]) -> list[int] | None:
    """Each layer's size (bottom first) from an image's `history` (top first), or None.

    History has one entry per build step; steps that made no layer have size 0.
    """
    entries = [int(entry.get("Size") or 0) for entry in reversed(history)]
    if len(entries) == len(diff_ids):
        return entries
    real = [size for size in entries if size]
    if len(real) != sum(1 for d in diff_ids if d != EMPTY_LAYER):
        return None
    sizes, rest = [], iter(real)
    for diff_id in diff_ids:
        sizes.append(0 if diff_id == EMPTY_LAYER else next(rest))
    return sizes


def missing_bytes(diff_ids: Sequence[str], sizes: Sequence[int] | None,
                  target_chains: set[str]) -> int | None:
    """Bytes of the layers whose chain the target lacks (None when sizes are unknown)."""
    if sizes is None:
        return None
    return sum(size for chain, size in zip(chain_ids(diff_ids), sizes, strict=True)
               if chain not in target_chains)


@dataclass
class HostImages:
    """What one online host holds, as far as deploy's images go.

    Attributes:
        held: Image reference -> its inspect data, for the needed images it has.
        chains: Every layer chain it holds (read only for targets of a push).
        sizes: Image -> its layer sizes (read only on push sources).
    """

    held: dict[str, dict]
    chains: set[str] | None = None
    sizes: dict[str, list[int] | None] | None = None


def decide(needs: Mapping[str, Sequence[str]], hosts: Mapping[str, HostImages],
           pull: str = "missing", order: Sequence[str] = (),
           bundle: tuple[str, HostImages] | None = None) -> list[ImageRow]:
    """Choose how each needed image reaches each host (pure).

    Args:
        needs: Host -> images its new containers run.
        hosts: Every online host -> what it holds (targets and possible sources).
        pull: `never`, `missing` or `always`.
        order: Hosts in preference order for sources (inventory order); others after.
        bundle: The deploy's bundle (its source name, the images it holds with
            their layer sizes): the source of those images, before any other.

    Returns:
        One row per (host, image), in host then image order. Bytes are filled
        only when `hosts` carry the target's chains and the source's sizes.
    """
    ranked = [*[h for h in order if h in hosts], *sorted(h for h in hosts if h not in order)]
    rows = []
    for host in sorted(needs):
        mine = hosts.get(host, HostImages({}))
        for image in sorted(set(needs[host])):
            sources = [h for h in ranked if h != host and image in hosts[h].held]
            if bundle is not None and image in bundle[1].held:
                rows.append(_from_bundle(host, image, mine, *bundle))
                continue
            rows.append(_row(host, image, image in mine.held, sources, pull, mine, hosts))
    return rows


def _from_bundle(host: str, image: str, mine: HostImages, name: str,
                 bundle: HostImages) -> ImageRow:
    wanted = bundle.held[image].get("Id")
    held = mine.held.get(image)
    if held is not None and held.get("Id") == wanted:
        return ImageRow(host, image, PRESENT)
    row = _push_row(host, image, name, bundle, mine)
    if held is not None:  # the host's image of that name is not the bundle's
        return replace(row, why=f"{host} has another {image}: replaced")
    return row


def _push_row(host: str, image: str, source: str, held_by: HostImages,
              mine: HostImages) -> ImageRow:
    """A push of `image` from `source` (a host or the bundle), bytes estimated when known."""
    diff_ids = (held_by.held[image].get("RootFS") or {}).get("Layers") or []
    sizes = (held_by.sizes or {}).get(image)
    estimate = (missing_bytes(diff_ids, sizes, mine.chains)
                if mine.chains is not None else None)
    return ImageRow(host, image, PUSH, source, bytes=estimate)


def _row(host: str, image: str, have: bool, sources: list[str], pull: str,
         mine: HostImages, hosts: Mapping[str, HostImages]) -> ImageRow:
    registry = named_registry(image)
    if have and not (pull == "always" and registry):
        return ImageRow(host, image, PRESENT)
    if pull != "never" and registry:
        return ImageRow(host, image, PULL, registry, fallback=sources[0] if sources else "")
    if sources:
        return _push_row(host, image, sources[0], hosts[sources[0]], mine)
    if pull != "never" and not _is_id(image):
        return ImageRow(host, image, PULL, split_image(image)[0])
    if pull == "never":
        why = "no online host has it and --pull never forbids pulling it"
    else:
        why = "no online host has it and an image ID names no registry"
    return ImageRow(host, image, UNAVAILABLE, why=why)


def plan_images(fleet: Fleet, prepared: Prepared) -> list[ImageRow]:
    """Read the online hosts and decide how each needed image reaches its hosts.

    Also stores the rows in `prepared.images`.

    Raises:
        BackendError: Reading a target host failed (it is named).
    """
    needs = needs_of(prepared)
    if not needs:
        prepared.images = []
        return []
    # Built images come from this machine's engine, never from a host or registry.
    builds = builds_of(prepared)
    built = [_built_row(host, image, builds[image].context)
             for host, images in needs.items() for image in images if image in builds]
    needs = {host: [i for i in images if i not in builds] for host, images in needs.items()}
    needs = {host: images for host, images in needs.items() if images}
    if not needs:
        prepared.images = sorted(built, key=lambda row: (row.host, row.image))
        return prepared.images
    rows = decide_on_hosts(fleet, needs, prepared.state.online, prepared.pull,
                           prepared.bundle)
    prepared.images = sorted(rows + built, key=lambda row: (row.host, row.image))
    return prepared.images


def decide_on_hosts(fleet: Fleet, needs: Mapping[str, Sequence[str]], online: Sequence[str],
                    pull: str = "missing", bundle: BundleSource | None = None
                    ) -> list[ImageRow]:
    """Read the online hosts, then decide how each needed image reaches each host.

    What `plan_images` does for a standalone plan, and the Swarm engine for
    the nodes that may run a service's tasks.

    Args:
        fleet: The connected fleet.
        needs: Host -> the images it must hold.
        online: The online hosts, in inventory order (sources are tried in it).
        pull: `never`, `missing` or `always`.
        bundle: The deploy's bundle, the source of the images it holds.

    Returns:
        One row per (host, image), in host then image order, push bytes estimated.

    Raises:
        BackendError: Reading a host that needs an image failed (it is named).
    """
    wanted = sorted({image for images in needs.values() for image in images})
    hosts: dict[str, HostImages] = {}
    for result in fleet.query(lambda s: HostImages(_held(s, wanted)), hosts=list(online)):
        if result.ok:
            hosts[result.host] = result.value  # type: ignore[assignment]
        elif result.host in needs:
            raise result.error  # type: ignore[misc]
    held_by_bundle = _bundle_images(bundle, wanted)
    first = decide(needs, hosts, pull, online, held_by_bundle)
    pushes = [row for row in first if row.action == PUSH]
    if not pushes:
        return first
    targets = sorted({row.host for row in pushes})
    sources: dict[str, set[str]] = defaultdict(set)
    for row in pushes:
        if row.source in hosts:  # the bundle told its sizes already
            sources[row.source].add(row.image)

    def extra(session: HostSession) -> tuple[set[str] | None, dict | None]:
        chains = host_chains(session) if session.name in targets else None
        sizes = ({image: _sizes(session, image, hosts[session.name].held[image])
                  for image in sorted(sources[session.name])}
                 if session.name in sources else None)
        return chains, sizes

    for result in fleet.query(extra, hosts=sorted({*targets, *sources})):
        if result.ok:
            hosts[result.host].chains, hosts[result.host].sizes = result.value  # type: ignore[misc]
    return decide(needs, hosts, pull, online, held_by_bundle)


def _built_row(host: str, image: str, context: str) -> ImageRow:
    """A `build:` service's image: built here, then pushed; unavailable without an engine."""
    if local_socket() is None:
        return ImageRow(host, image, UNAVAILABLE, why=no_engine_reason())
    return ImageRow(host, image, PUSH, LOCAL_BUILD, why=f"built here from {context}")


def _bundle_images(bundle: BundleSource | None, images: list[str]
                   ) -> tuple[str, HostImages] | None:
    """What the deploy's bundle holds of `images`, with its layer sizes."""
    if bundle is None:
        return None
    held: dict[str, dict] = {}
    sizes: dict[str, list[int] | None] = {}
    for image in images:
        try:
            held[image] = bundle.inspect(image)
        except PushSourceMissing:
            continue
        sizes[image] = bundle.layer_sizes(image)
    return bundle.name, HostImages(held, sizes=sizes)


def image_sources(prepared: Prepared) -> dict[str, ImageSource]:
    """Source name -> the image sources beyond the hosts a plan's pushes may name."""
    bundle = prepared.bundle
    return {bundle.name: bundle} if bundle is not None else {}


def _held(session: HostSession, images: list[str]) -> dict[str, dict]:
    held = {}
    for image in images:
        try:
            held[image] = session.call(lambda client, name=image: client.api.inspect_image(name))
        except NotFound:
            continue
    return held


def _sizes(session: HostSession, image: str, held: dict) -> list[int] | None:
    try:
        history = session.call(lambda client: client.api.history(image))
    except BackendError:
        return None
    return layer_sizes((held.get("RootFS") or {}).get("Layers") or [], history)


def unavailable_problems(rows: Sequence[ImageRow]) -> dict[str, list[str]]:
    """Host -> `image IMAGE unavailable: why` for each unavailable row."""
    problems: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row.action == UNAVAILABLE:
            problems[row.host].append(f"image {row.image} unavailable: {row.why}")
    return dict(problems)


def transfer(fleet: Fleet, rows: Sequence[ImageRow],
             on_progress: ProgressCallback | None = None,
             sources: Mapping[str, ImageSource] | None = None) -> dict[str, str]:
    """Pull or push every row that needs it; target hosts concurrently, each in turn.

    Args:
        fleet: The connected fleet.
        rows: From `plan_images`.
        on_progress: Told each transfer's steps and bytes.
        sources: Push sources that are not hosts (the deploy's bundle), by name.

    Returns:
        Host -> `IMAGE: why` for hosts where a transfer failed (the host's
        later images were not tried).

    Raises:
        RegistryCredentialsError: A `registries:` password cannot be read
            (file and line named); nothing was transferred.
    """
    report = on_progress or (lambda _: None)
    moving: dict[str, list[ImageRow]] = defaultdict(list)
    for row in rows:
        if row.action in (PULL, PUSH):
            moving[row.host].append(row)
    if not moving:
        return {}
    # Every password read once, before any transfer: a bad entry stops here, one line.
    credentials = logins(fleet.registries,
                         (row.source for row in rows if row.action == PULL))

    current: dict[str, str] = {}  # host -> the image it was moving when it stopped

    def run(session: HostSession) -> None:
        for row in moving[session.name]:
            current[session.name] = row.image
            _transfer(fleet, session, row, report, sources or {}, credentials)

    errors = {}
    for result in fleet.query(run, hosts=sorted(moving)):
        if not result.ok:
            why = getattr(result.error, "message", str(result.error))
            image = current.get(result.host, "")
            # One line per host naming the image too: an engine's reason rarely does.
            errors[result.host] = why if image in why else f"{image}: {why}"
    return errors


class _Ticker:
    """Byte-count progress events, at most one per `PROGRESS_EVERY` seconds."""

    def __init__(self, report: ProgressCallback, host: str, image: str, action: str,
                 expected: int | None):
        self.report, self.host, self.image, self.action = report, host, image, action
        self.expected = expected
        self.started = time.monotonic()
        self.last = self.started  # the first second's rate says little: none before it
        self.lock = threading.Lock()

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        with self.lock:
            if now - self.last < PROGRESS_EVERY:
                return
            self.last = now
        rate = done / max(now - self.started, 1e-3)
        of = f" of ~{human_bytes(self.expected)}" if self.expected else ""
        eta = (f", ETA {max(0.0, (self.expected - done) / rate):.0f}s"
               if self.expected and rate > 0 and done < self.expected else "")
        self.report(Progress(self.host, self.image, self.action, "sending",
                             f"{human_bytes(done)}{of} at {human_bytes(int(rate))}/s{eta}"))


def _transfer(fleet: Fleet, session: HostSession, row: ImageRow,
              report: ProgressCallback, sources: Mapping[str, ImageSource],
              credentials: dict[str, RegistryLogin]) -> None:
    host, image = session.name, row.image
    if row.action == PULL:
        report(Progress(host, image, PULL, "running", f"from {row.source}"))
        pulled: dict[str, int] = {}
        tick = _Ticker(report, host, image, PULL, None)

        def layer(progress) -> None:
            if progress.status == "Downloading" and progress.current is not None:
                pulled[progress.layer] = progress.current
                tick(sum(pulled.values()))

        try:
            result = pull_image(session, image, on_progress=layer, credentials=credentials)
        except RegistryUnreachable as exc:
            if not row.fallback:
                report(Progress(host, image, PULL, "failed", exc.message))
                raise
            report(Progress(host, image, PULL, "failed",
                            f"{exc.message}; pushing from {row.fallback} instead"))
            _push(fleet.sessions[row.fallback], session, image, row.bytes, report,
                  fleet.readonly)
            return
        except BackendError as exc:
            report(Progress(host, image, PULL, "failed", exc.message))
            raise
        report(Progress(host, image, PULL, "done", f"{human_bytes(result.downloaded)} from"
                        f" {row.source} in {result.seconds:.1f}s"))
        return
    origin = sources.get(row.source) or fleet.sessions[row.source]
    _push(origin, session, image, row.bytes, report, fleet.readonly)


def _push(origin: HostSession | ImageSource, session: HostSession, image: str,
          expected: int | None, report: ProgressCallback, readonly: bool = False) -> None:
    host, source = session.name, origin.name
    report(Progress(host, image, PUSH, "running", f"from {source}"))
    tick = _Ticker(report, host, image, PUSH, expected)
    started = time.monotonic()
    try:
        pushed = push_image(origin, session, image, readonly=session.readonly or readonly,
                            on_progress=lambda sent, _read: tick(sent))
    except BackendError as exc:
        report(Progress(host, image, PUSH, "failed", exc.message))
        raise
    layers = f", {pushed.layers_sent} of {pushed.layers} layers" if pushed.layers else ""
    report(Progress(host, image, PUSH, "done", f"{human_bytes(pushed.bytes_sent)} from {source}"
                    f" in {time.monotonic() - started:.1f}s{layers}"))

