"""Which catalog folders Corral reads: `--catalog`, the config file's, the built-in one.

Folders given with `--catalog` come first (earlier catalogs win on equal entry
ids), then the `catalogs:` of the configuration file, then the catalog shipped
with Corral. A folder named on the command line that cannot be read is an
error; one listed in the configuration file is only a warning, so a stale
line there never hides every other catalog. Commands read the configuration
file through `command_catalogs`; the console, which has read it already, calls
`load_sources` itself. Nothing here imports a UI library.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from corral.catalog.errors import CatalogError
from corral.catalog.loader import Catalog, CatalogSet, builtin_root, load_catalog
from corral.tui.config import load_config


def load_sources(
    explicit: Iterable[str] = (),
    configured: Iterable[str] = (),
    *,
    builtin: bool = True,
) -> tuple[CatalogSet, list[str]]:
    """Load every catalog folder, skipping any folder named twice.

    Args:
        explicit: `--catalog` folders, in order.
        configured: The configuration file's `catalogs:` (`~` is expanded).
        builtin: Add the built-in catalog last.

    Returns:
        The catalogs, and one warning per configured folder that could not be read.

    Raises:
        CatalogError: An explicit folder is missing or is not a catalog.
    """
    catalogs: list[Catalog] = []
    warnings: list[str] = []
    seen: set[Path] = set()

    def fresh(path: Path) -> bool:
        key = path.resolve()
        if key in seen:
            return False
        seen.add(key)
        return True

    for folder in explicit:
        path = Path(folder).expanduser()
        if fresh(path):
            catalogs.append(load_catalog(path))
    for folder in configured:
        path = Path(folder).expanduser()
        if not fresh(path):
            continue
        try:
            catalogs.append(load_catalog(path))
        except CatalogError as exc:
            warnings.append(f"catalog folder from the configuration file: {exc}")
    if builtin and fresh(builtin_root()):
        catalogs.append(load_catalog(builtin_root(), "builtin"))
    return CatalogSet(catalogs), warnings


def command_catalogs(
    explicit: Iterable[str],
    config: str | os.PathLike[str] | None,
    warn: Callable[[str], None],
) -> CatalogSet:
    """The catalogs a command reads: `--catalog`, the configuration's, the built-in one.

    Args:
        explicit: `--catalog` folders, in order.
        config: The `--config` file, or None for `$CORRAL_CONFIG` or the user's file.
        warn: Called once per configured folder that could not be read.

    Returns:
        The catalogs, as `load_sources` orders them.

    Raises:
        CatalogError: An explicit folder is missing or is not a catalog.
        ConfigError: The configuration file is wrong.
    """
    configured = load_config(config).catalogs
    catalogs, warnings = load_sources(explicit, configured)
    for warning in warnings:
        warn(warning)
    return catalogs
