"""`corral hosts add` and `corral hosts rm`: changing the inventory.

`add` tries the host first, exactly as the console's Add host form does: an
unknown host key is refused with its fingerprint (nothing is written) until
the operator passes that very fingerprint with `--accept-fingerprint`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from corral.tui.cli import hosts_doctor as hosts_doctor_cli
from corral.tui.cli.support import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    add_global_options,
    add_yes,
    ask,
    destructive,
    mutates,
    ssh_settings,
    warn,
)
from corral.tui.present.safe import visible

if TYPE_CHECKING:
    from corral.backends.inventory import HostEntry
    from corral.backends.ssh import ProbeReport

#: Seconds a whole probe may take beyond the SSH connect timeouts.
PROBE_SLACK = 30.0


def register(hosts: argparse.ArgumentParser) -> None:
    """Add `add` and `rm` under the `hosts` parser (which still runs alone)."""
    from corral.tui.cli import hosts_provision

    verbs = hosts.add_subparsers(dest="hosts_command",
                                 metavar="{add,rm,doctor,provision,disconnect}")
    add = verbs.add_parser(
        "add",
        help="try a host and add it to the inventory",
        description="Connect to the host (strict host key checking), report its Docker "
        "engine, and add it to the inventory. An unknown host key is refused with its "
        "fingerprint: verify it and run again with --accept-fingerprint. A host whose "
        "engine does not answer yet is still added, with a warning.",
    )
    add_global_options(add, suppress=True)
    add.add_argument("name", metavar="NAME", help="the host's name in Corral")
    add.add_argument("target", metavar="TARGET",
                     help="user@address[:port] or an ~/.ssh/config alias")
    add.add_argument("--label", metavar="K=V", action="append", default=[],
                     help="a host label (repeatable)")
    add.add_argument("--socket", metavar="PATH",
                     help="the remote engine's socket (default: /var/run/docker.sock)")
    add.add_argument("--identity", metavar="FILE", action="append", default=[],
                     help="private key file to offer (repeatable)")
    add.add_argument("--jump", metavar="TARGET", action="append", default=[],
                     help="jump host, outermost first (repeatable)")
    add.set_defaults(func=run_add)

    rm = verbs.add_parser("rm", help="remove a host from the inventory")
    add_global_options(rm, suppress=True)
    rm.add_argument("name", metavar="NAME", help="the host to remove")
    add_yes(rm)
    rm.set_defaults(func=run_rm)
    hosts_doctor_cli.register(verbs)
    hosts_provision.register(verbs)
    disconnect = verbs.add_parser(
        "disconnect", help="end the SSH connections kept by read verbs (persisted)",
        description="Stop the background processes that keep read verbs' SSH connections "
        "(corral ps, corral hosts; see persist_seconds in the configuration file). Every "
        "one of this user's, or those to the hosts named.")
    add_global_options(disconnect, suppress=True)
    disconnect.add_argument("names", metavar="NAME", nargs="*",
                            help="only the connections to these hosts (inventory names)")
    disconnect.set_defaults(func=run_disconnect)


def run_disconnect(args: argparse.Namespace) -> int:
    """Stop persisted connections; print one line for each."""
    from corral.backends.ssh import disconnect_persisted
    for item in disconnect_persisted(args.names or None):
        print(f"{visible(item.host)}\t{visible(item.target)}\tdisconnected (pid {item.pid})")
    return EXIT_OK


def inventory_for_writes(args: argparse.Namespace) -> Path:
    """The inventory file to change: --inventory, $CORRAL_INVENTORY, or the default."""
    from corral.backends.inventory import ENV_INVENTORY, default_inventory_path
    explicit = getattr(args, "inventory", None) or os.environ.get(ENV_INVENTORY) or None
    return Path(explicit).expanduser() if explicit else default_inventory_path()


def entry_from_args(args: argparse.Namespace) -> HostEntry:
    """The host `hosts add` describes, checked.

    Raises:
        UsageError: Naming the option that is wrong.
    """
    from corral.backends.inventory import HostEntry, identity_path, parse_labels
    try:
        labels = parse_labels(args.label)
    except ValueError as exc:
        raise UsageError(f"--label: {exc}") from None
    entry = HostEntry(
        name=args.name,
        ssh=args.target,
        identity=tuple(identity_path(path) for path in args.identity),
        socket=args.socket,
        labels=labels,
        jump=tuple(args.jump),
    )
    problems = entry.problems()
    if problems:
        field, message = next(iter(problems.items()))
        option = {"name": "NAME", "ssh": "TARGET"}.get(field, f"--{field}")
        raise UsageError(f"{option}: {message}")
    return entry


@mutates("hosts add")
def run_add(args: argparse.Namespace) -> int:
    """Try a host, then write it into the inventory."""
    from corral.backends.inventory import add_host, check_new_name, load_inventory
    from corral.backends.ssh import BackendLoop, check_same_engine, probe_host
    entry = entry_from_args(args)
    path = inventory_for_writes(args)
    check_new_name(path, entry.name)  # before connecting anywhere
    settings = ssh_settings(args)
    timeout = settings.connect_timeout * (2 + 2 * len(entry.jump)) + PROBE_SLACK
    with BackendLoop() as loop:
        report = loop.run(probe_host(entry.to_spec(), settings), timeout=timeout)
        unasked: list[str] = []
        if report.engine is not None and path.exists():
            # The same engine under a second name would have its containers
            # counted twice and "corrected" by reconcile: ask every known host.
            report, unasked = loop.run(
                check_same_engine(report, load_inventory(path), settings), timeout=timeout)
    if not report.ssh_ok:
        _explain_refusal(args, report)
        return EXIT_PARTIAL
    if report.refusal is not None:
        warn(f"{entry.name}: not added: {report.refusal}; nothing was written")
        return EXIT_PARTIAL
    for host in unasked:
        warn(f"{entry.name}: could not ask {host}'s engine (offline) whether it is the same "
             "engine; Corral stops acting if it turns out to be")
    if report.key_recorded:
        warn(f"{entry.name}: accepted host key {report.fingerprint}; recorded in "
             f"{settings.known_hosts_for_writes()}")
    inventory = add_host(path, entry)
    print(f"added {entry.name} ({report.target}) to {inventory.path}")
    print(f"  host key: {report.fingerprint}")
    if report.engine is not None:
        print(f"  found: {visible(report.describe())}")
    else:
        warn(f"{entry.name}: {report.describe()}")
    return EXIT_OK


def _explain_refusal(args: argparse.Namespace, report: ProbeReport) -> None:
    accepted = getattr(args, "accept_fingerprint", None) or []
    if report.needs_acceptance and accepted:
        warn(f"{report.host}: {report.target} presents host key {report.fingerprint}, which "
             f"does not match the fingerprint you accepted ({', '.join(accepted)}); "
             "nothing was written")
    elif report.needs_acceptance:
        warn(f"{report.host}: {report.describe()}; nothing was written")
        warn(f"once verified, run again with --accept-fingerprint {report.fingerprint}")
    else:
        warn(f"{report.host}: not added: {report.error}")


@destructive("hosts rm")
def run_rm(args: argparse.Namespace) -> int:
    """Remove a host from the inventory, after confirmation."""
    from corral.backends.inventory import (
        default_inventory_path,
        load_inventory,
        locate_inventory,
        remove_host,
    )
    path = locate_inventory(getattr(args, "inventory", None))
    if path is None:
        raise UsageError(f"no inventory file ({default_inventory_path()}): nothing to remove")
    host = load_inventory(path).get(args.name)
    if not ask(args, f"Remove host {host.name} ({host.ssh}) from {path}?"):
        warn("not removed")
        return EXIT_PARTIAL
    remove_host(path, args.name)
    print(f"removed {args.name} from {path}")
    return EXIT_OK
