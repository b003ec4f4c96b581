"""The `catalog:` (or `.catalog:`) block of rancher-compose.yml.

Rancher's catalog service looked for `catalog`, then `.catalog` at the top,
then (in version 2 files) `.catalog` among the services. The block names the
version, gives its description and Rancher version bounds, and holds the
questions.
"""

from __future__ import annotations

from dataclasses import dataclass

from corral.catalog.compose.values import raw_text
from corral.catalog.excerpt import quoted
from corral.catalog.problems import Report, Source
from corral.catalog.questions import Question, parse_questions

_KEYS = {"name", "version", "description", "uuid", "minimum_rancher_version",
         "maximum_rancher_version", "upgrade_from", "questions", "labels", "output"}


@dataclass(frozen=True)
class CatalogInfo:
    """What a version says about itself.

    Attributes:
        name, version, description, uuid: As written (version may be None).
        minimum_rancher_version, maximum_rancher_version, upgrade_from: As written.
        labels: Catalog labels.
        questions: The questions, in order.
    """

    name: str | None = None
    version: str | None = None
    description: str | None = None
    uuid: str | None = None
    minimum_rancher_version: str | None = None
    maximum_rancher_version: str | None = None
    upgrade_from: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    questions: tuple[Question, ...] = ()


def find_block(document: object, source: Source, report: Report) -> object:
    """The catalog block of a rancher-compose document, or None."""
    if not isinstance(document, dict):
        return None
    present = [key for key in ("catalog", ".catalog") if document.get(key) is not None]
    if len(present) == 2:
        report.warn("both catalog and .catalog blocks; using catalog", source.file,
                    source.line(document.line_of(".catalog")))
    if present:
        return document[present[0]]
    services = document.get("services")
    if str(document.get("version", "")).startswith("2") and isinstance(services, dict):
        return services.get(".catalog")
    return None


def parse_catalog_block(document: object, source: Source, report: Report) -> CatalogInfo:
    """Read the catalog block; problems (bad keys, bad questions) go to `report`."""
    block = find_block(document, source, report)
    if block is None:
        return CatalogInfo()
    if not isinstance(block, dict):
        report.error("the catalog block must be a mapping", source.file,
                     source.line(getattr(block, "line", None)))
        return CatalogInfo()
    values: dict[str, str | None] = {}
    for key, raw in block.items():
        line = source.line(block.line_of(key))
        if key not in _KEYS:
            report.warn(f"unknown catalog key {quoted(key)}", source.file, line)
        elif key not in ("questions", "labels", "output"):
            try:
                values[key] = raw_text(raw) if raw is not None else None
            except ValueError:
                report.error(f"catalog {key} must be a single value", source.file, line)
    labels = block.get("labels") or {}
    if not isinstance(labels, dict):
        report.error("catalog labels must be a mapping", source.file,
                     source.line(block.line_of("labels")))
        labels = {}
    return CatalogInfo(
        questions=parse_questions(block.get("questions"), source, report),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
        **values,  # type: ignore[arg-type]
    )
