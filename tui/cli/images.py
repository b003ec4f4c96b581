"""`corral images ls|push|pull|prune`: images on the hosts, and moving them there.

`ls` lists each host's images with the containers using them; `push` sends
images from an engine (an inventory host that has them, `--from HOST`, or
`--from local`: this machine's engine) or a bundle file (`--from FILE`, see
`corral bundle`) to hosts over SSH, only the layers each lacks, several
targets at once; `pull` has each host's engine pull from its
registry; `prune` removes a host's images no container uses, after asking.
Progress goes to stderr when it is a terminal; `--json` prints one JSON object
per line on stdout instead of the sentences. The work is in `backends/images`.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from corral.backends.errors import BackendError
from corral.tui.cli.support import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    add_global_options,
    add_yes,
    ask,
    connected_fleet,
    destructive,
    load_configured_inventory,
    mutates,
    print_json,
    warn,
)
from corral.tui.present.formatting import duration, human_size
from corral.tui.present.safe import visible
from corral.tui.present.table import format_table

if TYPE_CHECKING:
    from corral.backends.images import (
        BundleSource,
        HostImage,
        ImageSources,
        PullResult,
    )
    from corral.backends.inventory import HostSpec, RegistryLogin
    from corral.backends.ssh import Fleet, HostSession
    from corral.tui.cli.transfer_board import TransferBoard

    #: One image to one host: (its sentence, its JSON record).
    Transfer = Callable[[HostSession, str, TransferBoard, str], tuple[str, dict]]


LOCAL = "local"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `images ls`, `images push`, `images pull` and `images prune`."""
    images = subparsers.add_parser(
        "images", help="images on the hosts: list, push over SSH, pull, prune unused")
    add_global_options(images, suppress=True)
    verbs = images.add_subparsers(dest="images_command", metavar="{ls,push,pull,prune}")
    verbs.required = True

    listed = verbs.add_parser("ls", help="each host's images and the containers using them")
    listed.add_argument("--host", metavar="H", action="append",
                        help="only this host (repeatable)")
    listed.set_defaults(func=run_ls)

    pushed = verbs.add_parser(
        "push", help="send images to hosts over SSH, only the layers each one lacks")
    pushed.add_argument("images", metavar="IMAGE", nargs="+", help="e.g. team/app:1.4")
    _add_targets(pushed)
    pushed.add_argument("--from", dest="source", metavar="local|HOST|FILE",
                        help="where to read the images from: an inventory host, `local` "
                        "(this machine's engine) or a bundle file (`corral bundle create`; "
                        "an inventory host of that name wins, write ./NAME for the file); "
                        "default: a host that has each one")
    pushed.set_defaults(func=run_push)

    pulled = verbs.add_parser("pull", help="have each host's engine pull images from a registry")
    pulled.add_argument("images", metavar="IMAGE", nargs="+",
                        help="e.g. registry.example:5000/team/app:1.4")
    _add_targets(pulled)
    pulled.set_defaults(func=run_pull)

    pruned = verbs.add_parser("prune", help="remove a host's images no container uses (asks)")
    pruned.add_argument("--host", metavar="H", required=True, help="the host to prune")
    add_yes(pruned)
    pruned.set_defaults(func=run_prune)

    for parser in (listed, pushed, pulled, pruned):
        add_global_options(parser, suppress=True)
        parser.add_argument("--json", action="store_true",
                            help="print JSON (one object per line for push and pull)")


