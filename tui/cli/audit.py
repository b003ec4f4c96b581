"""`corral audit`: who changed what, from the local file and the hosts' history."""

from __future__ import annotations

import argparse

from corral.tui.cli.logs import parse_since
from corral.tui.cli.support import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    add_global_options,
    connected_fleet,
    print_json,
    warn,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `audit`."""
    audit = subparsers.add_parser(
        "audit", help="every change Corral made: this machine's record and the hosts' history")
    add_global_options(audit, suppress=True)
    audit.add_argument("--since", metavar="D",
                       help="only entries since D: a duration (90s, 5m, 1h30m, 2d) or a time "
                       "(RFC 3339 or epoch seconds)")
    audit.add_argument("--stack", metavar="S", help="only entries of stack S")
    audit.add_argument("--host", metavar="H", help="only entries that touched host H"
                       " (and read only its history)")
    audit.add_argument("--local", action="store_true",
                       help="only this machine's file; contact no host")
    audit.add_argument("--json", action="store_true", help="one JSON list, newest last")
    audit.set_defaults(func=run_audit)


def run_audit(args: argparse.Namespace) -> int:
    """Print the merged trail, newest last; exit 1 when a host's history was unreadable."""
    from corral.backends.audit import AuditFilter, audit_path, read_all
    from corral.tui.present.audit import audit_text
    since_ns = parse_since(args.since)
    wanted = AuditFilter(since=None if since_ns is None else since_ns / 1e9,
                         stack=args.stack, host=args.host)
    if args.local:
        entries, errors = read_all(None, wanted)
    else:
        try:
            with connected_fleet(args, [args.host] if args.host else None) as fleet:
                entries, errors = read_all(fleet, wanted)
        except UsageError as exc:  # no inventory and no local engine: this machine's file
            warn(f"{exc}; showing {audit_path()} only")
            entries, errors = read_all(None, wanted)
    if args.json:
        print_json([entry.to_dict() for entry in entries])
    else:
        print(audit_text(entries))
    for error in errors:
        warn(f"history not read: {error}; entries kept only there are missing")
    return EXIT_PARTIAL if errors else EXIT_OK
