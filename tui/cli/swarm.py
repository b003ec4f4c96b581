"""`corral swarm status|init|join|leave`: Docker Swarm under the inventory's hosts.

`status` shows each swarm the hosts are in (nodes, roles, availability,
reachability, quorum, which inventory host is which node) and the hosts in
none. `init --hosts H1,H2,H3 [--managers N]` makes a swarm: the first host
inits it advertising the address it sees its SSH connection arrive on, the
others join through their own tunnels. `join HOST [--manager]` and `leave
HOST [--force]` change one member. Each of the three asks first naming the
hosts (`--yes` off a terminal), prints the quorum warnings before asking,
and runs in the gate (`swarm.init`, `swarm.join`, `swarm.leave`). The work is
in `backends/swarm`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from corral.tui.cli.support import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    add_global_options,
    add_yes,
    ask,
    connected_fleet,
    destructive,
    print_json,
    report_failures,
    warn,
)
from corral.tui.present.table import format_table

if TYPE_CHECKING:
    from corral.backends.swarm import Cluster


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `swarm status`, `swarm init`, `swarm join` and `swarm leave`."""
    swarm = subparsers.add_parser("swarm", help="Docker Swarm under the hosts: status, init,"
                                  " join, leave")
    add_global_options(swarm, suppress=True)
    verbs = swarm.add_subparsers(dest="swarm_command", metavar="{status,init,join,leave}")
    verbs.required = True

    status = verbs.add_parser("status", help="nodes, roles, reachability, quorum, and which"
                              " inventory host is which node")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=run_status)

    init = verbs.add_parser("init", help="make a swarm of hosts (the first one inits it)")
    init.add_argument("--hosts", metavar="H1,H2,H3", required=True,
                      help="the hosts, the first one the swarm's first manager")
    init.add_argument("--managers", metavar="N", type=int, default=1,
                      help="how many of the hosts are managers, the first ones (default: 1)")
    init.set_defaults(func=run_init_command)

    join = verbs.add_parser("join", help="join a host to the swarm the others are in")
    join.add_argument("host", metavar="HOST")
    join.add_argument("--manager", action="store_true", help="join as a manager")
    join.set_defaults(func=run_join_command)

    leave = verbs.add_parser("leave", help="take a host out of its swarm")
    leave.add_argument("host", metavar="HOST")
    leave.add_argument("--force", action="store_true",
                       help="let the last manager leave, ending the swarm")
    leave.set_defaults(func=run_leave_command)

    for parser in (status, init, join, leave):
        add_global_options(parser, suppress=True)
        if parser is not status:
            add_yes(parser)


def _status_lines(cluster: Cluster) -> list[str]:
    lines = []
    for key in cluster.swarms:
        quorum = cluster.quorum(key)
        held = "held" if quorum.held else "LOST"
        cluster_id = next((cluster.members[h].cluster_id for h in cluster.hosts_in(key)
                           if cluster.members[h].cluster_id), "?")
        lines.append(f"swarm {cluster_id}: {len(cluster.nodes.get(key, []))} nodes,"
                     f" quorum {held} ({quorum.reachable} of {quorum.managers} managers answer,"
                     f" {quorum.needed} needed; tolerates {quorum.tolerates} more failure"
                     f"{'' if quorum.tolerates == 1 else 's'})")
        if key in cluster.errors:
            lines.append(f"  {cluster.errors[key]}")
        rows = [[n.host or "-", n.hostname, n.id[:12], n.role + (" (leader)" if n.leader else ""),
                 n.availability, n.state, n.reachability or "-", n.address]
                for n in cluster.nodes.get(key, [])]
        if rows:
            lines += ["  " + line for line in format_table(
                ["HOST", "NODE", "ID", "ROLE", "AVAILABILITY", "STATE", "REACHABILITY",
                 "ADDRESS"], rows).splitlines()]
    outside = cluster.outside()
    if outside:
        lines.append(f"not in a swarm: {', '.join(outside)}")
    if not cluster.swarms:
        lines.append("no host is in a swarm: `corral swarm init --hosts H1,H2,H3`")
    return lines


def run_status(args: argparse.Namespace) -> int:
    """Print every swarm the hosts are in and the hosts in none."""
    from corral.backends.swarm import read_cluster
    with connected_fleet(args) as fleet:
        cluster = read_cluster(fleet)
    if args.json:
        print_json(cluster.to_dict())
    else:
        print("\n".join(_status_lines(cluster)))
    report_failures({h: f"offline: {why}" for h, why in cluster.offline.items()})
    return EXIT_PARTIAL if cluster.offline else EXIT_OK


def _hosts(text: str) -> list[str]:
    hosts = [h.strip() for h in text.split(",") if h.strip()]
    if not hosts or len(set(hosts)) != len(hosts):
        raise UsageError(f"--hosts {text!r}: name each host once, separated by commas")
    return hosts


def _warn_all(warnings: tuple[str, ...]) -> None:
    for line in warnings:
        warn(f"warning: {line}")


@destructive("swarm init")
def run_init_command(args: argparse.Namespace) -> int:
    """Init the swarm on the first host and join the others."""
    from corral.backends.swarm import plan_init, read_cluster, run_init
    hosts = _hosts(args.hosts)
    with connected_fleet(args, hosts) as fleet:
        init = plan_init(read_cluster(fleet, hosts), hosts, args.managers)
        _warn_all(init.warnings)
        roles = [f"{init.first} (manager, first)"] + [f"{h} (manager)" for h in init.managers]
        roles += [f"{h} (worker)" for h in init.workers]
        if not ask(args, f"Make a swarm of {', '.join(roles)}?"):
            warn("nothing changed")
            return EXIT_PARTIAL
        problems = run_init(fleet, init)
    report_failures(problems)
    joined = [h for h in init.hosts if h not in problems]
    print(f"Swarm made: {', '.join(joined)}")
    return EXIT_PARTIAL if problems else EXIT_OK


@destructive("swarm join")
def run_join_command(args: argparse.Namespace) -> int:
    """Join the host to the swarm the other inventory hosts are in."""
    from corral.backends.swarm import plan_join, read_cluster, run_join
    with connected_fleet(args) as fleet:
        join = plan_join(read_cluster(fleet), args.host, args.manager)
        _warn_all(join.warnings)
        role = "a manager" if join.manager else "a worker"
        if not ask(args, f"Join {join.host} to the swarm of {join.via} as {role}?"):
            warn("nothing changed")
            return EXIT_PARTIAL
        run_join(fleet, join)
    print(f"{join.host} joined the swarm as {role}")
    return EXIT_OK


@destructive("swarm leave")
def run_leave_command(args: argparse.Namespace) -> int:
    """Take the host out of its swarm (a manager is demoted first)."""
    from corral.backends.swarm import plan_leave, read_cluster, run_leave
    with connected_fleet(args) as fleet:
        leave = plan_leave(read_cluster(fleet), args.host, args.force)
        _warn_all(leave.warnings)
        role = "manager" if leave.manager else "worker"
        if not ask(args, f"Take {leave.host} ({role}) out of its swarm?"):
            warn("nothing changed")
            return EXIT_PARTIAL
        run_leave(fleet, leave, args.force)
    print(f"{leave.host} left its swarm" + (" (the swarm ended)" if leave.last else ""))
    return EXIT_OK
