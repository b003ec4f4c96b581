"""`corral bundle create|verify`: a catalog entry and its images in one file, for sneakernet.

`create ENTRY -o FILE` renders the entry (`--version`, `--answers`, `--set`
as for deploy) to learn the images it needs, reads each from an inventory
host's engine that has it (`--from HOST`, default the first online host
holding it) and writes one tar: the entry's folder (that version), each
layer once, and a manifest of every member's sha256 and size. Answers are
only used to render: none is written to the bundle. `verify FILE` checks
every member against the manifest and names the first bad one. Both only read
hosts and write a local file: read-only sessions may run them. The work is in
`backends/images` (`write_bundle`, `verify_bundle`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from corral.backends.errors import HostOffline, PushSourceMissing
from corral.catalog.bounded import is_inside
from corral.tui.cli.support import (
    EXIT_OK,
    UsageError,
    add_global_options,
    connected_fleet,
    print_json,
    warn,
)
from corral.tui.present.formatting import human_size
from corral.tui.present.safe import visible

if TYPE_CHECKING:
    from corral.backends.images import EngineSource
    from corral.backends.ssh import Fleet, HostSession
    from corral.catalog.loader import Entry, Version

#: Files of a version folder bundled at most (a catalog version holds a handful).
MAX_ENTRY_FILES = 200


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `bundle create` and `bundle verify`."""
    bundle = subparsers.add_parser(
        "bundle", help="a catalog entry and its images in one file (for air-gapped hosts)")
    add_global_options(bundle, suppress=True)
    verbs = bundle.add_subparsers(dest="bundle_command", metavar="{create,verify}")
    verbs.required = True

    create = verbs.add_parser(
        "create", help="write an entry's version and every image it needs to one file")
    create.add_argument("source", metavar="ENTRY", nargs="?",
                        help="catalog entry (id or catalog:id)")
    create.add_argument("--packages", metavar="DISTRO",
                        help="instead of an entry: the distribution packages Docker needs "
                        "(bookworm), for `hosts provision --from-bundle`; made with this "
                        "machine's apt, which must run that distribution")
    create.add_argument("--version", help="catalog version (default: the entry's)")
    create.add_argument("--answers", metavar="FILE", help="YAML answers file (to render)")
    create.add_argument("--set", action="append", default=[], metavar="K=V", dest="sets",
                        help="one answer (repeatable; wins over --answers)")
    create.add_argument("--catalog", action="append", default=[], metavar="PATH",
                        help="add a catalog folder (repeatable)")
    create.add_argument("--from", dest="source_host", metavar="HOST",
                        help="read every image from this host (default: the first online "
                        "host that has each)")
    create.add_argument("-o", "--output", metavar="FILE", required=True,
                        help="the bundle to write (mode 0600; replaced once complete)")
    create.set_defaults(func=run_create)

    verify = verbs.add_parser(
        "verify", help="check every member of a bundle against its manifest")
    verify.add_argument("file", metavar="FILE", help="a bundle file")
    verify.set_defaults(func=run_verify)

    for parser in (create, verify):
        add_global_options(parser, suppress=True)
        parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run_create(args: argparse.Namespace) -> int:
    """Render the entry, then write its files and images to the bundle."""
    from corral.backends.deploy import resolve_load_balancers
    from corral.backends.images import write_bundle
    from corral.catalog.answers import resolve_answers
    from corral.catalog.render import render
    from corral.tui.catalog_sources import command_catalogs
    path = Path(args.output)
    if not path.parent.is_dir():
        raise UsageError(f"{path}: no directory {path.parent} to write the file in")
    if path.is_dir():
        raise UsageError(f"{path}: is a directory; name the bundle file to write")
    if args.packages:
        if args.source:
            raise UsageError("name an ENTRY or --packages DISTRO, not both")
        return _create_packages(args, path)
    if not args.source:
        raise UsageError("name the catalog ENTRY to bundle (or --packages DISTRO)")
    catalogs = command_catalogs(args.catalog, getattr(args, "config", None), warn)
    entry = catalogs.find(args.source)
    version = entry.find_version(args.version)
    answers = resolve_answers(version.info.questions, file=args.answers, sets=args.sets)
    stack = render(version, answers, stack_name=entry.id.replace("/", "-"))
    for problem in stack.warnings:
        warn(str(problem))
    if not any(service.image for service in stack.services):
        raise UsageError(f"{entry.id}: version {stack.version} names no image")
    files = list(_entry_files(entry, version))
    hosts = [args.source_host] if args.source_host else None
    with connected_fleet(args, hosts=hosts) as fleet:
        # Load balancer services run the inventory's HAProxy image: bundle that one.
        stack = resolve_load_balancers(stack, fleet.inventory.load_balancer_image)
        images = sorted({service.image for service in stack.services if service.image})
        sources = [(image, _source_of(fleet, image, args.source_host)) for image in images]
        report = write_bundle(path, files, {
            "id": entry.id, "catalog": entry.catalog, "name": entry.name,
            "version": stack.version, "revision": version.revision}, sources,
            on_progress=_meter())
        if sys.stderr.isatty():
            sys.stderr.write("\r\x1b[K")
    if args.json:
        print_json(report.to_dict())
    else:
        where = ", ".join(sorted({image.source for image in report.images}))
        print(visible(f"Wrote {path}: {entry.id} {stack.version}, {len(images)} image(s) "
                      f"from {where}, {report.layers} layer(s), {human_size(report.bytes)}."))
    return EXIT_OK


