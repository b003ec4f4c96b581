"""Rancher 1.6 catalog folders: entries and their versions, read lazily.

A catalog is a folder holding `templates/` and any `X-templates/` folders
(entries of the latter get the id `X/entry`, as Rancher's `X*entry`). Each
entry folder has `config.yml`, `catalogIcon-*`, `README.md` and version
folders (`0/`, `1/`…) with `docker-compose.yml[.tpl]` and
`rancher-compose.yml[.tpl]`. Listing reads only `config.yml` files; a version's
rancher-compose.yml is read when its questions or version string are needed.
A broken entry records problems and never stops the others from loading.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from corral.catalog.bounded import is_inside, read_text
from corral.catalog.compose.catalog_block import CatalogInfo, parse_catalog_block
from corral.catalog.compose.values import raw_text
from corral.catalog.errors import CatalogError, YamlError
from corral.catalog.excerpt import quoted
from corral.catalog.gotemplate.execute import render_template
from corral.catalog.problems import Problem, Report, Source
from corral.catalog.yamlsource import duplicate_warning, load_text

_CONFIG_KEYS = {"name", "description", "version", "category", "maintainer", "license",
                "projectURL", "labels", "isSystem", "upgradeFrom", "categories"}
COMPOSE_NAMES = ("docker-compose.yml.tpl", "docker-compose.yml")
#: Catalog folders whose entries are not Cattle stacks, and what they are
#: (Rancher's catalog layout: `X-templates/` for orchestrator X; the
#: environment templates of `project-templates/` hold a `project.yml`).
OTHER_KINDS = {
    "project": "environment template (a Rancher environment's orchestrator and services)",
    "kubernetes": "Kubernetes template (another orchestrator's)",
    "swarm": "Swarm template (another orchestrator's)",
    "mesos": "Mesos template (another orchestrator's)",
    "machine": "machine driver template (Rancher's host provisioning)",
}
RANCHER_NAMES = ("rancher-compose.yml.tpl", "rancher-compose.yml")


def _first(folder: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    return None


def _read(path: Path | None, root: Path | None) -> str | None:
    """A README's text; a README that cannot be shown says why instead, in one line."""
    if path is None:
        return None
    try:
        return read_text(path, root=root)
    except CatalogError as exc:
        return f"({exc})"


@dataclass
class Version:
    """One version folder of an entry.

    Attributes:
        entry_id: The id of the entry it belongs to.
        folder: The version folder.
        revision: The folder name (`0`, `1`…).
        compose_file: `docker-compose.yml.tpl` or `docker-compose.yml`, if present.
        rancher_file: `rancher-compose.yml.tpl` or `rancher-compose.yml`, if present.
        readme_file: The version's README.md, if present.
        root: The catalog folder: no file read for this version may lie
            outside it (symlinks are followed, then checked); None reads
            anywhere (a compose file named on the command line).
        kind: `stack`, or a key of `OTHER_KINDS` (an environment or another
            orchestrator's template: listed, never rendered).
        standalone: A compose file named on the command line rather than a
            catalog version: like `docker compose`, its `.env` and the
            process environment interpolate it, and `COMPOSE_PROFILES` counts.
    """

    entry_id: str
    folder: Path
    revision: str
    compose_file: Path | None = None
    rancher_file: Path | None = None
    readme_file: Path | None = None
    root: Path | None = None
    kind: str = "stack"
    standalone: bool = False

    @cached_property
    def _loaded(self) -> tuple[CatalogInfo, list[Problem], object]:
        report = Report()
        document: object = None
        source = Source(str(self.rancher_file or self.folder))
        if self.rancher_file is not None:
            try:
                content = read_text(self.rancher_file, root=self.root)
                if self.rancher_file.suffix == ".tpl":
                    # The catalog block is read before any answer exists.
                    rendered = render_template(content, values={}, stack={"Name": "",
                                               "Version": ""}, name=source.file)
                    source = Source(source.file, rendered.line_map)
                    content = rendered.text
                duplicates: list = []
                document = load_text(content, source=source.file, duplicates=duplicates)
                for key, first, line in duplicates:
                    report.warn(duplicate_warning(key, source.line(first), source.line(line)),
                                source.file, source.line(line))
            except (OSError, UnicodeDecodeError) as exc:
                report.error(f"cannot read: {exc}", source.file)
            except YamlError as exc:  # its line is one of the rendered text
                report.error(exc.message, exc.file, source.line(exc.line))
            except CatalogError as exc:
                report.catch(exc)
        info = parse_catalog_block(document, source, report)
        if self.kind != "stack":
            pass  # not a Cattle stack: nothing more to expect of it
        elif self.compose_file is None:
            report.error("no docker-compose.yml or docker-compose.yml.tpl",
                         str(self.folder))
        elif info.version is None and self.rancher_file is not None:
            report.warn("the catalog block has no version; using the folder name",
                        str(self.rancher_file))
        return info, report.problems, document

    @property
    def info(self) -> CatalogInfo:
        """The catalog block (questions, version…); read on first use."""
        return self._loaded[0]

    @property
    def problems(self) -> list[Problem]:
        """Problems found reading the version's catalog block."""
        return self._loaded[1]

    @property
    def version(self) -> str:
        """The version string (`catalog: version:`), else the folder name."""
        return self.info.version or self.revision

    def readme(self) -> str | None:
        """The version's README text, if any."""
        return _read(self.readme_file, self.root)

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        info = self.info
        return {
            "folder": self.revision,
            "version": self.version,
            "name": info.name,
            "description": info.description,
            "minimum_rancher_version": info.minimum_rancher_version,
            "maximum_rancher_version": info.maximum_rancher_version,
            "upgrade_from": info.upgrade_from,
            "questions": [_question_dict(q) for q in info.questions],
        }


