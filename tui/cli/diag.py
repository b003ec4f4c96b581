"""`corral diag -o FILE.tar.gz`: a diagnostics bundle to carry to support.

What the bundle holds (every file scrubbed of the secrets found, see
`backends/deploy/diag.py`): `corral.json` (version, platform, command
line), `config.json`, `inventory.json` (key paths, never key contents),
`stacks.json` (the stack records: passwords are never in them), per host
`hosts/H/engine.json`, `containers.json` (no environments), `events.jsonl`
and `logs/CONTAINER.log` (the last lines of each stack container), Corral's
own logs under `corral-logs/`, and `manifest.json` listing every file with
its size, what was cut or left out to keep the bundle small, and the hosts
that could not be read and why. Reads only: nothing changes on any host.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from corral.tui.cli.support import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    add_global_options,
    connected_fleet,
    load_configured_inventory,
    report_failures,
)

if TYPE_CHECKING:
    from corral.backends.deploy import Diagnostics, HostDiag, Scrubber
    from corral.backends.inventory import Inventory

MiB = 1 << 20
#: Largest single file (its newest part is kept) and, by default, the whole bundle.
FILE_CAP = 2 * MiB
TOTAL_CAP = 20 * MiB
#: Bytes read beyond a file's cap before scrubbing (scrubbing may shorten it).
_SLACK = 64 * 1024
#: Room kept for the manifest, written last.
_MANIFEST_ROOM = 256 * 1024


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `diag` subcommand."""
    diag = subparsers.add_parser(
        "diag", help="write a diagnostics bundle (secrets scrubbed) for support")
    add_global_options(diag, suppress=True)
    diag.add_argument("-o", "--output", required=True, metavar="FILE.tar.gz",
                      help="the bundle to write")
    diag.add_argument("--hosts", action="append", metavar="H[,H…]",
                      help="only these hosts (repeatable or comma-separated)")
    diag.add_argument("--lines", type=int, default=200, metavar="N",
                      help="last log lines of each stack container (default 200)")
    diag.add_argument("--max-size", type=float, default=TOTAL_CAP / MiB, metavar="MB",
                      help="cap on the bundle's uncompressed size (default 20)")
    diag.set_defaults(func=run_diag)


def run_diag(args: argparse.Namespace) -> int:
    """Write the bundle; exit 1 if some host could not be read (it is still written)."""
    from corral.backends.deploy import collect_diagnostics
    if args.lines < 0 or args.max_size <= 0:
        raise UsageError("--lines must be 0 or more and --max-size above 0")
    hosts = [name.strip() for item in args.hosts or [] for name in item.split(",")
             if name.strip()] or None
    output = Path(args.output)
    if not output.parent.is_dir():
        raise UsageError(f"{output.parent}: no such directory for the bundle")
    inventory = load_configured_inventory(args)
    with connected_fleet(args, hosts=hosts) as fleet:
        found = collect_diagnostics(fleet, hosts, log_lines=args.lines)
    bundle = Bundle(int(args.max_size * MiB), found.scrubber)
    add_local(bundle, args, inventory, found)
    for host in found.hosts:
        add_host(bundle, host)
    for path in own_logs():
        bundle.add(f"corral-logs/{path.name}", _tail(path, FILE_CAP), tail=True)
    bundle.write(output)
    failed = {host.name: host.error for host in found.hosts if host.error}
    report_failures({name: f"not in the bundle: {error}" for name, error in failed.items()})
    print(f"wrote {output} ({len(bundle.files)} files, {bundle.used} bytes before compression"
          f"{', some cut to fit' if bundle.cut else ''})")
    return EXIT_PARTIAL if failed else EXIT_OK


