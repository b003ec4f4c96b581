"""`corral plan | deploy | stacks | rm | scale`: stacks across the inventory's hosts.

Plans and stacks go to stdout (JSON with `--json`); progress, warnings and
errors to stderr. Exit codes: 0 done, 1 a host failed, a plan cannot be
placed, a preflight failed or a container is unhealthy, 2 bad input.
`register` also adds the verbs of `stack_change` (upgrade, confirm,
rollback, reconcile).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from corral.backends.errors import PlanError
from corral.tui.cli import stack_change as stack_change_cli
from corral.tui.cli import swarm_stack
from corral.tui.cli.deploy_args import (
    add_source,
    add_yes,
    apply_confirmed,
    read_images,
    render_source,
    show_plan,
)
from corral.tui.cli.support import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    add_global_options,
    ask,
    connected_fleet,
    destructive,
    print_json,
    warn,
)

if TYPE_CHECKING:
    from corral.catalog.spec import Stack


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `plan`, `deploy`, `stacks`, `rm`, `scale` and the `stack_change` verbs."""
    plan = subparsers.add_parser("plan", help="show where a stack's containers would go")
    add_global_options(plan, suppress=True)
    add_source(plan)
    plan.set_defaults(func=run_plan)
    deploy = subparsers.add_parser("deploy", help="plan a stack and apply it")
    add_global_options(deploy, suppress=True)
    add_source(deploy)
    add_yes(deploy)
    deploy.set_defaults(func=run_deploy)
    stacks = subparsers.add_parser("stacks", help="stacks deployed on the hosts")
    add_global_options(stacks, suppress=True)
    stacks.add_argument("--json", action="store_true", help="print JSON")
    stacks.set_defaults(func=run_stacks)
    rm = subparsers.add_parser("rm", help="remove a stack (named volumes stay unless asked)")
    add_global_options(rm, suppress=True)
    rm.add_argument("stack", metavar="STACK")
    rm.add_argument("--volumes", action="store_true", help="also remove its named volumes")
    add_yes(rm)
    rm.set_defaults(func=run_rm)
    scale = subparsers.add_parser("scale", help="change how many containers a service runs")
    add_global_options(scale, suppress=True)
    scale.add_argument("target", metavar="STACK/SERVICE=N")
    scale.add_argument("--json", action="store_true", help="print the plan as JSON")
    add_yes(scale)
    scale.set_defaults(func=run_scale)
    for parser in (plan, deploy, stacks, rm, scale):
        swarm_stack.add_engine(parser)
    stack_change_cli.register(subparsers)


def run_plan(args: argparse.Namespace) -> int:
    """Print the plan of a stack; change nothing.

    Without a host to place it on (no inventory, or none online) the stack is
    still rendered and checked: its services are listed and the plan says
    placement needs hosts.
    """
    if swarm_stack.is_swarm(args):
        return swarm_stack.run_plan(args)
    from corral.backends.deploy import prepare
    stack, answers, bundle = render_source(args)
    try:
        with connected_fleet(args) as fleet:
            if not any(session.online for session in fleet.sessions.values()):
                show_checked(args, stack)
            prepared = prepare(fleet, stack, answers, pull=args.pull, bundle=bundle)
            read_images(fleet, prepared)
    except UsageError as exc:  # no inventory at all
        show_checked(args, stack)
        raise PlanError(f"stack {stack.name} renders and passes its checks; placement needs"
                        f" hosts: {exc}") from None
    show_plan(args, prepared)
    return EXIT_OK


def show_checked(args: argparse.Namespace, stack: Stack) -> None:
    """The stack as checked without hosts, on stdout (JSON with `--json`)."""
    if getattr(args, "json", False):
        print_json({"stack": stack.name, "entry": stack.entry, "version": stack.version,
                    "deployable": stack.deployable, "placement": "needs hosts",
                    "services": [s.name for s in stack.services]})
    else:
        print(checked_text(stack))


def checked_text(stack: Stack) -> str:
    """What a plan without hosts can still say: the stack checked, its services."""
    def placement(service) -> str:
        if service.sidekick_of:
            return f"sidekick of {service.sidekick_of}"
        return "global" if service.scheduling.is_global else f"scale {service.scale}"

    services = ", ".join(f"{s.name} ({placement(s)})" for s in stack.services)
    state = "deployable" if stack.deployable else "NOT deployable"
    return f"Stack {stack.name}: {stack.entry} {stack.version}, {state}: {services}"