def _question_dict(question) -> dict:
    return {
        "variable": question.variable, "label": question.label, "type": question.type,
        "description": question.description, "required": question.required,
        "default": "********" if question.secret and question.default else question.default,
        "group": question.group, "options": list(question.options), "min": question.min,
        "max": question.max, "min_length": question.min_length,
        "max_length": question.max_length, "valid_chars": question.valid_chars,
        "invalid_chars": question.invalid_chars,
    }


@dataclass
class Entry:
    """A catalog entry (a Rancher "template").

    Attributes:
        id: The folder name, prefixed `X/` for entries of `X-templates/`.
        catalog: The name of the catalog it comes from.
        folder: The entry folder.
        name, description, version, category, maintainer, license, project_url:
            From config.yml (`version` is the default version string).
        labels: config.yml labels.
        icon: The `catalogIcon-*` file, if any.
        readme_file: The entry README.md, if any.
        versions: Version folders, numeric names first in numeric order.
        problems: Problems found in config.yml and in choosing the default version.
        root: The catalog folder no file of the entry may lead out of.
        kind: `stack`, or a key of `OTHER_KINDS`.
    """

    id: str
    catalog: str
    folder: Path
    name: str
    description: str = ""
    version: str | None = None
    category: str | None = None
    maintainer: str | None = None
    license: str | None = None
    project_url: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    icon: Path | None = None
    readme_file: Path | None = None
    versions: tuple[Version, ...] = ()
    problems: list[Problem] = field(default_factory=list)
    root: Path | None = None
    kind: str = "stack"

    @property
    def category_label(self) -> str:
        """The category a listing shows: what the entry is, when not a Cattle stack."""
        return OTHER_KINDS.get(self.kind, self.category or "")

    def readme(self) -> str | None:
        """The entry README text, if any."""
        return _read(self.readme_file, self.root)

    @cached_property
    def default_version(self) -> Version | None:
        """The version whose `version` equals config.yml's, not the highest folder.

        Without a match, the highest folder, with a warning in `problems`.
        """
        if not self.versions:
            return None
        config_file = str(self.folder / "config.yml")
        matches = [v for v in self.versions if self.version and v.version == self.version]
        if len(matches) > 1:
            self.problems.append(Problem(
                f"versions {', '.join(v.revision for v in matches)} all say {self.version};"
                f" using {matches[-1].revision}", config_file, None, "warning"))
        if matches:
            return matches[-1]
        if self.version:
            self.problems.append(Problem(
                f"no version folder has version {self.version}; using the highest folder",
                config_file, None, "warning"))
        return self.versions[-1]

    def find_version(self, wanted: str | None) -> Version:
        """The version with this version string or folder name; None means the default.

        Raises:
            CatalogError: No such version, or the entry has no versions.
        """
        if wanted is None:
            version = self.default_version
            if version is None:
                raise CatalogError(f"entry {self.id} has no versions", file=self.folder)
            return version
        for version in reversed(self.versions):
            if version.version == wanted:
                return version
        for version in self.versions:
            if version.revision == wanted:
                return version
        known = ", ".join(f"{v.version} ({v.revision})" for v in self.versions) or "none"
        raise CatalogError(f"entry {self.id} has no version {wanted}; versions: {known}")

    def to_dict(self) -> dict:
        """Summary data for `list --json`."""
        return {
            "id": self.id, "catalog": self.catalog, "name": self.name,
            "category": self.category, "version": self.version,
            "description": self.description, "maintainer": self.maintainer,
            "license": self.license, "project_url": self.project_url,
            "labels": dict(self.labels), "folder": str(self.folder),
            "versions": [v.revision for v in self.versions],
            "kind": self.kind,
        }


