"""`corral catalog …`: list, show, render and lint Rancher 1.6 catalogs.

`register(subparsers)` adds the `catalog` verb; each sub-verb sets `func` to
a function `(args) -> int`. Output goes to stdout (JSON with `--json`),
problems one per line to stderr. Exit codes: 0 fine, 1 lint found failing
versions, 2 bad input (usage, missing entry, invalid answers, broken catalog).
Entries come from the `--catalog` folders, the configuration file's
`catalogs:` and the built-in catalog, in that order (`catalog_sources`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, TextIO

from corral.catalog.errors import CatalogError, CorralError, RenderError

if TYPE_CHECKING:
    from corral.catalog.loader import CatalogSet, Entry
    from corral.catalog.spec import Stack


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `catalog` command and its sub-verbs to a subparsers object."""
    parser = subparsers.add_parser("catalog", help="browse, render and lint Rancher 1.6 catalogs")
    verbs = parser.add_subparsers(dest="catalog_verb", metavar="VERB", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        verb = verbs.add_parser(name, help=help_text)
        verb.add_argument("--catalog", action="append", default=[], metavar="PATH",
                          help="add a catalog folder (repeatable)")
        return verb

    listing = add("list", "list catalog entries")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=cmd_list)

    show = add("show", "show an entry, its versions and questions")
    show.add_argument("entry", metavar="ENTRY")
    show.add_argument("--version", help="version string or folder (default: the entry's)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=cmd_show)

    rendering = add("render", "render an entry into a stack spec")
    rendering.add_argument("entry", metavar="ENTRY")
    rendering.add_argument("--version", help="version string or folder (default: the entry's)")
    rendering.add_argument("--answers", metavar="FILE", help="YAML answers file")
    rendering.add_argument("--set", action="append", default=[], metavar="K=V", dest="sets",
                           help="set one answer (repeatable; wins over --answers)")
    rendering.add_argument("--name", help="stack name (default: the entry folder name)")
    rendering.add_argument("--without-rancher-features", action="store_true",
                           help="drop what only a Rancher server provides, each named")
    rendering.add_argument("--json", action="store_true", help="print JSON")
    rendering.set_defaults(func=cmd_render)

    lint = add("lint", "render every version of a catalog folder, or of one entry folder,"
               " with its defaults")
    lint.add_argument("path", metavar="PATH")
    lint.add_argument("--json", action="store_true", help="print JSON")
    lint.set_defaults(func=cmd_lint)
    return parser


def _fail(exc: CorralError, err: TextIO) -> int:
    """Print `exc` as the catalog commands do (`error: ` lines) and return its exit code.

    A render's problems carry their own severity (`file:line: warning: …`).
    """
    for line in exc.diagnostics():
        print(line if isinstance(exc, RenderError) else f"error: {line}", file=err)
    return exc.exit_code


def _catalogs(args: argparse.Namespace, err: TextIO) -> CatalogSet:
    """The command's catalogs (`command_catalogs`), warnings on `err`."""
    from corral.tui.catalog_sources import command_catalogs
    return command_catalogs(args.catalog, getattr(args, "config", None),
                            lambda warning: print(f"warning: {warning}", file=err))


def cmd_list(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """List entries: id, category, default version, description."""
    try:
        entries = _catalogs(args, err).entries
    except CorralError as exc:
        return _fail(exc, err)
    if args.json:
        json.dump([e.to_dict() for e in entries], out, indent=2)
        out.write("\n")
        return 0
    rows = [(e.id, e.catalog, e.category_label, e.version or "", e.description) for e in entries]
    _table(("ENTRY", "CATALOG", "CATEGORY", "VERSION", "DESCRIPTION"), rows, out)
    return 0


def cmd_show(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Show one entry, its versions and the questions of one version."""
    try:
        entry = _catalogs(args, err).find(args.entry)
        version = entry.find_version(args.version)
    except CorralError as exc:
        return _fail(exc, err)
    for problem in [*entry.problems, *version.problems]:
        print(problem, file=err)
    if args.json:
        data = entry.to_dict()
        data["default_version"] = entry.default_version.revision if entry.default_version \
            else None
        data["selected"] = version.to_dict()
        data["readme"] = entry.readme()
        json.dump(data, out, indent=2)
        out.write("\n")
        return 0
    _show_text(entry, version.revision, out)
    return 0


def _show_text(entry: Entry, revision: str, out: TextIO) -> None:
    print(f"{entry.name} ({entry.catalog}:{entry.id})", file=out)
    for label, value in (("Description", entry.description), ("Category", entry.category),
                         ("Maintainer", entry.maintainer), ("License", entry.license),
                         ("Project", entry.project_url)):
        if value:
            print(f"{label}: {value}", file=out)
    print("", file=out)
    default = entry.default_version
    rows = [(v.revision, v.version, "default" if v is default else "",
             "selected" if v.revision == revision else "", v.info.description or "")
            for v in entry.versions]
    _table(("FOLDER", "VERSION", "", "", "DESCRIPTION"), rows, out)
    version = next(v for v in entry.versions if v.revision == revision)
    print("", file=out)
    questions = version.info.questions
    if questions:
        rows = [(q.variable, q.type, "yes" if q.required else "", q.group or "",
                 "********" if q.secret and q.default else (q.default or "").replace("\n", "\\n"),
                 q.label) for q in questions]
        _table(("VARIABLE", "TYPE", "REQUIRED", "GROUP", "DEFAULT", "LABEL"), rows, out)
    else:
        print("No questions.", file=out)
    readme = entry.readme()
    if readme:
        print("", file=out)
        print(readme.rstrip(), file=out)


def cmd_render(args: argparse.Namespace, out: TextIO = sys.stdout,
               err: TextIO = sys.stderr) -> int:
    """Render one entry with answers from defaults, `--answers` and `--set`."""
    from corral.catalog.answers import resolve_answers
    from corral.catalog.render import STACK_NAME, render
    try:
        entry = _catalogs(args, err).find(args.entry)
        version = entry.find_version(args.version)
        answers = resolve_answers(version.info.questions, file=args.answers, sets=args.sets)
        name = args.name or entry.id.rsplit("/", 1)[-1]
        if not STACK_NAME.fullmatch(name):
            raise CatalogError(f"invalid stack name {name!r}; pass --name")
        stack = render(version, answers, stack_name=name,
                       without_rancher_features=args.without_rancher_features)
    except CorralError as exc:
        return _fail(exc, err)
    for problem in stack.warnings:
        print(problem, file=err)
    if args.json:
        json.dump(stack.to_dict(), out, indent=2)
        out.write("\n")
    else:
        _stack_text(stack, out)
    return 0


def _stack_text(stack: Stack, out: TextIO) -> None:
    print(f"Stack {stack.name}: {stack.entry} {stack.version}", file=out)
    rows = []
    for service in stack.services:
        ports = ",".join(f"{p.host_port or ''}:{p.container_port}/{p.protocol}"
                         if p.published else f"{p.container_port}/{p.protocol}"
                         for p in service.ports)
        if service.sidekick_of:
            placement = f"sidekick of {service.sidekick_of}"
        elif service.scheduling.is_global:
            placement = "global"
        else:
            placement = f"scale {service.scale}"
        rules = ", ".join(
            f"{r.kind}{'_soft' if r.soft else ''}{'_ne' if r.negated else ''} "
            f"{r.key + '=' if r.key else ''}{r.value}" for r in service.scheduling.rules)
        health = f"{service.health_check.port}{service.health_check.path or ''}" \
            if service.health_check else ""
        rows.append((service.name, service.image or "", placement, ports, health, rules))
    _table(("SERVICE", "IMAGE", "PLACEMENT", "PORTS", "HEALTH", "SCHEDULING"), rows, out)
    for volume in stack.volumes:
        notes = [f"driver {volume.driver}"] if volume.driver else []
        if volume.per_container:
            notes.append("one per container")
        print(f"volume {volume.name}" + (f" ({', '.join(notes)})" if notes else ""), file=out)
    if not stack.deployable:
        print("Not deployable: uses features only a Rancher server provides.", file=out)


def cmd_lint(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Lint every entry and version of PATH (and of any `--catalog` folders)."""
    from corral.catalog.lint import lint_path
    try:
        results = [r for path in [args.path, *args.catalog] for r in lint_path(path)]
    except CorralError as exc:
        return _fail(exc, err)
    if args.json:
        json.dump([r.to_dict() for r in results], out, indent=2)
        out.write("\n")
    else:
        for result in results:
            status = "ok" if result.ok else "FAIL"
            print(f"{status:4} {result.entry} {result.folder or '-'} {result.version or ''}"
                  .rstrip(), file=out)
            for problem in result.problems:
                print(f"     {problem}", file=out)
        failed = sum(not r.ok for r in results)
        print(f"{len(results)} versions, {failed} failing", file=out)
    return 1 if any(not r.ok for r in results) else 0


def _table(headers: tuple[str, ...], rows: list[tuple], out: TextIO) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    for row in (headers, *rows):
        cells = [str(c).ljust(w) for c, w in zip(row, widths, strict=False)]
        print("  ".join(cells).rstrip(), file=out)


def main(argv: list[str] | None = None) -> int:
    """Run `catalog` alone (for trying it before the lead wires it into `corral`)."""
    parser = argparse.ArgumentParser(prog="corral")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
