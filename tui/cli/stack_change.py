"""`corral upgrade | confirm | rollback | reconcile`: changing deployed stacks.

Registered by `deploy.register`. Same conventions: plans on stdout,
progress and diagnostics on stderr; exit 0 done, 1 something failed or is
unhealthy, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from corral.backends.errors import DeployError
from corral.tui.cli import swarm_stack
from corral.tui.cli.deploy_args import add_source, add_yes, apply_confirmed, render_source
from corral.tui.cli.support import (
    EXIT_OK,
    EXIT_PARTIAL,
    add_global_options,
    ask,
    connected_fleet,
    destructive,
    warn,
)
from corral.tui.cli.support import add_yes as add_yes_option
from corral.tui.present.safe import visible

if TYPE_CHECKING:
    from corral.backends.deploy import ReconcileReport

WATCH_NOTE = ("Corral acts on health and host loss only while `corral reconcile --watch` or"
              " the console runs: there is no Corral server.")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `upgrade`, `confirm`, `rollback` and `reconcile`."""
    up = subparsers.add_parser("upgrade", help="upgrade a stack, keeping the old containers"
                               " until confirm or rollback")
    add_global_options(up, suppress=True)
    add_source(up)
    add_yes(up)
    up.set_defaults(func=run_upgrade)
    swarm_stack.add_engine(up)
    for verb, text, func in (("confirm", "keep an upgrade: remove the old containers",
                              run_confirm),
                             ("rollback", "undo an upgrade: restore the old containers",
                              run_rollback)):
        parser = subparsers.add_parser(verb, help=text)
        add_global_options(parser, suppress=True)
        parser.add_argument("stack", metavar="STACK")
        add_yes_option(parser)
        swarm_stack.add_engine(parser)
        parser.add_argument("--health-timeout", type=float, metavar="SECONDS",
                            help="swarm: wait at most this long for the services' tasks")
        parser.set_defaults(func=func)
    rec = subparsers.add_parser("reconcile", help="re-place lost replicas, recreate unhealthy"
                                " ones, remove surplus copies")
    add_global_options(rec, suppress=True)
    rec.add_argument("--stack", action="append", help="only this stack (repeatable)")
    rec.add_argument("--watch", action="store_true", help="keep reconciling until Ctrl-C")
    rec.add_argument("--interval", type=float, default=5.0, metavar="SECONDS",
                     help="seconds between passes with --watch (default 5)")
    add_yes_option(rec)
    rec.set_defaults(func=run_reconcile)


@destructive("upgrade")
def run_upgrade(args: argparse.Namespace) -> int:
    """Plan the new version or answers; replace changed containers keeping the old ones."""
    if swarm_stack.is_swarm(args):
        return swarm_stack.run_upgrade(args)
    from corral.backends.deploy import explicit_deploy, hold_lease, prepare, upgrade
    stack, answers, bundle = render_source(args)
    with connected_fleet(args) as fleet, hold_lease(fleet, stack.name, "upgrade"):
        prepared = prepare(fleet, stack, answers, upgrade=True, pull=args.pull, bundle=bundle)
        code = apply_confirmed(args, fleet, prepared, f"Upgrade stack {stack.name}?",
                               explicit_deploy(upgrade))
    if code != EXIT_OK or not prepared.definition.awaiting_decision:
        return code  # an upgrade that changes no container has ended already
    print(f"Then `corral confirm {stack.name}` to remove the old containers, or"
          f" `corral rollback {stack.name}` to restore them.", file=sys.stderr)
    return code


@destructive("confirm")
def run_confirm(args: argparse.Namespace) -> int:
    """Remove the containers an upgrade kept, after asking."""
    if swarm_stack.is_swarm(args):
        return swarm_stack.run_confirm(args)
    from corral.backends.deploy import confirm, gather
    from corral.tui.present.deploy import progress_printer
    with connected_fleet(args) as fleet:
        state = gather(fleet)
        if not _ask_settle(args, state, "Confirm the upgrade of {stack}? These old containers"
                                        " are removed:"):
            warn("nothing changed")
            return EXIT_PARTIAL
        errors = confirm(fleet, state, args.stack, progress_printer())
    return _finish(errors, f"Upgrade of {args.stack} confirmed.")


@destructive("rollback")
def run_rollback(args: argparse.Namespace) -> int:
    """Restore the containers an upgrade replaced, after asking."""
    if swarm_stack.is_swarm(args):
        return swarm_stack.run_rollback(args)
    from corral.backends.deploy import gather, rollback
    from corral.tui.present.deploy import progress_printer
    with connected_fleet(args) as fleet:
        state = gather(fleet)
        if not _ask_settle(args, state, "Roll back the upgrade of {stack}? The containers it"
                                        " created are removed and these old ones restored:"):
            warn("nothing changed")
            return EXIT_PARTIAL
        errors = rollback(fleet, state, args.stack, progress_printer())
    return _finish(errors, f"Stack {args.stack} rolled back.")


def _ask_settle(args: argparse.Namespace, state, question: str) -> bool:
    """Name the old containers, then ask; a stack with nothing pending is refused first.

    Raises:
        DeployError: No upgrade of the stack awaits confirm or rollback
            (the state `corral stacks` shows is not `upgraded`).
    """
    from corral.backends.deploy import UPGRADED, find
    summary = find(state, args.stack)
    if summary.state != UPGRADED:
        raise DeployError(f"stack {args.stack} has nothing pending: no upgrade awaits confirm"
                          f" or rollback (state: {summary.state})")
    print(question.format(stack=args.stack), file=sys.stderr)
    old = sorted(f"{host}/{c.name}" for host, c in state.containers(args.stack) if c.previous)
    for name in old or ["(none: the upgrade only added containers)"]:
        print(f"  {visible(name)}", file=sys.stderr)
    return ask(args, "Go ahead?")


def _finish(errors: dict[str, str], done: str) -> int:
    for host, error in sorted(errors.items()):
        warn(f"{host}: {error} (run the command again to finish)")
    if not errors:
        print(done, file=sys.stderr)
    return EXIT_PARTIAL if errors else EXIT_OK


@destructive("reconcile")
def run_reconcile(args: argparse.Namespace) -> int:
    """One pass, or passes every `--interval` seconds with `--watch`."""
    from corral.backends.deploy import HealthTracker, reconcile
    from corral.tui.present.deploy import progress_printer
    print(WATCH_NOTE, file=sys.stderr)
    which = ", ".join(args.stack) if args.stack else "every stack"
    if not ask(args, f"Reconcile {which}? Corral re-places lost replicas, recreates unhealthy"
                     " containers and removes copies beyond the scale."):
        warn("nothing changed")
        return EXIT_PARTIAL
    tracker = HealthTracker()
    with connected_fleet(args) as fleet:
        if args.watch:  # reconnect lost hosts between passes
            fleet.backend.run(fleet.keep_online())
        while True:
            outcome = reconcile(fleet, tracker, stacks=args.stack,
                                rounds=1 if args.watch else None,
                                on_progress=progress_printer())
            _print_report(outcome)
            if not args.watch:
                return EXIT_PARTIAL if outcome.errors or outcome.busy else EXIT_OK
            time.sleep(args.interval)


def _print_report(outcome: ReconcileReport) -> None:
    for stack, lines in sorted(outcome.actions.items()):
        for line in lines:
            print(visible(f"{stack}: {line}"))
    for stack, error in sorted(outcome.errors.items()):
        warn(f"{stack}: {error}")
    for stack, why in sorted(outcome.busy.items()):
        warn(f"{stack}: left alone: {why}")
    sys.stdout.flush()