def _add_targets(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--to", metavar="H,H", help="the hosts, comma-separated")
    where.add_argument("--all", action="store_true", help="every inventory host")


# ---------------------------------------------------------------- ls


IMAGE_COLUMNS = ("HOST", "IMAGE", "ID", "SIZE", "USED BY", "CREATED")


def run_ls(args: argparse.Namespace) -> int:
    """Print each host's images; exit 1 if a host did not answer."""
    with connected_fleet(args, hosts=args.host) as fleet:
        results = fleet.query(_listed)
    images = [image for result in results if result.ok for image in result.value]
    if args.json:
        print_json([image.to_dict() for image in images])
    else:
        now = time.time()
        print(format_table(IMAGE_COLUMNS, [_image_cells(image, now) for image in images]))
    failed = [result.error for result in results if not result.ok]
    for error in failed:
        warn(str(error))
    return EXIT_PARTIAL if failed else EXIT_OK


def _listed(session: HostSession) -> list[HostImage]:
    from corral.backends.images import check_online, list_images
    check_online(session)
    return list_images(session)


def _image_cells(image: HostImage, now: float) -> list[object]:
    return [
        image.host,
        ", ".join(image.tags) or "<none>",
        image.short_id,
        human_size(image.size),
        ", ".join(image.used_by) or None,
        f"{duration(now - image.created)} ago" if image.created else None,
    ]


# ---------------------------------------------------------------- push


@mutates("images push")
def run_push(args: argparse.Namespace) -> int:
    """Push every image to every target, the targets concurrently; one line per host."""
    from corral.backends.images import BundleSource, find_sources
    images = _images(args.images)
    targets, source = _targets(args), args.source
    bundle_path = _bundle_path(args, source)
    if bundle_path is not None:
        return _push_from_bundle(args, BundleSource(bundle_path), images, targets)
    extra: tuple[HostSpec, ...] = ()
    if source is not None:
        if source in targets:
            raise UsageError(f"--from {source} is also a target: an image cannot be pushed "
                             "onto the engine it is read from")
        if source == LOCAL:
            extra = _local_source(args)
            source = extra[0].name if extra else _inventory_local(args)
    # Without --from, every host is asked which has each image.
    hosts = None if source is None else [*targets, source]
    local = [spec.name for spec in extra]
    with connected_fleet(args, hosts=[h for h in hosts if h not in local] if hosts else None,
                         extra=extra) as fleet:
        sources = find_sources(fleet, images, targets, source)
        return _run_transfers(args, fleet, targets, images, sources,
                              lambda session, image, board, label: _push_one(
                                  fleet, sources.hosts[image], session, image, board, label))


def _push_one(fleet: Fleet, source: str, target: HostSession, image: str,
              board: TransferBoard, label: str) -> tuple[str, dict]:
    origin = _online(fleet, source)
    total = None
    if board.shown:  # the archive read is about the image's size: an ETA
        total = int(origin.call(lambda client: client.api.inspect_image(image)).get("Size") or 0)
    return _push_with(origin, target, image, board, label, total)


def _push_from_bundle(args: argparse.Namespace, bundle: BundleSource, images: list[str],
                      targets: list[str]) -> int:
    """`--from FILE`: each image from the bundle (checked as it streams) to every target."""
    from corral.backends.images import ImageSources
    missing = {image: f"not in {bundle.bundle.path}" for image in images
               if bundle.bundle.find(image) is None}
    sources = ImageSources({image: bundle.name for image in images if image not in missing},
                           missing)
    with connected_fleet(args, hosts=targets) as fleet:
        return _run_transfers(args, fleet, targets, images, sources,
                              lambda session, image, board, label: _push_with(
                                  bundle, session, image, board, label,
                                  sum(bundle.layer_sizes(image)) or None))


def _bundle_path(args: argparse.Namespace, source: str | None) -> Path | None:
    """The bundle `--from` names, or None for `local` or an inventory host."""
    if source is None or source == LOCAL:
        return None
    if any(spec.name == source for spec in load_configured_inventory(args).hosts):
        return None
    path = Path(source)
    if path.is_file() or "/" in source or path.suffix == ".bundle":
        return path
    return None


def _push_with(origin: HostSession | BundleSource, target: HostSession, image: str,
               board: TransferBoard, label: str, total: int | None) -> tuple[str, dict]:
    from corral.tui.present.transfers import push_sentence, timed_push
    report, seconds = timed_push(origin, target, image,
                                 lambda read, note: board.update(label, read, total, note))
    data = {"host": report.target, **report.to_dict(), "seconds": round(seconds, 3)}
    return push_sentence(report, seconds), data


def _local_source(args: argparse.Namespace) -> tuple[HostSpec, ...]:
    """The local engine as an extra host, unless the inventory has an `is_local` one."""
    from corral.backends.inventory import local_inventory
    inventory = load_configured_inventory(args)
    if any(spec.is_local for spec in inventory.hosts):
        return ()
    local = local_inventory()
    if local is None:
        raise UsageError("--from local: the inventory has no local host and this machine "
                         "has no Docker engine socket")
    spec = local.hosts[0]
    if any(host.name == spec.name for host in inventory.hosts):
        raise UsageError(f"--from local: the inventory's host {spec.name!r} is not this "
                         "machine's engine; name the source host instead")
    return (spec,)


def _inventory_local(args: argparse.Namespace) -> str:
    inventory = load_configured_inventory(args)
    return next(spec.name for spec in inventory.hosts if spec.is_local)


# ---------------------------------------------------------------- pull


@mutates("images pull")
def run_pull(args: argparse.Namespace) -> int:
    """Pull every image on every target, the targets concurrently; one line per host."""
    from corral.backends.images import ImageSources, split_reference
    from corral.backends.inventory import logins
    images = _images(args.images)
    targets = _targets(args)
    with connected_fleet(args, hosts=targets) as fleet:
        # Every password read once, before any pull: a bad entry stops here, one line.
        credentials = logins(fleet.registries, (split_reference(i)[0] for i in images))
        pull = functools.partial(_pull_one, credentials=credentials)
        return _run_transfers(args, fleet, targets, images, ImageSources(), pull)


def _pull_one(target: HostSession, image: str, board: TransferBoard,
              label: str, *, credentials: dict[str, RegistryLogin]) -> tuple[str, dict]:
    from corral.backends.images import PullTally, pull_image
    from corral.tui.present.transfers import pull_sentence
    tally = PullTally()
    result: PullResult = pull_image(
        target, image, on_progress=lambda event: board.update(label, *tally.add(event)),
        credentials=credentials)
    data = {"host": result.host, "image": result.image, "image_id": result.image_id,
            "digest": result.digest, "downloaded": result.downloaded,
            "up_to_date": result.up_to_date, "seconds": round(result.seconds, 3)}
    return pull_sentence(result), data


# ---------------------------------------------------------------- both


def _names(message: str, image: str) -> bool:
    """Whether `message` names `image`, with its registry or without (as a pull says it)."""
    from corral.backends.images import split_reference
    registry = split_reference(image)[0]
    return image in message or image.removeprefix(f"{registry}/") in message


def _run_transfers(args: argparse.Namespace, fleet: Fleet, targets: list[str],
                   images: list[str], sources: ImageSources, transfer: Transfer) -> int:
    """Each target in its own thread, its images in order; a line per host and image."""
    from corral.backends.images import check_online
    from corral.tui.cli.transfer_board import TransferBoard
    failures = 0
    with TransferBoard(shown=None if not args.json else False) as board:

        def emit(ok: bool, sentence: str, data: dict) -> None:
            if args.json:
                board.say(json.dumps({"ok": ok, **data}))
            elif ok:
                board.say(visible(sentence))
            else:
                board.say(f"corral: {visible(sentence)}", stream=sys.stderr)

        def one_host(name: str) -> int:
            failed = 0
            session = fleet.session(name)
            for image in images:
                label = f"{name} {image}"
                if image in sources.missing:
                    why = f"{image}: {sources.missing[image]} (name one with --from)"
                    emit(False, f"{name}: {why}", {"host": name, "image": image, "error": why})
                    failed += 1
                    continue
                try:
                    check_online(session)
                    sentence, data = transfer(session, image, board, label)
                except BackendError as error:
                    board.finish(label)
                    # One line naming the host and the image: an engine's reason rarely does.
                    said = str(error) if _names(error.message, image) else \
                        f"{error.host or name}: {image}: {error.message}"
                    emit(False, said, {"host": name, "image": image,
                                       "error": error.message, "kind": error.title})
                    failed += 1
                    continue
                board.finish(label)
                emit(True, sentence, data)
            return failed

        import concurrent.futures  # slow to import: only transfers run threads

        with concurrent.futures.ThreadPoolExecutor(max_workers=len(targets)) as pool:
            for failed in pool.map(one_host, targets):
                failures += failed
    return EXIT_PARTIAL if failures else EXIT_OK


def _targets(args: argparse.Namespace) -> list[str]:
    if args.all:
        inventory = load_configured_inventory(args)
        source = getattr(args, "source", None)
        return [spec.name for spec in inventory.hosts
                if spec.name != source and not (source == LOCAL and spec.is_local)]
    names = [name.strip() for name in args.to.split(",")]
    if not all(names):
        raise UsageError(f"--to {args.to!r}: an empty host name; write --to H1,H2")
    targets = list(dict.fromkeys(names))
    inventory = load_configured_inventory(args)
    for name in targets:
        inventory.get(name)  # UnknownHost before any connection
    return targets


def _images(names: list[str]) -> list[str]:
    for name in names:
        if not name or name != name.strip() or any(c.isspace() for c in name) \
                or name.startswith("-"):
            raise UsageError(f"{name!r} is not an image reference (e.g. team/app:1.4)")
    return list(dict.fromkeys(names))


# ---------------------------------------------------------------- prune


@destructive("images prune")
def run_prune(args: argparse.Namespace) -> int:
    """Ask, naming the host and every image, then remove the images no container uses."""
    from corral.backends.images import remove_images, unused_images
    host = args.host
    with connected_fleet(args, hosts=[host]) as fleet:
        session = _online(fleet, host)
        unused = unused_images(session)
        if not unused:
            if args.json:
                print_json({"host": host, "removed": [], "failed": {}, "freed": 0})
            else:
                print(f"{host}: no unused images")
            return EXIT_OK
        names = [image.tags[0] if image.tags else image.short_id for image in unused]
        size = human_size(sum(image.size for image in unused))
        question = (f"Remove {len(unused)} image(s) no container uses from {host} "
                    f"({size}): {', '.join(names)}?")
        if not ask(args, question):
            warn("nothing removed")
            return EXIT_PARTIAL
        report = remove_images(session, unused, readonly=session.readonly)
    if args.json:
        print_json(report.to_dict())
    else:
        print(visible(f"{host}: removed {len(report.removed)} image(s): "
                      f"{', '.join(report.removed) or 'none'}"))
    for name, why in report.failed.items():
        warn(f"{host}: {name} kept: {why}")
    return EXIT_PARTIAL if report.failed else EXIT_OK


# ---------------------------------------------------------------- sessions


def _online(fleet: Fleet, host: str) -> HostSession:
    from corral.backends.images import check_online
    session = fleet.session(host)
    check_online(session)
    return session