def load_entry(folder: Path, entry_id: str, catalog: str, root: Path | None = None,
               kind: str = "stack") -> Entry:
    """Read one entry folder: config.yml now, versions lazily. Never raises.

    Args:
        folder: The entry folder.
        entry_id: Its id.
        catalog: The catalog's name.
        root: The catalog folder: files and folders that lead outside it are refused.
    """
    report = Report()
    config_path = folder / "config.yml"
    config: dict = {}
    if root is not None and not is_inside(folder, root):
        report.error(f"refused: the entry folder leads outside the catalog folder {root}",
                     folder)
        return Entry(id=entry_id, catalog=catalog, folder=folder, name=folder.name,
                     problems=report.problems, root=root)
    if config_path.is_file():
        try:
            duplicates: list = []
            document = load_text(read_text(config_path, root=root, error=YamlError),
                                 source=config_path, duplicates=duplicates)
            for key, first, line in duplicates:
                report.warn(duplicate_warning(key, first, line), config_path, line)
            if isinstance(document, dict):
                config = document
            elif document is not None:
                report.error("config.yml must be a mapping", config_path, 1)
        except CatalogError as exc:
            report.catch(exc)
    else:
        report.error("no config.yml", config_path)
    values: dict[str, object] = {}
    for key, raw in config.items():
        line = config.line_of(key)
        if key not in _CONFIG_KEYS:
            report.warn(f"unknown config.yml key {quoted(key)}", config_path, line)
        elif key == "labels":
            if isinstance(raw, dict):
                values[key] = {str(k): str(v) for k, v in sorted(raw.items())}
            else:
                report.error("labels must be a mapping", config_path, line)
        elif raw is not None and key != "categories":
            try:
                values[key] = raw_text(raw)
            except ValueError:
                report.error(f"{key} must be a single value", config_path, line)
    try:
        icon = next((p for p in sorted(folder.iterdir()) if p.name.startswith("catalogIcon")),
                    None)
        versions = _versions(folder, entry_id, report, root, kind)
    except OSError as exc:
        report.error(f"cannot read the entry folder: {exc.strerror or exc}", folder)
        icon, versions = None, ()
    return Entry(
        id=entry_id, catalog=catalog, folder=folder,
        name=str(values.get("name") or folder.name),
        description=str(values.get("description") or ""),
        version=values.get("version"),  # type: ignore[arg-type]
        category=values.get("category"),  # type: ignore[arg-type]
        maintainer=values.get("maintainer"),  # type: ignore[arg-type]
        license=values.get("license"),  # type: ignore[arg-type]
        project_url=values.get("projectURL"),  # type: ignore[arg-type]
        labels=values.get("labels") or {},  # type: ignore[arg-type]
        icon=icon,
        readme_file=_first(folder, ("README.md", "readme.md")),
        versions=versions,
        problems=report.problems,
        root=root,
        kind=kind,
    )


