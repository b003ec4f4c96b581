"""`corral catalog lint`: load and render every version of a catalog folder.

Each version is rendered with its defaults; a required question without a
default gets a placeholder value of its type. Nothing stops the run: each
version gets a result with all its problems, entry-level problems included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from corral.catalog.answers import resolve_answers
from corral.catalog.errors import CatalogError
from corral.catalog.loader import (
    COMPOSE_NAMES,
    OTHER_KINDS,
    RANCHER_NAMES,
    Catalog,
    Entry,
    load_catalog,
    load_entry,
)
from corral.catalog.problems import Problem, Report, sort_problems
from corral.catalog.render import STACK_NAME, render


@dataclass(frozen=True)
class LintResult:
    """The outcome for one version (or for an entry without versions).

    Attributes:
        entry: The entry id.
        folder: The version folder name, or None for an entry without versions.
        version: The version string, or None.
        problems: Every problem, errors first (warnings included).
    """

    entry: str
    folder: str | None
    version: str | None
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when no problem is an error or an unsupported feature."""
        return not any(p.blocking for p in self.problems)

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {
            "entry": self.entry, "folder": self.folder, "version": self.version,
            "ok": self.ok, "problems": [p.to_dict() for p in self.problems],
        }


def lint_entry(entry: Entry) -> list[LintResult]:
    """Lint every version of one entry (another orchestrator's is only named)."""
    if entry.kind != "stack":
        note = Problem(f"{OTHER_KINDS[entry.kind]}: not a Cattle stack, not rendered",
                       str(entry.folder), None, "warning")
        return [LintResult(entry.id, None, None, (*sort_problems(entry.problems), note))]
    if not entry.versions:
        problems = [*entry.problems, Problem("no version folders", str(entry.folder))]
        return [LintResult(entry.id, None, None, tuple(sort_problems(problems)))]
    entry.default_version  # noqa: B018 -- records default-version problems
    results = []
    stack_name = entry.id.rsplit("/", 1)[-1]
    if not STACK_NAME.fullmatch(stack_name):
        stack_name = "lint"
    for version in entry.versions:
        report = Report()
        report.extend(entry.problems)
        try:
            answers = resolve_answers(version.info.questions, placeholders=True)
            stack = render(version, answers, stack_name=stack_name)
            report.extend(stack.warnings)
        except CatalogError as exc:
            report.catch(exc)
        report.extend(version.problems)
        results.append(LintResult(entry.id, version.revision, version.version,
                                  tuple(report.sorted())))
    return results


def lint_catalog(catalog: Catalog) -> list[LintResult]:
    """Lint every entry of a loaded catalog."""
    return [result for entry in catalog.entries for result in lint_entry(entry)]


def lint_path(path: str | Path) -> list[LintResult]:
    """Lint every entry and version of a catalog folder, or one entry folder.

    An entry folder (its `config.yml`, or version folders holding compose
    files) is linted alone, with the id it has in its catalog (`X/name`
    under `X-templates/`).

    Raises:
        CatalogError: `path` is neither a catalog folder nor an entry folder.
    """
    path = Path(path)
    if _is_entry(path):
        parent = path.resolve().parent.name
        base = parent.split("-")[0] if parent.endswith("-templates") else ""
        entry_id = f"{base}/{path.name}" if base else path.name
        kind = base if base in OTHER_KINDS else "stack"
        return lint_entry(load_entry(path, entry_id, path.resolve().parent.parent.name,
                                     root=path, kind=kind))
    return lint_catalog(load_catalog(path))


def _is_entry(path: Path) -> bool:
    """Whether `path` is one entry's folder rather than a catalog's."""
    if not path.is_dir() or (path / "templates").is_dir() or any(
            c.is_dir() and c.name.endswith("-templates") for c in path.iterdir()):
        return False
    return (path / "config.yml").is_file() or any(
        (child / name).is_file() for child in path.iterdir() if child.is_dir()
        for name in (*COMPOSE_NAMES, *RANCHER_NAMES))
