"""The stack verbs on the Swarm engine: `plan`, `deploy`, `upgrade`, `confirm`, `rollback`,
`scale`, `rm` and `stacks` with `--engine swarm` (or `engine: swarm` in the inventory).

The standalone commands (`deploy.py`, `stack_change.py`) hand over here
first thing. Same conventions: the plan on stdout (JSON with `--json`),
progress and problems on stderr; exit 0 done, 1 refused, failed or rolled
back, 2 bad input. Every change is in the gate under the same verbs, with
the swarm manager as the host. Module imports stay light: backends are
imported inside the functions that run a verb.
"""

from __future__ import annotations

import argparse
import sys
import time

from corral.catalog.errors import CorralError
from corral.tui.cli.support import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    ask,
    connected_fleet,
    load_configured_inventory,
    print_json,
    warn,
)

SWARM = "swarm"


def add_engine(parser: argparse.ArgumentParser) -> None:
    """`--engine standalone|swarm` (default: the inventory's `engine:`)."""
    parser.add_argument("--engine", choices=("standalone", SWARM),
                        help="run stacks as containers Corral places (standalone) or as"
                        " Docker Swarm services (swarm); default: the inventory's engine:")


def is_swarm(args: argparse.Namespace) -> bool:
    """Whether this command runs on the Swarm engine (`--engine`, else the inventory)."""
    engine = getattr(args, "engine", None)
    if engine:
        return engine == SWARM
    try:
        return load_configured_inventory(args).engine == SWARM
    except CorralError:  # no inventory, or a bad one: the standalone command says so
        return False


def _progress(start: float | None = None):
    start = time.monotonic() if start is None else start

    def report(line: str) -> None:
        from corral.tui.present.safe import visible

        print(visible(f"[{time.monotonic() - start:5.1f}s] {line}"), file=sys.stderr,
              flush=True)

    return report


def _timeout(args: argparse.Namespace) -> float:
    return float(getattr(args, "health_timeout", None) or 120.0)


def plan_text(plan) -> str:
    """The plan as an operator reads it (`corral.tui.present.swarm.plan_text`)."""
    from corral.tui.present.swarm import plan_text as text

    return text(plan)


def _render(args: argparse.Namespace):
    from corral.tui.cli.deploy_args import render_source

    return render_source(args)


def _plan(args: argparse.Namespace, fleet, stack, answers, bundle):
    from corral.backends.deploy import plan_swarm

    plan = plan_swarm(fleet, stack, answers, pull=getattr(args, "pull", None) or "missing",
                      bundle=bundle)
    if getattr(args, "json", False):
        print_json(plan.to_dict())
    else:
        from corral.tui.present.safe import visible_lines

        print(visible_lines(plan_text(plan)))
    return plan


def run_plan(args: argparse.Namespace) -> int:
    """Print what deploying the stack asks of the swarm and its nodes; change nothing."""
    stack, answers, bundle = _render(args)
    with connected_fleet(args) as fleet:
        _plan(args, fleet, stack, answers, bundle)
    return EXIT_OK


def run_deploy(args: argparse.Namespace, verb: str = "stack.deploy") -> int:
    """Plan, ask, bring the images to the nodes, then create/update the services and wait."""
    from corral.backends.deploy import apply_swarm
    from corral.tui.present.deploy import progress_printer

    stack, answers, bundle = _render(args)
    with connected_fleet(args) as fleet:
        plan = _plan(args, fleet, stack, answers, bundle)
        if plan.no_op:
            return EXIT_OK
        what = "Upgrade" if verb == "stack.upgrade" else "Apply these changes to"
        if not ask(args, f"{what} swarm stack {stack.name}?"):
            warn("nothing changed")
            return EXIT_PARTIAL
        problems = apply_swarm(fleet, plan, _progress(), verb=verb, timeout=_timeout(args),
                               on_images=progress_printer())
    return _finish(problems, f"Swarm stack {stack.name}: every service runs as planned.")


