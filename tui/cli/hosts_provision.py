"""`corral hosts provision HOST`: from sshd and sudo to a ready Docker host, over SSH.

Shows every step (what it saw, the commands it would run), asks before the first
change, then asks again before restarting the engine (running containers named) and
before adding the SSH user to the docker group; `--yes` answers yes to all. A step
already done is left alone: a second run changes nothing and says so. `--dry-run`
prints the plan and changes nothing (read-only sessions may run it).
`--from-bundle FILE` installs the packages of a bundle made by `corral bundle create
--packages DISTRO` instead of using the host's mirror. Work in `backends/provision`;
module-level imports stay light (`corral --help` imports no SSH or Docker library).
"""

from __future__ import annotations

import argparse
import sys

from corral.tui.cli.support import (
    EXIT_OK,
    EXIT_PARTIAL,
    GATE_VERBS,
    UsageError,
    add_global_options,
    add_yes,
    ask,
    refuse_if_readonly,
    ssh_settings,
    warn,
)

VERB = "hosts provision"
#: Seconds the survey (a handful of short commands) may take beyond the connect timeout.
SURVEY_TIMEOUT = 120.0
#: Seconds one step may take (an install from a slow mirror).
STEP_TIMEOUT = 1800.0


def register(verbs: argparse._SubParsersAction) -> None:
    """Add `provision` under `corral hosts`."""
    provision = verbs.add_parser(
        "provision", help="install and set up Docker on a host over SSH (sudo)",
        description="Bring a host with sshd and sudo to a ready Docker host: install the "
        "distribution's Docker package (or, offline, a package bundle's), write the "
        "daemon.json settings Corral relies on (log rotation, live-restore, the room's "
        "registry; merged, with a backup), start or restart the engine (asks), add the "
        "SSH user to the docker group (asks). Steps already done are left alone.")
    add_global_options(provision, suppress=True)
    provision.add_argument("host", metavar="HOST", help="an inventory host")
    provision.add_argument("--dry-run", action="store_true",
                           help="print every step and command; change nothing")
    provision.add_argument("--from-bundle", metavar="FILE",
                           help="install Docker from this package bundle, not the mirror")
    provision.add_argument("--registry", metavar="ADDR", action="append", default=[],
                           help="the room's plain-HTTP registry HOST:PORT for the engine to "
                           "trust (repeatable)")
    add_yes(provision)
    provision.set_defaults(func=run_provision)


def run_provision(args: argparse.Namespace) -> int:
    """Survey the host, show the plan, and apply it step by step after asking."""
    if not args.dry_run:
        refuse_if_readonly(VERB, args)
        if not args.yes and not sys.stdin.isatty():
            raise UsageError("refusing to provision without confirmation: pass --yes "
                             "(stdin is not a terminal) or --dry-run")
    from corral.backends import guard
    from corral.backends.provision import Remote, apply, open_package_bundle, recheck, survey
    from corral.backends.ssh import BackendLoop
    from corral.tui.cli.support import load_configured_inventory

    bundle = open_package_bundle(args.from_bundle) if args.from_bundle else None
    host = load_configured_inventory(args).get(args.host)
    if host.ssh is None:
        raise UsageError(f"{host.name}: the local engine is not provisioned over SSH")
    settings = ssh_settings(args)
    registries = tuple(args.registry)
    with BackendLoop() as loop:
        remote = loop.run(Remote.open(host, settings),
                          timeout=settings.connect_timeout * 4 + SURVEY_TIMEOUT)
        try:
            plan = loop.run(survey(remote, registries, bundle), timeout=SURVEY_TIMEOUT)
            _show(plan)
            if not plan.needed:
                print(f"{host.name}: nothing to change: every step is done.")
                return EXIT_OK
            if args.dry_run:
                print(f"{host.name}: dry run: {len(plan.needed)} step(s) would change the "
                      "host; nothing was changed.")
                return EXIT_OK
            if not ask(args, f"Provision {host.name}: {len(plan.needed)} step(s) above "
                       "change the host. Go ahead?"):
                warn(f"{host.name}: nothing was changed")
                return EXIT_PARTIAL
            skipped = []
            with guard.mutating(GATE_VERBS[VERB], hosts=host.name, target=host.name,
                                args={"dry_run": False, "bundle": bool(bundle),
                                      "registries": list(registries)}):
                for step in plan.needed:
                    if step.question and not ask(args, step.question):
                        skipped.append(step.id)
                        warn(f"{host.name}: skipped: {step.title}")
                        continue
                    print(f"{host.name}: {step.title} ...", flush=True)
                    loop.run(apply(remote, plan, step, bundle), timeout=STEP_TIMEOUT)
            checks = loop.run(recheck(remote, registries), timeout=SURVEY_TIMEOUT)
        finally:
            remote.close()
    return after_provision(args, host, checks, skipped)


def _show(plan) -> None:
    print(f"{plan.host}: {plan.distro.pretty}, user {plan.user}, "
          f"{'systemd' if plan.systemd else 'no systemd (init scripts)'}")
    for step in plan.steps:
        mark = "change" if step.needed else "ok"
        print(f"  [{mark:>6}] {step.title}: {step.seen}")
        for command in step.commands:
            print(f"           $ {command}")
        for line in step.detail:
            print(f"             {line}")


def after_provision(args: argparse.Namespace, host, checks, skipped: list[str]) -> int:
    """Show the re-checks of what the steps changed (`backends.provision.recheck`), then
    run the doctor on the host over a fresh connection (a new login has the docker group)
    and show its verdicts.

    Returns:
        0 if every re-check passed, the doctor found nothing failing and no step was
        declined, else 1.
    """
    from corral.backends.doctor import CHECK_TIMEOUT, FAIL, OK, doctor_specs
    from corral.backends.ssh import BackendLoop
    from corral.tui.present.table import format_table

    print(f"{host.name}: after provisioning:")
    for check in checks:
        print(f"  [{'ok' if check.ok else 'FAIL':>4}] {check.name}: {check.seen}")
    with BackendLoop() as loop:
        # No swarm port probe: that is between hosts, and this run is about one.
        reports = loop.run(doctor_specs([host], ssh_settings(args), ports=False),
                           timeout=CHECK_TIMEOUT * 6)
    rows = []
    for report in reports:
        if report.error and not report.checks:
            rows.append([report.host, "-", FAIL, report.error, None])
        rows += [[report.host, check.id, check.status, check.seen, check.fix]
                 for check in report.checks]
    print(format_table(("HOST", "CHECK", "STATUS", "SEEN", "FIX"), rows))
    verdict = reports[0].status if reports else FAIL
    print(f"{host.name}: doctor: {'all ok' if verdict == OK else verdict}")
    failed = [check.name for check in checks if not check.ok]
    if failed:
        warn(f"{host.name}: still not ready: {', '.join(failed)}")
    if skipped:
        warn(f"{host.name}: declined: {', '.join(skipped)}")
    return EXIT_PARTIAL if failed or skipped or verdict == FAIL else EXIT_OK


run_provision.mutates = GATE_VERBS[VERB]  # type: ignore[attr-defined]