class Bundle:
    """Files on their way into the tarball, scrubbed and size-capped.

    Args:
        total: Cap on the sum of the files' sizes (the manifest aside).
        scrubber: What masks the secrets in every file.
    """

    def __init__(self, total: int, scrubber: Scrubber):
        self.total = max(total - _MANIFEST_ROOM, 0)
        self.file_cap = min(FILE_CAP, max(self.total // 4, 4096))
        self.scrubber = scrubber
        self.files: list[tuple[str, bytes]] = []
        self.entries: list[dict] = []
        self.omitted: list[dict] = []
        self.used = 0
        self.cut = False
        self.hosts: dict[str, dict] = {}

    def add(self, name: str, data: bytes | str, *, tail: bool = False) -> None:
        """Scrub `data`, cap it (keeping its end when `tail`), and add it if it fits."""
        room = min(self.file_cap, self.total - self.used)
        raw = data if isinstance(data, bytes) else data.encode()
        size = len(raw)
        if room <= 256:
            self.omitted.append({"name": name, "size": size, "why": "bundle size cap"})
            self.cut = True
            return
        if size > room + _SLACK:
            # Cut before scrubbing (scrubbing costs time per byte), at a line
            # end, so that no secret is cut in two and left half unscrubbed.
            raw = raw[-(room + _SLACK):] if tail else raw[:room + _SLACK]
            raw = raw.partition(b"\n")[2] if tail else raw.rpartition(b"\n")[0]
        raw = self.scrubber.text(raw.decode("utf-8", "replace")).encode()
        truncated = size > room or len(raw) > room
        if truncated:
            note = f"[corral diag: cut to {room} of {size} bytes]\n".encode()
            keep = min(len(raw), room - len(note) - 1)
            raw = note + raw[len(raw) - keep:] if tail else raw[:keep] + b"\n" + note
            self.cut = True
        self.files.append((name, raw))
        self.used += len(raw)
        self.entries.append({"name": name, "size": len(raw), "original_size": size,
                             "truncated": truncated})

    def add_json(self, name: str, value: object) -> None:
        """Add plain data as indented JSON (secret-named keys masked too)."""
        self.add(name, json.dumps(self.scrubber.data(value), indent=2, sort_keys=True,
                                  default=str) + "\n")

    def write(self, output: Path) -> None:
        """Write the tarball (private to the user) with the manifest last."""
        manifest = {"format": 1, "created": time.time(), "files": self.entries,
                    "omitted": self.omitted, "hosts": self.hosts,
                    "caps": {"file_bytes": self.file_cap, "total_bytes": self.total}}
        files = [*self.files, ("manifest.json", json.dumps(
            self.scrubber.data(manifest), indent=2, sort_keys=True).encode() + b"\n")]
        import tarfile  # stdlib, but slow to import: only `diag` writes one
        import tempfile

        fd, temporary = tempfile.mkstemp(prefix=".corral-diag-", dir=output.parent)
        try:
            with os.fdopen(fd, "wb") as stream, tarfile.open(fileobj=stream, mode="w:gz") as tar:
                for name, data in files:
                    info = tarfile.TarInfo(f"corral-diag/{name}")
                    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
                    tar.addfile(info, io.BytesIO(data))
            os.replace(temporary, output)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def add_local(bundle: Bundle, args: argparse.Namespace, inventory: Inventory,
              found: Diagnostics) -> None:
    """Corral's version and settings, the inventory without keys, the stack records."""
    from importlib.metadata import PackageNotFoundError, version

    from corral.tui.config import load_config
    try:
        corral_version = version("corral")
    except PackageNotFoundError:
        corral_version = "unknown"
    import platform

    bundle.add_json("corral.json", {
        "version": corral_version, "python": sys.version.split()[0],
        "platform": platform.platform(), "argv": sys.argv[1:], "time": time.time()})
    try:
        config = dataclasses.asdict(load_config(getattr(args, "config", None)))
    except Exception as exc:  # noqa: BLE001 - a broken config is itself a finding
        config = {"error": str(exc)}
    bundle.add_json("config.json", config)
    bundle.add_json("inventory.json", {"path": str(inventory.path), "hosts": [
        {"name": host.name, "ssh": str(host.ssh) if host.ssh else None,
         "jump": [str(jump) for jump in host.jump], "identity_files": list(host.identity),
         "socket": host.socket, "labels": dict(host.labels)} for host in inventory.hosts]})
    bundle.add_json("stacks.json", found.stacks)


def add_host(bundle: Bundle, host: HostDiag) -> None:
    """One host's files, or its failure in the manifest."""
    bundle.hosts[host.name] = ({"state": "failed", "error": host.error} if host.error
                               else {"state": "read", "containers": len(host.containers),
                                     "logs": len(host.logs)})
    if host.error:
        return
    base = f"hosts/{host.name}"
    bundle.add_json(f"{base}/engine.json", host.engine)
    bundle.add_json(f"{base}/containers.json", host.containers)
    bundle.add(f"{base}/events.jsonl", "".join(
        json.dumps(bundle.scrubber.data(event), sort_keys=True) + "\n" for event in host.events),
        tail=True)
    for name, data in sorted(host.logs.items()):
        bundle.add(f"{base}/logs/{name}.log", data, tail=True)


def own_logs() -> list[Path]:
    """Corral's own log files (audit trail and the like), if any."""
    import platformdirs

    from corral.backends.audit import audit_path
    found: list[Path] = []
    # The audit trail's folder (backends/audit), and the platform's log folder.
    for folder in {str(audit_path().parent), platformdirs.user_log_dir("corral")}:
        path = Path(folder)
        if path.is_dir():
            found += sorted(p for p in path.iterdir()
                            if p.is_file() and p.suffix in (".log", ".jsonl"))
    return found


def _tail(path: Path, limit: int) -> bytes:
    """The last `limit` bytes of a file (a marker says what was cut)."""
    size = path.stat().st_size
    with path.open("rb") as stream:
        if size > limit:
            stream.seek(size - limit)
            return f"[corral diag: first {size - limit} bytes cut]\n".encode() + stream.read()
        return stream.read()
