"""`corral swarm node drain|active NODE`: a swarm node's availability.

NODE is an inventory host that is a node, or a node's hostname or ID (a node
that is no inventory host). `drain` lists the tasks Swarm will move before it
asks; both ask first naming the node and its host (`--yes` off a terminal) and
run in the gate as `swarm.node.availability`, through a manager of the node's
swarm. The work is in `backends/swarm`.
"""

from __future__ import annotations

import argparse

from corral.tui.cli.support import (
    EXIT_OK,
    EXIT_PARTIAL,
    add_global_options,
    add_yes,
    ask,
    connected_fleet,
    destructive,
    warn,
)


def register(verbs: argparse._SubParsersAction) -> None:
    """Add `swarm node drain NODE` and `swarm node active NODE` under `swarm`."""
    node = verbs.add_parser("node", help="drain a node (its tasks move) or make it active")
    add_global_options(node, suppress=True)
    which = node.add_subparsers(dest="node_command", metavar="{drain,active}")
    which.required = True
    for availability, run, text in (
            ("drain", run_drain, "drain a node: Swarm moves its tasks to other nodes"),
            ("active", run_active, "make a node active again: Swarm may place tasks on it")):
        parser = which.add_parser(availability, help=text)
        parser.add_argument("target", metavar="NODE",
                            help="an inventory host, or a node's hostname or ID")
        add_global_options(parser, suppress=True)
        add_yes(parser)
        parser.set_defaults(func=run, availability=availability)


@destructive("swarm node drain")
def run_drain(args: argparse.Namespace) -> int:
    """Drain the node, asking first with the tasks that will move."""
    return _change(args)


@destructive("swarm node active")
def run_active(args: argparse.Namespace) -> int:
    """Make the node active again, asking first."""
    return _change(args)


def _change(args: argparse.Namespace) -> int:
    from corral.backends.errors import SwarmError
    from corral.backends.swarm import (
        read_cluster,
        read_swarm_services,
        set_availability,
        tie_offline_hosts,
    )

    with connected_fleet(args) as fleet:
        cluster = read_cluster(fleet)
        tie_offline_hosts(fleet, cluster)
        found = [(key, n) for key in cluster.swarms for n in cluster.nodes.get(key, [])
                 if args.target in (n.host, n.hostname, n.id)
                 or (len(args.target) >= 6 and n.id.startswith(args.target))]
        if len(found) != 1:
            why = "no node" if not found else f"{len(found)} nodes"
            raise SwarmError(f"{why} of the inventory's swarms is {args.target!r}:"
                             " name an inventory host, a node's hostname or its ID")
        key, node = found[0]
        managers = cluster.managers(key)
        if not managers:
            raise SwarmError(cluster.errors.get(key) or "no manager of the swarm answers")
        where = f"node {node.hostname}" + (f" (inventory host {node.host})" if node.host
                                           else " (not in the inventory)")
        if node.availability == args.availability:
            print(f"{where} is {args.availability} already")
            return EXIT_OK
        if args.availability == "drain":
            services, _ = read_swarm_services(fleet, cluster)
            moving = [f"{s.name}.{t.slot or t.node}  {t.state}" for s in services
                      for t in s.tasks if t.node_id == node.id and t.desired == "running"]
            for line in moving:
                warn(f"  will move: {line}")
            question = f"Drain {where}? Swarm moves its {len(moving)} tasks to other nodes."
        else:
            question = f"Make {where} active? Swarm may place new tasks on it."
        if not ask(args, question):
            warn("nothing changed")
            return EXIT_PARTIAL
        set_availability(fleet, managers[0], node, args.availability,
                         readonly=getattr(args, "readonly", False))
    print(f"{where}: {args.availability}")
    return EXIT_OK