@destructive("deploy")
def run_deploy(args: argparse.Namespace) -> int:
    """Plan, confirm, apply; exit 1 when a host failed or a container is unhealthy."""
    if swarm_stack.is_swarm(args):
        return swarm_stack.run_deploy(args)
    from corral.backends.deploy import apply, explicit_deploy, hold_lease, prepare
    stack, answers, bundle = render_source(args)
    # The lease from the plan on: nobody changes the stack between plan and apply.
    with connected_fleet(args) as fleet, hold_lease(fleet, stack.name, "deploy"):
        prepared = prepare(fleet, stack, answers, pull=args.pull, bundle=bundle)
        return apply_confirmed(args, fleet, prepared,
                               f"Apply these changes to stack {stack.name}?",
                               explicit_deploy(apply))


def run_stacks(args: argparse.Namespace) -> int:
    """List the stacks every online host knows."""
    if swarm_stack.is_swarm(args):
        return swarm_stack.run_stacks(args)
    from corral.backends.deploy import gather, summarize
    from corral.tui.present.deploy import stacks_text
    with connected_fleet(args) as fleet:
        state = gather(fleet, acting=False)  # a listing, not a change: say what is wrong
        same_engine = fleet.same_engine()
    if same_engine is not None:
        warn(f"{same_engine}; stacks below count its containers twice")
    summaries = summarize(state)
    if args.json:
        print_json([summary.to_dict() for summary in summaries])
    else:
        print(stacks_text(summaries))
    offline = [(h.name, h.error) for h in state.hosts if not h.online]
    for host, error in offline:
        warn(f"{host}: offline ({error}); its stacks may be missing here")
    return EXIT_PARTIAL if offline or same_engine else EXIT_OK


@destructive("rm")
def run_rm(args: argparse.Namespace) -> int:
    """Remove a stack after a confirmation naming its containers and volumes."""
    if swarm_stack.is_swarm(args):
        return swarm_stack.run_rm(args)
    from corral.backends.deploy import find, gather, remove, volumes_of
    from corral.tui.present.deploy import progress_printer
    with connected_fleet(args) as fleet:
        state = gather(fleet)
        summary = find(state, args.stack)
        volumes = volumes_of(state, fleet, args.stack)
        count = sum(s.total for s in summary.services) + summary.previous
        print(f"Stack {args.stack}: {count} containers on {', '.join(summary.hosts) or 'no host'}",
              file=sys.stderr)
        for host, names in sorted(volumes.items()):
            fate = "REMOVED" if args.volumes else "kept"
            print(f"  volumes on {host} ({fate}): {', '.join(names)}", file=sys.stderr)
        if not ask(args, f"Remove stack {args.stack}?"):
            warn("nothing changed")
            return EXIT_PARTIAL
        errors = remove(fleet, state, args.stack, volumes=args.volumes,
                        on_progress=progress_printer())
    offline = [h.name for h in state.hosts if not h.online]
    for host in offline:
        warn(f"{host}: offline; remove the stack again once it is back")
    for host, error in sorted(errors.items()):
        warn(f"{host}: {error}")
    return EXIT_PARTIAL if errors or offline else EXIT_OK


@destructive("scale")
def run_scale(args: argparse.Namespace) -> int:
    """`STACK/SERVICE=N`: re-plan the recorded stack with a new scale and apply it."""
    if swarm_stack.is_swarm(args):
        return swarm_stack.run_scale(args)
    from corral.backends.deploy import apply, gather, hold_lease, prepare_scale
    target, sep, count = args.target.partition("=")
    stack_name, slash, service = target.partition("/")
    if not (sep and slash and stack_name and service and count.strip().isdigit()):
        raise UsageError(f"expected STACK/SERVICE=N, got {args.target!r}")
    with connected_fleet(args) as fleet, hold_lease(fleet, stack_name, "scale"):
        prepared = prepare_scale(fleet, gather(fleet), stack_name, service, int(count))
        return apply_confirmed(args, fleet, prepared,
                               f"Scale {stack_name}/{service} to {count}?", apply)
