"""`corral hosts` and `corral ps`: what every host is and runs."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from corral.tui.cli import hosts_edit as hosts_edit_cli
from corral.tui.cli.support import (
    EXIT_OK,
    EXIT_PARTIAL,
    add_global_options,
    connected_fleet,
    print_json,
    report_failures,
    warn,
)
from corral.tui.present.table import format_table

if TYPE_CHECKING:
    from corral.backends.engine import ContainerRow, HostFacts


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `hosts` and `ps` subcommands."""
    hosts = subparsers.add_parser("hosts", help="every host: state, engine, latency, clock")
    add_global_options(hosts, suppress=True)
    hosts.add_argument("--json", action="store_true", help="print JSON")
    hosts.set_defaults(func=run_hosts)
    hosts_edit_cli.register(hosts)

    ps = subparsers.add_parser("ps", help="containers across every host")
    add_global_options(ps, suppress=True)
    ps.add_argument("--host", metavar="H", action="append", help="only this host (repeatable)")
    ps.add_argument("-a", "--all", action="store_true", help="include stopped containers")
    ps.add_argument("--json", action="store_true", help="print JSON")
    ps.set_defaults(func=run_ps)


def run_hosts(args: argparse.Namespace) -> int:
    """Print every host's facts; exit 1 if any host is offline or two are one engine."""
    from corral.backends.engine import host_facts
    with connected_fleet(args, reads_only=True) as fleet:
        facts = [result.value for result in fleet.query(host_facts)]
        same_engine = fleet.same_engine()  # host_facts noted each engine's ID
    if args.json:
        print_json([fact.to_dict() for fact in facts])
    else:
        print(format_table(HOST_COLUMNS, [_host_cells(fact) for fact in facts]))
    failed = {fact.name: f"offline: {fact.error}" for fact in facts if fact.state != "online"}
    report_failures(failed)
    if same_engine is not None:
        warn(str(same_engine))
    return EXIT_PARTIAL if failed or same_engine else EXIT_OK


HOST_COLUMNS = ("NAME", "ADDRESS", "STATE", "DOCKER", "CONTAINERS", "LATENCY", "CLOCK", "LABELS")


def _host_cells(fact: HostFacts) -> list[object]:
    containers = (
        f"{fact.containers_running}/{fact.containers_total}"
        if fact.containers_total is not None
        else None
    )
    return [
        fact.name,
        fact.address,
        fact.state,
        fact.docker_version,
        containers,
        f"{fact.latency_ms:.1f}ms" if fact.latency_ms is not None else None,
        f"{fact.clock_offset_ms:+.0f}ms" if fact.clock_offset_ms is not None else None,
        ",".join(f"{k}={v}" for k, v in sorted(fact.labels.items())) or None,
    ]


def run_ps(args: argparse.Namespace) -> int:
    """Print containers across hosts; exit 1 if any host did not answer."""
    from corral.backends.engine import list_containers
    with connected_fleet(args, hosts=args.host, reads_only=True) as fleet:
        results = fleet.query(lambda session: list_containers(session, all=args.all))
    rows: list[ContainerRow] = [row for result in results if result.ok for row in result.value]
    if args.json:
        print_json([row.to_dict() for row in rows])
    else:
        print(format_table(PS_COLUMNS, [_ps_cells(row) for row in rows]))
    failed = {result.host: result.error.message for result in results if not result.ok}
    report_failures(failed)
    return EXIT_PARTIAL if failed else EXIT_OK


PS_COLUMNS = ("HOST", "NAME", "STACK", "SERVICE", "IMAGE", "STATE", "STATUS", "PORTS")


def _ps_cells(row: ContainerRow) -> list[object]:
    return [
        row.host,
        row.name,
        row.stack,
        row.service,
        row.image,
        row.state,
        row.status,
        ", ".join(row.ports) or None,
    ]
