"""What every `corral` subcommand shares: global options, the fleet, exit codes."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from corral.backends import guard
from corral.catalog.errors import CorralError
from corral.tui.present.safe import visible_lines

if TYPE_CHECKING:
    from corral.backends.inventory import HostSpec, Inventory
    from corral.backends.ssh import Fleet, SshSettings
    from corral.tui.config import Config

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2


class UsageError(CorralError):
    """Bad command-line use or configuration: one line on stderr, exit 2."""

    title = "Usage error"
    exit_code = EXIT_USAGE


def add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Add the options every subcommand takes.

    Args:
        parser: The parser to extend.
        suppress: True for subcommand parsers, so an option given before the
            subcommand is not reset to its default by the subparser.
    """
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--inventory",
        metavar="FILE",
        default=default,
        help=f"inventory file (default: $CORRAL_INVENTORY, then {_default_inventory()})",
    )
    parser.add_argument(
        "--known-hosts",
        metavar="FILE",
        action="append",
        default=default,
        help="known_hosts file to trust (repeatable; default: OpenSSH's own)",
    )
    parser.add_argument(
        "--accept-fingerprint",
        metavar="SHA256:...",
        action="append",
        default=default,
        help="accept a host key not yet in known_hosts if it has exactly this "
        "fingerprint, and record it there",
    )
    parser.add_argument(
        "--connect-timeout",
        metavar="SECONDS",
        type=float,
        default=argparse.SUPPRESS if suppress else 10.0,
        help="seconds allowed for each SSH connection (default: 10)",
    )
    parser.add_argument(
        "--readonly",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="change nothing: every verb and key that would change a host or the inventory "
        "is refused (also $CORRAL_READONLY=1, or readonly: true in the configuration file)",
    )
    parser.add_argument(
        "--no-persist",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="read-only verbs (ps, hosts) neither reuse nor leave behind a persisted SSH "
        "connection (persist_seconds in the configuration file; corral hosts disconnect)",
    )


@functools.cache
def _default_inventory() -> str:
    """The default inventory path for help texts (asked once: every subcommand shows it)."""
    from corral.backends.inventory import default_inventory_path
    return str(default_inventory_path())


#: Each destructive verb (it may stop, remove or recreate containers, or change
#: the inventory) and what it does, in the words of its refusal.
DESTRUCTIVE_VERBS = {
    "deploy": "apply a plan to the hosts",
    "upgrade": "upgrade a stack",
    "scale": "scale a service",
    "confirm": "remove the old containers of an upgrade",
    "rollback": "roll an upgrade back",
    "reconcile": "recreate and remove containers",
    "rm": "remove a stack",
    "hosts rm": "remove a host from the inventory",
    "lease break": "break a stack's lease",
    "images prune": "remove unused images",
    "swarm init": "make a swarm of hosts",
    "swarm join": "join a host to a swarm",
    "swarm leave": "take a host out of its swarm",
    "swarm node drain": "drain a swarm node",
    "swarm node active": "make a swarm node active",
}


#: Each verb that changes hosts or the inventory -> its verb at the gate
#: (`backends/guard.py`). Every such command is marked (`destructive` or
#: `mutates`), and a test walks the parser to prove each marked verb refused
#: when read-only and every other one reading only.
GATE_VERBS = {
    "deploy": "stack.deploy",
    "upgrade": "stack.upgrade",
    "scale": "stack.scale",
    "confirm": "stack.confirm",
    "rollback": "stack.rollback",
    "reconcile": "stack.reconcile",
    "rm": "stack.rm",
    "hosts rm": "hosts.rm",
    "hosts add": "hosts.add",
    "hosts provision": "hosts.provision",
    "exec": "exec",
    "shell": "shell",
    "lease break": "lease.break",
    # A helper container is created on the host even to export: see backends/volumes.
    "volumes export": "volume.export",
    "volumes import": "volume.import",
    "volumes copy": "volume.copy",
    "images push": "image.push",
    "images pull": "image.pull",
    "images prune": "image.rm",
    "swarm init": "swarm.init",
    "swarm join": "swarm.join",
    "swarm leave": "swarm.leave",
    "swarm node drain": "swarm.node.availability",
    "swarm node active": "swarm.node.availability",
}


