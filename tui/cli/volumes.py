"""`corral volumes export|import|copy`: a volume's files to a tar file, back, or to another host.

`export HOST/VOLUME -o FILE.tar` writes the volume's files (under `./`, owners
and modes kept) to a tar file; `import FILE.tar HOST/VOLUME` puts a tar
file's files into a volume, creating it if it does not exist; `copy
HOST/VOLUME HOST2[/NAME]` streams one volume into another without a local
file. All three refuse while a running container mounts a volume they touch
read-write, unless `--live`; import and copy ask before writing into a volume
that already holds files (`--yes` off a terminal). The work is in
`backends/volumes`.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from corral.backends.errors import HostOffline
from corral.tui.cli.support import (
    EXIT_OK,
    UsageError,
    add_global_options,
    add_yes,
    ask,
    connected_fleet,
    mutates,
    print_json,
)
from corral.tui.present.formatting import human_size
from corral.tui.present.safe import visible

if TYPE_CHECKING:
    from corral.backends.ssh import Fleet, HostSession
    from corral.backends.volumes import TransferResult, VolumeRef


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `volumes export`, `volumes import` and `volumes copy`."""
    volumes = subparsers.add_parser(
        "volumes", help="move a volume's files: export to a tar file, import one, copy to a host")
    add_global_options(volumes, suppress=True)
    verbs = volumes.add_subparsers(dest="volumes_command", metavar="{export,import,copy}")
    verbs.required = True

    export = verbs.add_parser("export", help="write a volume's files to a tar file")
    export.add_argument("target", metavar="HOST/VOLUME", help="e.g. lab1/data")
    export.add_argument("-o", "--output", metavar="FILE.tar", required=True,
                        help="the tar file to write (mode 0600; replaced if it exists)")
    export.set_defaults(func=run_export)

    imported = verbs.add_parser(
        "import", help="put a tar file's files into a volume (created if missing)")
    imported.add_argument("file", metavar="FILE.tar", help="a tar file (gzip, bzip2, xz too)")
    imported.add_argument("target", metavar="HOST/VOLUME", help="e.g. lab2/data")
    imported.set_defaults(func=run_import)

    copied = verbs.add_parser(
        "copy", help="copy a volume's files into a volume on another host (or this one)")
    copied.add_argument("source", metavar="HOST/VOLUME", help="e.g. lab1/data")
    copied.add_argument("target", metavar="HOST2[/NAME]",
                        help="the host, and the volume's name there (default: the same)")
    copied.set_defaults(func=run_copy)

    for parser in (export, imported, copied):
        add_global_options(parser, suppress=True)
        parser.add_argument("--live", action="store_true",
                            help="go ahead even while a running container writes the volume "
                            "(the files may be caught half-written)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        if parser is not export:
            add_yes(parser)


@dataclass(frozen=True)
class _Options:
    """What the command line asked for, read once."""

    live: bool
    json: bool


def _ref(text: str, default_volume: str | None = None) -> VolumeRef:
    from corral.backends.volumes import parse_volume_ref
    try:
        return parse_volume_ref(text, default_volume=default_volume)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _options(args: argparse.Namespace) -> _Options:
    return _Options(live=args.live, json=args.json)


@mutates("volumes export")
def run_export(args: argparse.Namespace) -> int:
    """Write the volume's files to the tar file."""
    from corral.backends.volumes import export_volume
    ref, options = _ref(args.target), _options(args)
    path = Path(args.output)
    if not path.parent.is_dir():
        raise UsageError(f"{path}: no directory {path.parent} to write the file in")
    if path.is_dir():
        raise UsageError(f"{path}: is a directory; name the tar file to write")
    with connected_fleet(args, hosts=[ref.host]) as fleet, _Meter(str(ref)) as meter:
        result = export_volume(_online(fleet, ref.host), ref.volume, path, live=options.live,
                               progress=meter.update)
    return _done(result, options, f"Exported {ref} to {path}")


@mutates("volumes import")
def run_import(args: argparse.Namespace) -> int:
    """Check the tar file, then put its files into the volume."""
    from corral.backends.volumes import check_archive, import_volume
    ref, options = _ref(args.target), _options(args)
    archive = check_archive(Path(args.file))  # before any host is contacted
    with connected_fleet(args, hosts=[ref.host]) as fleet, _Meter(str(ref)) as meter:
        result = import_volume(_online(fleet, ref.host), ref.volume, archive,
                               live=options.live, confirm=_asker(args, meter),
                               progress=meter.update)
    created = " (created)" if result.created else ""
    return _done(result, options, f"Imported {archive.path} into {ref}{created}")


@mutates("volumes copy")
def run_copy(args: argparse.Namespace) -> int:
    """Stream the source volume's files into the target volume."""
    from corral.backends.volumes import copy_volume
    source, options = _ref(args.source), _options(args)
    target = _ref(args.target, default_volume=source.volume)
    if source == target:
        raise UsageError(f"{source} would be copied onto itself: name another host or volume")
    with connected_fleet(args, hosts=[source.host, target.host]) as fleet, \
            _Meter(f"{source} -> {target}") as meter:
        result = copy_volume(_online(fleet, source.host), source.volume,
                             _online(fleet, target.host), target.volume, live=options.live,
                             confirm=_asker(args, meter), progress=meter.update)
    created = " (created)" if result.created else ""
    return _done(result, options, f"Copied {source} to {target}{created}")


def _online(fleet: Fleet, host: str) -> HostSession:
    session = fleet.session(host)
    if not session.online:
        raise HostOffline(session.status.error or "not connected", host=host)
    return session


def _asker(args: argparse.Namespace, meter: _Meter):
    def confirm(question: str) -> bool:
        if args.yes:
            return True
        if not sys.stdin.isatty():  # the backend refuses, naming host and volume
            return False
        meter.pause()
        return ask(args, question)

    return confirm


def _done(result: TransferResult, options: _Options, sentence: str) -> int:
    if options.json:
        print_json(result.as_json())
    else:
        live = " (--live: files may have been caught half-written)" if result.live else ""
        print(visible(f"{sentence}: {human_size(result.bytes)}.{live}"))
    return EXIT_OK


class _Meter:
    """Bytes so far on stderr, rewritten in place about 5 times a second, when a terminal."""

    INTERVAL = 0.2

    def __init__(self, what: str) -> None:
        self.what = visible(what)
        self.shown = sys.stderr.isatty()
        self._lock = threading.Lock()
        self._last = 0.0
        self._start = time.monotonic()
        self._drawn = False

    def __enter__(self) -> _Meter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pause()

    def update(self, done: int) -> None:
        """Show `done` bytes (throttled)."""
        if not self.shown:
            return
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.INTERVAL:
                return
            self._last = now
            rate = done / max(now - self._start, 1e-3)
            sys.stderr.write(f"\r{self.what}: {human_size(done)} ({human_size(rate)}/s)\x1b[K")
            sys.stderr.flush()
            self._drawn = True

    def pause(self) -> None:
        """End the progress line (before a question, or at the end)."""
        with self._lock:
            if self._drawn:
                sys.stderr.write("\n")
                sys.stderr.flush()
                self._drawn = False
