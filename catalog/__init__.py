"""Corral catalog layer: Rancher 1.6 catalogs, read offline, rendered to a stack spec.

The usual path: `load_catalogs()` -> `CatalogSet.find(entry)` ->
`Entry.find_version()` -> `resolve_answers(version.info.questions, ...)` ->
`render(version, answers, stack_name=...)` -> `Stack`. `lint_path()` checks a
whole catalog folder. Nothing here imports a UI library or touches the network.
"""

from corral.catalog.answers import Answers, resolve_answers
from corral.catalog.errors import CatalogError, RenderError
from corral.catalog.lint import LintResult, lint_path
from corral.catalog.loader import CatalogSet, Entry, Version, load_catalog, load_catalogs
from corral.catalog.render import render
from corral.catalog.spec import Service, Stack

__all__ = [
    "Answers", "CatalogError", "CatalogSet", "Entry", "LintResult", "RenderError", "Service",
    "Stack", "Version", "lint_path", "load_catalog", "load_catalogs", "render", "resolve_answers",
]
