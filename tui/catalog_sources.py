"""Which catalog folders Corral reads: `--catalog`, the config file's, the built-in one.

Folders given with `--catalog` come first (earlier catalogs win on equal entry
ids), then the `catalogs:` of the configuration file, then the catalog shipped
with Corral. A folder named on the command line that cannot be read is an
error; one listed in the configuration file is only a warning, so a stale
line there never hides every other catalog. Commands read the configuration
file through `command_catalogs`; the console, which has read it already, calls
`load_sources` itself. Nothing here imports a UI library.

A bundle file (`corral bundle create`) is a catalog source too
(`open_bundle_catalog`): verified whole first, its entry's few files are
written to a private folder (mode 0700) that lives as long as the caller
holds the bundle open and is removed afterwards, whatever happens; its
images stay in the file and are pushed from it (`BundleSource`). The
catalog loader reads real folders (paths checked against the catalog root,
symlinks refused), so the entry is unpacked rather than read in place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from corral.backends.images import BundleSource, entry_id, extract_entry, verify_bundle
from corral.catalog.errors import CatalogError
from corral.catalog.loader import (
    Catalog,
    CatalogSet,
    Entry,
    Version,
    builtin_root,
    load_catalog,
    load_entry,
)
from corral.tui.config import load_config


def load_sources(
    explicit: Iterable[str] = (),
    configured: Iterable[str] = (),
    *,
    builtin: bool = True,
    bundles: Sequence[Catalog] = (),
) -> tuple[CatalogSet, list[str]]:
    """Load every catalog folder, skipping any folder named twice.

    Args:
        explicit: `--catalog` folders, in order.
        configured: The configuration file's `catalogs:` (`~` is expanded).
        builtin: Add the built-in catalog last.
        bundles: Catalogs of open bundles (`OpenedBundle.catalog`), first: the
            operator brought them for this session.

    Returns:
        The catalogs, and one warning per configured folder that could not be read.

    Raises:
        CatalogError: An explicit folder is missing or is not a catalog.
    """
    catalogs: list[Catalog] = list(bundles)
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


@dataclass
class OpenedBundle:
    """A verified bundle open as a catalog of its one entry.

    Attributes:
        path: The bundle file.
        source: Its images, for a push (`prepare(..., bundle=source)`).
        catalog: A catalog named after the file, holding the entry.
        revision: The version folder bundled.
    """

    path: Path
    source: BundleSource
    catalog: Catalog
    revision: str

    @property
    def entry(self) -> Entry:
        """The bundled entry."""
        return self.catalog.entries[0]

    def version(self, wanted: str | None = None) -> Version:
        """The version `wanted` (version string or folder), by default the one bundled.

        Raises:
            CatalogError: The bundle holds no such version.
        """
        if wanted is None:
            found = next((v for v in self.entry.versions if v.revision == self.revision), None)
            if found is not None:
                return found
        return self.entry.find_version(wanted)

    def holds(self, entry: Entry) -> bool:
        """Whether `entry` is this bundle's (it came from `catalog`)."""
        return entry.catalog == self.catalog.name and entry.root == self.catalog.root


@contextlib.contextmanager
def open_bundle_catalog(path: str | os.PathLike[str]) -> Iterator[OpenedBundle]:
    """Verify a bundle, then hold it open as a catalog source; its private folder goes after.

    Raises:
        BundleError: The file is not a sound bundle: the first bad member is named,
            and nothing was written.
    """
    bundle_path = Path(path)
    verify_bundle(bundle_path)
    source = BundleSource(bundle_path)
    entry = entry_id(source.bundle)
    folder = Path(tempfile.mkdtemp(prefix="corral-bundle-"))  # mode 0700: ours alone
    try:
        base, _, leaf = entry.rpartition("/")
        entry_folder = folder / (f"{base}-templates" if base else "templates") / leaf
        extract_entry(source.bundle, entry_folder)
        name = bundle_path.name
        catalog = Catalog(name, folder, [load_entry(entry_folder, entry, name, folder)])
        yield OpenedBundle(bundle_path, source, catalog,
                           str(source.bundle.entry.get("revision") or ""))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