def _create_packages(args: argparse.Namespace, path: Path) -> int:
    from corral.backends.provision import create_package_bundle

    report = create_package_bundle(args.packages, path)
    if args.json:
        print_json(report)
    else:
        print(f"Wrote {path}: {' '.join(report['install'])} for {report['distro']}, "
              f"{report['debs']} package(s), {human_size(report['bytes'])}.")
    return EXIT_OK


def _meter() -> Callable[[str, int], None] | None:
    """Bytes read of the image being bundled, on stderr about 5 times a second (a terminal)."""
    if not sys.stderr.isatty():
        return None
    last = [0.0]

    def show(image: str, done: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.2:
            last[0] = now
            sys.stderr.write(f"\r{visible(image)}: {human_size(done)}\x1b[K")
            sys.stderr.flush()

    return show


def _entry_files(entry: Entry, version: Version) -> Iterator[tuple[str, Path]]:
    """The entry's own files and the version folder's, as (bundle name, file)."""
    root = version.root or entry.folder
    for path in (entry.folder / "config.yml", entry.icon, entry.readme_file):
        if path is not None and path.is_file() and is_inside(path, root):
            yield path.name, path
    count = 0
    for folder, _, names in os.walk(version.folder):
        for name in sorted(names):
            path = Path(folder) / name
            if not path.is_file() or not is_inside(path, root):
                continue  # a symlink out of the catalog is not carried along
            count += 1
            if count > MAX_ENTRY_FILES:
                raise UsageError(f"{version.folder}: more than {MAX_ENTRY_FILES} files")
            yield f"{version.revision}/{path.relative_to(version.folder).as_posix()}", path


def _source_of(fleet: Fleet, image: str, wanted: str | None) -> EngineSource:
    """The engine to read `image` from: `wanted`, else the first online host holding it."""
    from corral.backends.images import EngineSource
    sessions: list[HostSession] = [fleet.session(wanted)] if wanted else [
        fleet.session(host.name) for host in fleet.inventory.hosts]
    for session in sessions:
        if not session.online:
            if wanted:
                raise HostOffline(session.status.error or "not connected", host=wanted)
            continue
        source = EngineSource(session)
        try:
            source.inspect(image)
        except PushSourceMissing:
            continue
        return source
    where = wanted or "any online host"
    raise PushSourceMissing(f"no image {image} on {where}: pull or push it there first",
                            host=wanted)


def run_verify(args: argparse.Namespace) -> int:
    """Check the bundle; one line naming the first bad member, exit 1, if it is not sound."""
    from corral.backends.images import verify_bundle
    report = verify_bundle(Path(args.file))
    if args.json:
        print_json({"ok": True, **report.to_dict()})
    else:
        entry = report.entry
        # A package bundle (`create --packages`) has no entry and no image.
        what = (f"{entry.get('id')} {entry.get('version')}, images "
                f"{', '.join(report.images)}" if entry.get("id") else "packages")
        print(visible(f"{report.path}: ok, {report.members} members "
                      f"({human_size(report.bytes)}): {what}."))
    return EXIT_OK