def _versions(folder: Path, entry_id: str, report: Report, root: Path | None,
              kind: str = "stack") -> tuple[Version, ...]:
    versions = []
    for child in sorted(folder.iterdir()):
        if not child.is_dir() or child.name.startswith("."):
            continue
        if root is not None and not is_inside(child, root):
            report.error("refused: the version folder leads outside the catalog folder"
                         f" {root}", child)
            continue
        compose = _first(child, COMPOSE_NAMES)
        rancher_file = _first(child, RANCHER_NAMES)
        if kind != "stack" and any(child.iterdir()):
            versions.append(Version(entry_id, child, child.name, compose, rancher_file,
                                    _first(child, ("README.md", "readme.md")), root, kind))
            continue
        if compose is None and rancher_file is None:
            if child.name.isdigit():
                report.warn(f"version folder {child.name} has no compose files", child)
            continue
        versions.append(Version(entry_id, child, child.name, compose, rancher_file,
                                _first(child, ("README.md", "readme.md")), root))
    versions.sort(key=lambda v: (0, int(v.revision), "") if v.revision.isdigit()
                  else (1, 0, v.revision))
    return tuple(versions)


@dataclass
class Catalog:
    """A catalog folder: its entries sorted by id, and problems of the folder itself."""

    name: str
    root: Path
    entries: list[Entry] = field(default_factory=list)


def load_catalog(root: str | Path, name: str | None = None) -> Catalog:
    """Find every entry of a catalog folder.

    Args:
        root: The folder holding `templates/` and/or `X-templates/`.
        name: The catalog name shown with its entries (default: the folder name).

    Returns:
        The catalog; entries that fail to load carry their problems.

    Raises:
        CatalogError: The folder does not exist or holds no templates folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise CatalogError("catalog folder not found", file=root)
    try:
        return _scan(root, name or root.name)
    except OSError as exc:
        raise CatalogError(f"cannot read catalog: {exc.strerror or exc}", file=root) from None


def _scan(root: Path, name: str) -> Catalog:
    entries = []
    bases = []
    for child in sorted(root.iterdir()):
        if not child.is_dir():
            continue
        if child.name == "templates" or (child.name.endswith("-templates")
                                         and child.name.count("-") == 1):
            if not is_inside(child, root):
                raise CatalogError(f"refused: {child.name}/ leads outside the catalog folder",
                                   file=root)
            bases.append((child, child.name.split("-")[0] if child.name != "templates" else ""))
    if not bases:
        raise CatalogError("no templates/ or *-templates/ folder in catalog", file=root)
    for folder, base in bases:
        for child in sorted(folder.iterdir()):
            if child.is_dir() and not child.name.startswith("."):
                entry_id = f"{base}/{child.name}" if base else child.name
                entries.append(load_entry(child, entry_id, name, root,
                                          base if base in OTHER_KINDS else "stack"))
    entries.sort(key=lambda e: e.id)
    return Catalog(name, root, entries)


def builtin_root() -> Path:
    """The folder of the catalog shipped with Corral."""
    return Path(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class CatalogSet:
    """Several catalogs searched together; earlier catalogs win on equal ids."""

    catalogs: list[Catalog]

    @property
    def entries(self) -> list[Entry]:
        """Every entry, sorted by id, then by catalog order."""
        order = {id(c): i for i, c in enumerate(self.catalogs)}
        indexed = [(e, order[id(c)]) for c in self.catalogs for e in c.entries]
        return [e for e, _ in sorted(indexed, key=lambda pair: (pair[0].id, pair[1]))]

    def find(self, reference: str) -> Entry:
        """The entry `id` or `catalog:id`.

        Raises:
            CatalogError: No entry matches.
        """
        catalog_name, sep, entry_id = reference.rpartition(":")
        for catalog in self.catalogs:
            if sep and catalog.name != catalog_name:
                continue
            for entry in catalog.entries:
                if entry.id == entry_id:
                    return entry
        raise CatalogError(f"no catalog entry {quoted(reference)}")


def load_catalogs(paths: list[str | Path] | None = None, *, builtin: bool = True) -> CatalogSet:
    """The catalogs given on the command line (first), then the built-in one.

    Raises:
        CatalogError: A given folder is missing or is not a catalog.
    """
    catalogs = [load_catalog(p) for p in paths or []]
    if builtin:
        catalogs.append(load_catalog(builtin_root(), "builtin"))
    return CatalogSet(catalogs)