def run_upgrade(args: argparse.Namespace) -> int:
    """Swarm's rolling update (each service's update_config); it rolls back by itself."""
    code = run_deploy(args, verb="stack.upgrade")
    if code == EXIT_OK:
        print(f"Swarm rolled the update out; nothing to confirm. `corral rollback {args.stack}"
              " --engine swarm` returns each service to its previous spec.", file=sys.stderr)
    return code


def _finish(problems: dict[str, str], done: str) -> int:
    for service, why in sorted(problems.items()):
        warn(f"{service}: {why}")
    if not problems:
        print(done, file=sys.stderr)
    return EXIT_PARTIAL if problems else EXIT_OK


def run_confirm(args: argparse.Namespace) -> int:
    """Nothing to confirm on Swarm: say so."""
    print(f"swarm stack {args.stack}: nothing to confirm: Swarm finishes a rolling update"
          " (or rolls it back) by itself", file=sys.stderr)
    return EXIT_OK


def run_rollback(args: argparse.Namespace) -> int:
    """Each service's Swarm rollback to its previous spec, after asking."""
    from corral.backends.swarm import swarm_rollback

    with connected_fleet(args) as fleet:
        if not ask(args, f"Roll swarm stack {args.stack} back? Each of its services that has"
                         " a previous spec returns to it."):
            warn("nothing changed")
            return EXIT_PARTIAL
        problems = swarm_rollback(fleet, args.stack, _progress(), timeout=_timeout(args))
    return _finish(problems, f"Swarm stack {args.stack} rolled back.")


def run_scale(args: argparse.Namespace) -> int:
    """`STACK/SERVICE=N`: set the service's replicas, after asking."""
    from corral.backends.swarm import swarm_scale

    target, sep, count = args.target.partition("=")
    stack, slash, service = target.partition("/")
    if not (sep and slash and stack and service and count.strip().isdigit()):
        raise UsageError(f"expected STACK/SERVICE=N, got {args.target!r}")
    with connected_fleet(args) as fleet:
        if not ask(args, f"Scale swarm service {stack}_{service} to {int(count)}?"):
            warn("nothing changed")
            return EXIT_PARTIAL
        problems = swarm_scale(fleet, stack, service, int(count), _progress(),
                               timeout=_timeout(args))
    return _finish(problems, f"{stack}/{service}: {int(count)} running.")


def run_rm(args: argparse.Namespace) -> int:
    """Remove a swarm stack's services and overlay after naming them."""
    from corral.backends.swarm import remove_stack, stack_names

    if getattr(args, "volumes", False):
        raise UsageError("--volumes: a swarm stack's named volumes are per node; remove them"
                         " on each node (`corral volumes`)")
    with connected_fleet(args) as fleet:
        manager, names = stack_names(fleet, args.stack)
        print(f"Swarm stack {args.stack} (manager {manager}): services {', '.join(names)};"
              f" network {args.stack}_default; named volumes stay on the nodes",
              file=sys.stderr)
        if not ask(args, f"Remove swarm stack {args.stack}?"):
            warn("nothing changed")
            return EXIT_PARTIAL
        remove_stack(fleet, args.stack, _progress())
    print(f"Swarm stack {args.stack} removed.", file=sys.stderr)
    return EXIT_OK


def run_stacks(args: argparse.Namespace) -> int:
    """List the stacks the swarm runs as services."""
    from corral.backends.swarm import list_stacks
    from corral.tui.present.table import format_table

    with connected_fleet(args) as fleet:
        stacks = list_stacks(fleet)
    if args.json:
        print_json([s.to_dict() for s in stacks])
        return EXIT_OK
    rows = []
    for stack in stacks:
        record = stack.record
        services = ", ".join(
            f"{s['name']} {s['running']}/{s['desired'] if s['desired'] is not None else 'global'}"
            + (f" ({s['update']})" if s["update"] not in ("", "completed") else "")
            for s in stack.services)
        rows.append([stack.name, record.entry if record else "-",
                     record.version if record else "-",
                     record.generation if record else "-", services])
    print(format_table(["STACK", "ENTRY", "VERSION", "GEN", "SERVICES"], rows)
          if rows else "No stack runs on the swarm.")
    return EXIT_OK