def refuse_if_readonly(verb: str, args: argparse.Namespace) -> None:
    """Refuse a mutating command at once when Corral is read-only.

    Before anything is read, asked or contacted, so the refusal is the
    command's one line; the backend's gate refuses the change itself anyway.

    Raises:
        ActionRefused: Read-only (`--readonly`, `CORRAL_READONLY`, config).
    """
    stack = getattr(args, "stack", None)
    target = getattr(args, "target", None) or getattr(args, "name", None)
    stack = stack if isinstance(stack, str) else None
    target = target if isinstance(target, str) else None
    if stack is None and target and GATE_VERBS[verb].startswith("stack."):
        stack = target.partition("/")[0]  # `scale STACK/SERVICE=N`: audited under its stack
    guard.check(GATE_VERBS[verb], stack=stack, target=target)


def mutates(verb: str) -> Callable[[Callable[[argparse.Namespace], int]],
                                   Callable[[argparse.Namespace], int]]:
    """Mark a command that changes something but asks nothing (`exec`, `hosts add`).

    Read-only refuses it before it starts (`refuse_if_readonly`).

    Args:
        verb: The key of `GATE_VERBS` the command implements.
    """
    def wrap(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        @functools.wraps(func)
        def run(args: argparse.Namespace) -> int:
            refuse_if_readonly(verb, args)
            return func(args)

        run.mutates = GATE_VERBS[verb]  # type: ignore[attr-defined]
        return run

    return wrap


def add_yes(parser: argparse.ArgumentParser) -> None:
    """The `--yes` every destructive verb takes."""
    parser.add_argument("-y", "--yes", action="store_true",
                        help="do not ask for confirmation (required when stdin is not a terminal)")


def destructive(verb: str) -> Callable[[Callable[[argparse.Namespace], int]],
                                       Callable[[argparse.Namespace], int]]:
    """Mark a command as destructive: one rule for every such verb.

    Read-only refuses it before anything else (`refuse_if_readonly`). On a
    terminal the command asks (`ask()`) before it changes anything; when
    stdin is not a terminal it needs `--yes`, and without it the command is
    refused with one line before anything is read or contacted.

    Args:
        verb: The key of `DESTRUCTIVE_VERBS` the command implements.
    """
    what = DESTRUCTIVE_VERBS[verb]

    def wrap(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        @functools.wraps(func)
        def run(args: argparse.Namespace) -> int:
            refuse_if_readonly(verb, args)  # first: read-only is not a matter of --yes
            if not getattr(args, "yes", False) and not sys.stdin.isatty():
                raise UsageError(f"refusing to {what} without confirmation: pass --yes"
                                 " (stdin is not a terminal)")
            return func(args)

        run.destructive = verb  # type: ignore[attr-defined]
        run.mutates = GATE_VERBS[verb]  # type: ignore[attr-defined]
        return run

    return wrap


def ask(args: argparse.Namespace, question: str) -> bool:
    """Ask `question` on the terminal, unless `--yes` was given.

    Returns:
        True to go ahead.

    Raises:
        UsageError: stdin is not a terminal and `--yes` is missing (the
            `destructive` wrapper normally refuses earlier).
    """
    if getattr(args, "yes", False):
        return True
    if not sys.stdin.isatty():
        raise UsageError("refusing to change anything without confirmation: pass --yes"
                         " (stdin is not a terminal)")
    print(f"{visible_lines(question)} [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def load_configured_inventory(args: argparse.Namespace, allow_empty: bool = False) -> Inventory:
    """The inventory the options name, or the local engine's.

    Args:
        args: Parsed options.
        allow_empty: Return an empty inventory instead of failing when there
            is none (the console then explains how to add a host).

    Raises:
        InventoryError: The file is bad.
        UsageError: There is no inventory and no local engine.
    """
    from corral.backends.inventory import (
        Inventory,
        default_inventory_path,
        load_inventory,
        local_inventory,
        locate_inventory,
    )
    path = locate_inventory(getattr(args, "inventory", None))
    if path is not None:
        return load_inventory(path)
    local = local_inventory()
    if local is None and allow_empty:
        return Inventory(hosts=(), path=default_inventory_path())
    if local is None:
        raise UsageError(
            f"no inventory: write {default_inventory_path()} or pass --inventory FILE "
            "(and no local Docker engine was found)"
        )
    return local


def ssh_settings(args: argparse.Namespace, config: Config | None = None) -> SshSettings:
    """SSH settings from the global options and the configuration file.

    Args:
        args: Parsed options.
        config: The configuration, if already read; else it is read here
            (`--config`, `$CORRAL_CONFIG`, the default file).

    Raises:
        ConfigError: The configuration file is wrong.
    """
    from corral.backends.ssh import SshSettings
    from corral.tui.config import load_config
    if config is None:
        config = load_config(getattr(args, "config", None))
    return SshSettings(
        known_hosts=tuple(getattr(args, "known_hosts", None) or ()),
        accept_fingerprints=frozenset(getattr(args, "accept_fingerprint", None) or ()),
        connect_timeout=getattr(args, "connect_timeout", 10.0),
        keepalive_interval=config.keepalive_interval,
        keepalive_count_max=config.keepalive_count_max,
    )


@contextlib.contextmanager
def connected_fleet(args: argparse.Namespace, hosts: list[str] | None = None,
                    extra: tuple[HostSpec, ...] = (), *, reads_only: bool = False,
                    ) -> Iterator[Fleet]:
    """Load the inventory, connect its hosts once, and close them afterwards.

    Hosts that fail to connect stay in the fleet as offline sessions; their
    errors are in each session's status.

    Args:
        args: Parsed options (inventory, known hosts…).
        hosts: Only these hosts, checked against the inventory before any
            connection is made; default every host.
        extra: Hosts to add to the inventory's for this command (the local
            engine as an image source).
        reads_only: The command only reads engines' APIs (no SSH command, no
            change): it may go through persisted tunnels and leave them
            behind (`persist_seconds`, unless `--no-persist`).

    Raises:
        UnknownHost: A name in `hosts` is not in the inventory.
    """
    from corral.backends.audit import current as current_audit
    from corral.backends.ssh import BackendLoop, Fleet
    from corral.tui.config import load_config
    inventory = load_configured_inventory(args)
    if hosts:
        selected = tuple(inventory.get(name) for name in dict.fromkeys(hosts))
        inventory = dataclasses.replace(inventory, hosts=selected)
    if extra:
        inventory = dataclasses.replace(inventory, hosts=(*inventory.hosts, *extra))
    config = load_config(getattr(args, "config", None))
    with BackendLoop() as loop, _quiet_closed_tunnel_writes():
        persist = (config.persist_seconds
                   if reads_only and not getattr(args, "no_persist", False) else 0.0)
        fleet = Fleet(inventory, ssh_settings(args, config), backend=loop,
                      registries=config.registries, persist_seconds=persist)
        trail = current_audit()
        try:
            loop.run(fleet.connect_all())
            if trail is not None:  # mutations are copied to these hosts' audit history
                trail.attach(fleet)
            yield fleet
        finally:
            if trail is not None:
                if not trail.flush():
                    warn("audit: some hosts did not take their copy in time; "
                         "it stays in the local file")
                trail.detach(fleet)
            loop.run(fleet.close(), timeout=10)


class _ClosedTunnelWrites(logging.Filter):
    """Drops asyncio's note that the tunnel wrote to a socket already closed.

    A stream cut short meets a closed socket: a response closed early (a
    volume's first archive members read, then dropped), or a host lost in
    the middle of an upload (sshd gone mid-push). asyncio then says so on
    stderr, a line beside the command's own one-line error: noise.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "socket.send() raised exception."


@contextlib.contextmanager
def _quiet_closed_tunnel_writes() -> Iterator[None]:
    quiet = _ClosedTunnelWrites()
    logging.getLogger("asyncio").addFilter(quiet)
    try:
        yield
    finally:
        logging.getLogger("asyncio").removeFilter(quiet)


def print_json(value: Any) -> None:
    """Write `value` as JSON to stdout."""
    json.dump(value, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def warn(message: str) -> None:
    """One diagnostic line on stderr.

    Messages often quote a host (an engine's error, a container's name):
    their control characters are shown, never sent to the terminal.
    """
    print(f"corral: {visible_lines(message)}", file=sys.stderr)


def report_failures(errors: dict[str, str]) -> None:
    """Name every host that did not answer, on stderr."""
    for host, message in errors.items():
        warn(f"{host}: {message}")


def run_guarded(func, args: argparse.Namespace) -> int:
    """Run a subcommand, turning expected errors into diagnostics and an exit code.

    Every `CorralError` ends the command the same way: its diagnostics on
    stderr (one line each) and its `exit_code`, 2 for bad input, 1 otherwise.
    Commands let them rise instead of converting them.
    """
    try:
        return func(args)
    except CorralError as exc:
        for line in exc.diagnostics():
            warn(line)
        return exc.exit_code
    except KeyboardInterrupt:
        warn("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK
