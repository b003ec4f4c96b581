"""`corral lease` and `corral lease break STACK`: the per-stack leases on the hosts.

Every verb that changes a stack holds its lease while it works (see
`backends/deploy/lease.py`); a process that died elsewhere leaves its lease
until it expires. `lease` lists them; `lease break` removes one by hand,
after asking (naming holder and hosts) or with `--yes`.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from corral.tui.cli.support import (
    EXIT_OK,
    EXIT_PARTIAL,
    add_global_options,
    add_yes,
    ask,
    connected_fleet,
    destructive,
    print_json,
    warn,
)
from corral.tui.present.table import format_table

if TYPE_CHECKING:
    from corral.backends.deploy import LeaseHolder


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `lease` (list) and `lease break STACK`."""
    lease = subparsers.add_parser("lease", help="who holds each stack's lease, on which host")
    add_global_options(lease, suppress=True)
    lease.add_argument("--json", action="store_true", help="print JSON")
    lease.set_defaults(func=run_list)
    verbs = lease.add_subparsers(dest="lease_command", metavar="{break}")
    broken = verbs.add_parser("break", help="remove a stack's lease, whoever holds it")
    add_global_options(broken, suppress=True)
    broken.add_argument("stack", metavar="STACK")
    add_yes(broken)
    broken.set_defaults(func=run_break)


def _row(holder: LeaseHolder) -> list[str]:
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(holder.since))
    until = time.strftime("%H:%M:%S", time.gmtime(holder.since + holder.ttl))
    state = "stale" if holder.stale else "held"
    return [holder.stack, holder.host, holder.owner, str(holder.pid), holder.operation,
            f"{since} UTC", f"{until} UTC", state]


def run_list(args: argparse.Namespace) -> int:
    """Print every stack lease on the online hosts."""
    from corral.backends.deploy import leases
    with connected_fleet(args) as fleet:
        found = leases(fleet)
    if args.json:
        print_json([holder.to_dict() for holder in found])
    elif found:
        print(format_table(["STACK", "HOST", "OWNER", "PID", "OPERATION", "SINCE", "EXPIRES",
                            "STATE"], [_row(holder) for holder in found]))
    else:
        print("No stack is leased.")
    return EXIT_OK


@destructive("lease break")
def run_break(args: argparse.Namespace) -> int:
    """Remove the stack's lease from every online host, after naming its holder and asking."""
    from corral.backends.deploy import break_lease, leases
    with connected_fleet(args) as fleet:
        found = [holder for holder in leases(fleet) if holder.stack == args.stack]
        if not found:
            print(f"Stack {args.stack} is not leased on any online host.", file=sys.stderr)
            return EXIT_OK
        for holder in found:
            print(f"  {holder.describe()}{' (stale)' if holder.stale else ''}", file=sys.stderr)
        hosts = ", ".join(sorted({holder.host for holder in found}))
        if not ask(args, f"Break the lease of stack {args.stack} on {hosts}? Its holder, if"
                         " still running, is no longer kept apart from others."):
            warn("nothing changed")
            return EXIT_PARTIAL
        removed = break_lease(fleet, args.stack)
    print(f"Lease of stack {args.stack} broken on"
          f" {', '.join(sorted({h.host for h in removed})) or 'no host'}.", file=sys.stderr)
    return EXIT_OK
