"""The `corral` command: the console, or a headless verb for scripts."""

from __future__ import annotations

import argparse
import sys

from corral.tui.cli import audit as audit_cli
from corral.tui.cli import bundle as bundle_cli
from corral.tui.cli import catalog as catalog_cli
from corral.tui.cli import deploy as deploy_cli
from corral.tui.cli import diag as diag_cli
from corral.tui.cli import exec as exec_cli
from corral.tui.cli import hosts as hosts_cli
from corral.tui.cli import images as images_cli
from corral.tui.cli import lease as lease_cli
from corral.tui.cli import logs as logs_cli
from corral.tui.cli import swarm as swarm_cli
from corral.tui.cli import volumes as volumes_cli
from corral.tui.cli.ending import ending_on_signals
from corral.tui.cli.readonly import enter_readonly_if_asked
from corral.tui.cli.support import EXIT_USAGE, UsageError, add_global_options, run_guarded


def installed_version() -> str:
    """The version of the installed `corral` distribution (pyproject.toml's)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("corral")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class _VersionAction(argparse.Action):
    """`--version`: looks the version up only when asked (importlib.metadata is slow)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show program's version number and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(f"corral {installed_version()}")  # on stdout, as argparse's own action
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The full command-line parser."""
    parser = argparse.ArgumentParser(
        prog="corral",
        description="Run multi-container products on Docker hosts reached over SSH.",
    )
    add_global_options(parser, suppress=False)
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("--config", metavar="FILE",
                        help="configuration file (default: $CORRAL_CONFIG, then "
                        "~/.config/corral/config.yaml)")
    parser.add_argument("--bundle", dest="console_bundles", action="append", metavar="FILE",
                        help="open a bundle file (`corral bundle create`) in the console: "
                        "its entry joins the catalog, its images are pushed from it "
                        "(repeatable; verified first)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    hosts_cli.register(subparsers)
    logs_cli.register(subparsers)
    catalog_cli.register(subparsers)
    deploy_cli.register(subparsers)
    exec_cli.register(subparsers)
    lease_cli.register(subparsers)
    audit_cli.register(subparsers)
    diag_cli.register(subparsers)
    volumes_cli.register(subparsers)
    images_cli.register(subparsers)
    bundle_cli.register(subparsers)
    swarm_cli.register(subparsers)
    return parser


def parse_command_line(argv: list[str]) -> argparse.Namespace:
    """Parse `corral`'s arguments; options may follow a subcommand's TARGET.

    Args:
        argv: The command line without the program name.

    Raises:
        SystemExit: Usage error (argparse prints it, exit 2).
    """
    parser = build_parser()
    words, trailing = exec_cli.split_trailing_command(argv)
    args = parser.parse_args(words)
    if trailing is not None:
        if not getattr(args, "takes_trailing_command", False):
            parser.error(f"unrecognized arguments: -- {' '.join(trailing)}")
        args.command = [*args.command, *trailing]
    return args


def main(argv: list[str] | None = None) -> int:
    """Run one command line; returns the exit code (tests call it in-process)."""
    args = parse_command_line(sys.argv[1:] if argv is None else list(argv))
    # SIGTERM and SIGHUP end it like Ctrl-C: tunnels and their directories are cleaned.
    with ending_on_signals():
        return run_guarded(_run, args)


def _run(args: argparse.Namespace) -> int:
    from corral.backends.audit import install as install_audit
    install_audit()  # every mutation from here on is recorded (backends/audit)
    # Read-only is latched before any verb runs, so the backend gate refuses
    # every change whichever verb (or console key) asks for it.
    enter_readonly_if_asked(args)
    if args.command is not None and getattr(args, "console_bundles", None):
        raise UsageError("--bundle before a command opens a bundle in the console; "
                         "give it after the command (e.g. `corral deploy --bundle FILE`)")
    if args.command is None:
        from corral.tui.cli.console import run_console  # Textual loads only for the console

        return run_console(args)
    return args.func(args)


def run() -> None:
    """Entry point of the `corral` console script: `main()`, then a quick exit."""
    from corral.tui.cli.quick_exit import leave

    leave(main())


if __name__ == "__main__":
    run()

__all__ = ["main", "run", "build_parser", "parse_command_line", "EXIT_USAGE"]
