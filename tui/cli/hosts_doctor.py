"""`corral hosts doctor`: is each host fit for Corral? Reads only.

Module-level imports stay light (`corral --help` must not load asyncssh or
docker): the backends are imported when the verb runs.
"""

from __future__ import annotations

import argparse

from corral.tui.cli.support import (
    EXIT_OK,
    EXIT_PARTIAL,
    add_global_options,
    connected_fleet,
    print_json,
)

COLUMNS = ("HOST", "CHECK", "STATUS", "SEEN", "FIX")


def register(verbs: argparse._SubParsersAction) -> None:
    """Add `doctor` under `corral hosts`."""
    doctor = verbs.add_parser(
        "doctor",
        help="check each host: SSH, engine, clock, swarm ports, kernel, registry",
        description="Check each host (default: every inventory host) and print, per check, "
        "ok / warn / fail, what was seen and the fix (a command, or a `corral hosts "
        "provision` step). Reads only: the swarm port probe starts short-lived listeners "
        "over SSH that end with their channel. Exit status 1 if any check fails.",
    )
    add_global_options(doctor, suppress=True)
    doctor.add_argument("hosts", metavar="HOST", nargs="*", help="only these hosts")
    doctor.add_argument("--json", action="store_true", help="print JSON (see README)")
    doctor.set_defaults(func=run_doctor_verb)


def run_doctor_verb(args: argparse.Namespace) -> int:
    """Run the doctor and print its reports; 1 if any check failed."""
    from corral.backends.doctor import CHECK_TIMEOUT, FAIL, run_doctor
    from corral.tui.present.table import format_table

    with connected_fleet(args, hosts=args.hosts or None) as fleet:
        reports = fleet.backend.run(run_doctor(fleet), timeout=CHECK_TIMEOUT * 6)
    if args.json:
        print_json([report.to_dict() for report in reports])
    else:
        rows = []
        for report in reports:
            if report.error and not report.checks:
                rows.append([report.host, "-", FAIL, report.error, None])
            rows += [[report.host, check.id, check.status, check.seen, check.fix]
                     for check in report.checks]
        print(format_table(COLUMNS, rows))
    return EXIT_PARTIAL if any(report.status == FAIL for report in reports) else EXIT_OK
