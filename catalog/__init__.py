"""Corral catalog layer: Rancher 1.6 catalogs, read offline, rendered to a stack spec.

The usual path: `load_catalogs()` -> `CatalogSet.find(entry)` ->
`Entry.find_version()` -> `resolve_answers(version.info.questions, ...)` ->
`corral.catalog.render.render(version, answers, stack_name=...)` -> `Stack` (not
exported here: the submodule `render` would shadow a lazily loaded name). `lint_path()` checks a
whole catalog folder. Nothing here imports a UI library or touches the network.
"""

from typing import TYPE_CHECKING

from corral.catalog.lazy import lazy_names

#: Each public name -> the module defining it. The names load on first use
#: (PEP 562), so importing `corral.catalog.errors` does not parse YAML code:
#: `corral --help` stays light.
_HOMES = {
    "Answers": "answers", "resolve_answers": "answers",
    "CatalogError": "errors", "RenderError": "errors",
    "LintResult": "lint", "lint_path": "lint",
    "CatalogSet": "loader", "Entry": "loader", "Version": "loader",
    "load_catalog": "loader", "load_catalogs": "loader",
    "Service": "spec", "Stack": "spec",
}

if TYPE_CHECKING:
    from corral.catalog.answers import Answers, resolve_answers
    from corral.catalog.errors import CatalogError, RenderError
    from corral.catalog.lint import LintResult, lint_path
    from corral.catalog.loader import CatalogSet, Entry, Version, load_catalog, load_catalogs
    from corral.catalog.spec import Service, Stack

__all__ = [
    "Answers", "CatalogError", "CatalogSet", "Entry", "LintResult", "RenderError", "Service",
    "Stack", "Version", "lint_path", "load_catalog", "load_catalogs", "resolve_answers",
]


__getattr__ = lazy_names(__name__, _HOMES)
