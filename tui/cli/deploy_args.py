"""What the deploy commands share: the ENTRY|FILE source, plan, confirmation and result output.

With `--bundle FILE` the entry comes from a bundle (`corral bundle create`):
the file is verified whole first (a bad member is named in one line and
nothing is read from the hosts), the entry rendered from a private copy of
its files, and the bundle's images are pushed from it (`Prepared.bundle`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from corral.backends.errors import BackendError
from corral.tui.cli.support import EXIT_OK, EXIT_PARTIAL, UsageError, ask, print_json, warn
from corral.tui.cli.support import add_yes as add_yes_option

if TYPE_CHECKING:
    from corral.backends.deploy import ApplyResult, Prepared
    from corral.backends.images import BundleSource
    from corral.backends.ssh import Fleet
    from corral.catalog.answers import Answers
    from corral.catalog.loader import Version
    from corral.catalog.spec import Stack


#: The `--pull` choices: `corral.backends.deploy.PULL_MODES`, spelled here so
#: building the parser loads no backend (a unit test keeps the two equal).
PULL_MODES = ("never", "missing", "always")


def add_source(parser: argparse.ArgumentParser) -> None:
    """ENTRY|FILE, --bundle, --stack, --version, --answers, --set, --catalog, --json, -v."""
    parser.add_argument("source", metavar="ENTRY|FILE", nargs="?",
                        help="catalog entry, or a compose file / version folder (with "
                        "--bundle: optional, the bundle's entry)")
    parser.add_argument("--bundle", metavar="FILE",
                        help="take the entry and its images from a bundle file "
                        "(`corral bundle create`), verified first; hosts lacking an image "
                        "get it pushed from the file")
    parser.add_argument("--stack", required=True, help="stack name")
    parser.add_argument("--version", help="catalog version (default: the entry's)")
    parser.add_argument("--answers", metavar="FILE", help="YAML answers file")
    parser.add_argument("--set", action="append", default=[], metavar="K=V", dest="sets",
                        help="one answer (repeatable; wins over --answers)")
    parser.add_argument("--catalog", action="append", default=[], metavar="PATH",
                        help="add a catalog folder (repeatable)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--profile", action="append", default=[], metavar="NAME",
                        dest="profiles", help="enable a compose profile (repeatable; also"
                        " COMPOSE_PROFILES for a compose file)")
    parser.add_argument("--pull", choices=PULL_MODES, default="missing",
                        help="when hosts pull images from a registry: never, missing (default:"
                        " only images a host lacks) or always (re-pull from a named registry)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also list hosts passed over for kept containers")
    parser.add_argument("--without-rancher-features", action="store_true",
                        help="drop what only a Rancher server provides (agent roles,"
                        " agent services, Rancher storage and network drivers), each named"
                        " in the plan, and deploy the rest")


def add_yes(parser: argparse.ArgumentParser) -> None:
    """--yes (see `support.destructive`) and --health-timeout."""
    add_yes_option(parser)
    parser.add_argument("--health-timeout", type=float, metavar="SECONDS",
                        help="wait at most this long for each container's health")


def render_source(args: argparse.Namespace) -> tuple[Stack, Answers, BundleSource | None]:
    """The stack named by ENTRY|FILE (or `--bundle`) with its answers, and the bundle.

    ENTRY is looked up as `corral catalog` does: `--catalog` folders, the
    configuration file's `catalogs:`, then the built-in catalog.

    Raises:
        UsageError: FILE holds no compose file, or neither ENTRY|FILE nor
            `--bundle` is given.
        BundleError: The bundle is not sound (the member is named).
        CatalogError: The entry, answers or render is bad (a RenderError lists
            every problem).
    """
    from corral.tui.catalog_sources import command_catalogs, open_bundle_catalog
    if getattr(args, "bundle", None):
        with open_bundle_catalog(args.bundle) as opened:
            entry = opened.entry
            if args.source and args.source not in (entry.id, f"{entry.catalog}:{entry.id}"):
                raise UsageError(f"{args.bundle} holds entry {entry.id}, not {args.source}")
            stack, answers = _render(args, opened.version(args.version))
        return stack, answers, opened.source
    if not args.source:
        raise UsageError("name an ENTRY or a compose FILE, or give --bundle FILE")
    path = Path(args.source)
    if path.exists():
        version = version_at(path)
    else:
        catalogs = command_catalogs(args.catalog, getattr(args, "config", None), warn)
        version = catalogs.find(args.source).find_version(args.version)
    return (*_render(args, version), None)


def _render(args: argparse.Namespace, version: Version) -> tuple[Stack, Answers]:
    from corral.catalog.answers import resolve_answers
    from corral.catalog.render import render
    answers = resolve_answers(version.info.questions, file=args.answers, sets=args.sets)
    stack = render(version, answers, stack_name=args.stack,
                   without_rancher_features=getattr(args, "without_rancher_features", False),
                   profiles=getattr(args, "profiles", ()))
    for problem in stack.warnings:
        warn(str(problem))
    return stack, answers


def version_at(path: Path) -> Version:
    """A version from a compose file, or a folder holding one."""
    from corral.catalog.loader import COMPOSE_NAMES, RANCHER_NAMES, Version
    folder = path if path.is_dir() else path.parent
    compose = path if path.is_file() else next(
        (folder / n for n in COMPOSE_NAMES if (folder / n).is_file()), None)
    if compose is None:
        raise UsageError(f"{path}: no {' or '.join(COMPOSE_NAMES)} here")
    rancher = next((folder / n for n in RANCHER_NAMES if (folder / n).is_file()), None)
    return Version(entry_id=folder.name, folder=folder, revision=folder.name,
                   compose_file=compose, rancher_file=rancher, standalone=True)


def read_images(fleet: Fleet, prepared: Prepared) -> None:
    """Fill `prepared.images` (how each image reaches each host) before the plan is shown.

    A host that fails here is left to the apply's preflight, which names it.
    """
    from corral.backends.deploy import plan_images
    try:
        plan_images(fleet, prepared)
    except BackendError as exc:
        warn(f"images: {exc}")


def show_plan(args: argparse.Namespace, prepared: Prepared) -> None:
    """The plan on stdout, as a table or JSON."""
    from corral.tui.present.deploy import plan_json, plan_text
    if getattr(args, "json", False):
        print_json(plan_json(prepared))
    else:
        print(plan_text(prepared, verbose=getattr(args, "verbose", False)))


def apply_confirmed(args: argparse.Namespace, fleet: Fleet, prepared: Prepared, question: str,
                    run: Callable[..., ApplyResult]) -> int:
    """Show the plan, ask, then `run(fleet, prepared, progress, health_timeout_ms=)`.

    Returns:
        The exit code: 0 done (or nothing to do), 1 refused, failed or unhealthy.
    """
    from corral.tui.present.deploy import progress_printer
    read_images(fleet, prepared)
    show_plan(args, prepared)
    if prepared.no_op:
        return EXIT_OK
    if not ask(args, question):
        warn("nothing changed")
        return EXIT_PARTIAL
    timeout = getattr(args, "health_timeout", None)
    result = run(fleet, prepared, progress_printer(),
                 health_timeout_ms=int(timeout * 1000) if timeout else None)
    return report_result(prepared, result)


def report_result(prepared: Prepared, result: ApplyResult) -> int:
    """Name failed hosts and unhealthy containers on stderr; the exit code."""
    from corral.tui.present.deploy import result_lines
    done, problems = result_lines(result)
    for problem in problems:
        warn(problem)
    if done:
        print(done, file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_PARTIAL
