"""Top-level `secrets:` and `configs:` of the Compose Specification, and the
services' uses of them.

Each definition names where its content comes from: `file:` (a file on
this machine, beside the compose file or absolute), `environment:` (a
variable of the interpolation environment: `.env`, the process, `--set`) or
`content:` (inline). `attach()` gives each service's `FileRef` its source
path or content; the deploy ships it like a relative bind and bind-mounts it
read-only (`backends/deploy/files.py`). `external: true` names a Swarm object,
which standalone containers cannot use: an error at the definition's line
for each service that uses it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from corral.catalog.compose import values as cv
from corral.catalog.compose.local_files import local_path
from corral.catalog.excerpt import quoted
from corral.catalog.problems import Report, Source
from corral.catalog.spec import Service

_KEYS = {"file", "environment", "external", "name", "content", "labels", "template_driver",
         "driver", "driver_opts"}
#: Keys of a definition that only a Swarm object uses: a warning each.
_SWARM_KEYS = {"name", "labels", "template_driver", "driver", "driver_opts"}


@dataclass(frozen=True)
class FileDef:
    """One top-level secret or config.

    Attributes:
        kind: `secret` or `config`.
        name: Its name.
        line: Its line in the compose file.
        origin: `file ./x`, `environment X`, `content` or `external`.
        source: For `file:`, the absolute path here.
        data: For `environment:` / `content:`, the content (never shown).
        problem: Why it cannot be delivered (the file is missing…), or None.
    """

    kind: str
    name: str
    line: int | None
    origin: str
    source: str | None = None
    data: str | None = field(default=None, repr=False)
    problem: str | None = None


def read_defs(document: dict, key: str, source: Source, report: Report, base: Path | None,
              env: Mapping[str, str]) -> dict[str, FileDef]:
    """The definitions under top-level `key` (`secrets` or `configs`), by name.

    Malformed ones are errors (reported, left out); keys only a Swarm object
    uses are warnings. A definition whose content cannot be had (missing file,
    unset variable, external) carries its `problem`, reported where it is used.
    """
    section = document.get(key) or {}
    line = source.line(document.line_of(key)) if hasattr(document, "line_of") else None
    if not isinstance(section, dict):
        report.error(f"{key} must be a mapping", source.file, line)
        return {}
    kind = key[:-1]
    result = {}
    for name, config in section.items():
        item_line = source.line(section.line_of(name)) if hasattr(section, "line_of") else line
        where = f"{key} {name}"
        if not isinstance(config, dict):
            report.error(f"{where} must be a mapping", source.file, item_line)
            continue
        for item in config:
            if item not in _KEYS:
                report.warn(f"{where}: unknown key {quoted(item)}", source.file, item_line)
            elif item in _SWARM_KEYS:
                report.warn(f"{where}: {item} is a Swarm object's setting; ignored (the"
                            f" {kind} is delivered as a file)", source.file, item_line)
        try:
            result[str(name)] = _definition(kind, str(name), config, item_line, base, env)
        except ValueError as exc:
            report.error(f"{where}: {exc}", source.file, item_line)
    return result


def _definition(kind: str, name: str, config: dict, line: int | None, base: Path | None,
                env: Mapping[str, str]) -> FileDef:
    external = config.get("external")
    if isinstance(external, dict) or (external is not None and cv.boolean(external)):
        return FileDef(kind, name, line, "external",
                       problem=f"external: true names a Swarm {kind} object; standalone"
                       f" containers cannot use it (it needs the Swarm engine): give it file:"
                       f" or environment:")
    given = [k for k in ("file", "environment", "content") if config.get(k) is not None]
    if not given:
        raise ValueError("needs file, environment, content or external")
    if len(given) > 1:
        raise ValueError(f"give one of {', '.join(given)}")
    if given[0] == "environment":
        variable = cv.text(config["environment"])
        if variable not in env:
            return FileDef(kind, name, line, f"environment {variable}",
                           problem=f"environment variable {variable} is not set")
        return FileDef(kind, name, line, f"environment {variable}", data=env[variable])
    if given[0] == "content":
        return FileDef(kind, name, line, "content", data=cv.text(config["content"]))
    written = cv.text(config["file"])
    try:
        path = _file_path(written, base)
    except ValueError as exc:
        return FileDef(kind, name, line, f"file {written}", problem=f"file: {written}: {exc}")
    return FileDef(kind, name, line, f"file {written}", source=path)


def _file_path(written: str, base: Path | None) -> str:
    """The absolute path of a `file:` here: beside the compose file, or absolute.

    Raises:
        ValueError: It cannot be shipped (one line).
    """
    if os.path.isabs(written):
        path = os.path.normpath(written)
        if not os.path.exists(path):
            raise ValueError(f"{path} does not exist")
    else:
        path = local_path(written, base)
    if not os.path.isfile(path):
        raise ValueError(f"{path} is not a regular file; Corral delivers each secret and"
                         " config as one file")
    return path


def attach(services: dict[str, Service], defs: dict[str, dict[str, FileDef]],
           services_doc: dict, source: Source, report: Report) -> None:
    """Give each service's secrets and configs their content (`services` is updated).

    A use of an undefined name is an error at the service's `secrets:` /
    `configs:` line; of a definition that cannot be delivered, at the
    definition's line, naming the service.
    """
    for name, service in sorted(services.items()):
        refs = []
        config = services_doc.get(name)
        for ref in service.files:
            found = defs.get(ref.kind + "s", {}).get(ref.name)
            if found is None:
                key = ref.kind + "s"
                line = source.line(config.line_of(key)) if hasattr(config, "line_of") \
                    and key in config else None
                report.error(f"service {name}: {ref.kind}s: {ref.name} is not defined under"
                             f" the top-level {ref.kind}s:", source.file, line)
                continue
            if found.problem is not None:
                report.error(f"{ref.kind}s {ref.name} (used by service {name}):"
                             f" {found.problem}", source.file, found.line)
                continue
            refs.append(dataclasses.replace(ref, origin=found.origin, source=found.source,
                                            data=found.data))
        if service.files:
            services[name] = dataclasses.replace(service, files=tuple(refs))
