"""docker-compose v1 / v2 plus rancher-compose.yml into a Stack.

Version 1 files have services at the top level; version 2 files (`version:
'2'`, as Rancher 1.6 read them) have `services`, `volumes` and `networks`.
rancher-compose.yml follows either shape around its `catalog` block. After
each service is built, references between services (sidekicks, links,
depends_on, volumes_from) are checked and sidekicks learn their primary.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path

from corral.catalog.compose import lb as lbs
from corral.catalog.compose import rancher
from corral.catalog.compose import values as cv
from corral.catalog.compose.addressing import check_addresses, read_ipam
from corral.catalog.compose.file_defs import attach, read_defs
from corral.catalog.compose.local_files import built_image
from corral.catalog.compose.service import build_service
from corral.catalog.compose.sidekicks import link_sidekicks
from corral.catalog.excerpt import quoted
from corral.catalog.interpolate import expand_macros
from corral.catalog.problems import Report, Source
from corral.catalog.spec import Network, Service, Volume

_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_V2_TOP = {"version", "services", "volumes", "networks"}
# The Compose Specification's top level (besides `x-*` extension fields).
_SPEC_TOP = _V2_TOP | {"name", "secrets", "configs", "include"}
V1, V2, SPEC = "1", "2", "spec"


def compose_format(document: object) -> str | None:
    """`1`, `2` or `spec` (the Compose Specification), or None for a bad `version:`.

    No `version:` is read as the Compose Specification when the file has a
    `services:` mapping (what `docker compose` reads today), else as version 1
    (services at the top level, as Rancher 1.6 catalogs wrote them).
    """
    if not isinstance(document, dict):
        return V1
    version = document.get("version")
    if version is None:
        services = document.get("services")
        if isinstance(services, dict) and "image" not in services and all(
                key in _SPEC_TOP or str(key).startswith("x-") for key in document):
            return SPEC
        return V1
    text = str(version)
    if text.startswith("2"):
        return V2
    if text.startswith("3"):
        return SPEC
    return None
_VOLUME_KEYS = {"driver", "driver_opts", "external", "per_container"}
_NETWORK_KEYS = {"driver", "driver_opts", "external", "ipam", "internal", "enable_ipv6"}
# Valid keys of a volume or network that Corral does not carry out (yet): a warning each.
_NOT_CARRIED = {"ipam", "internal", "enable_ipv6", "attachable", "labels", "name"}
CATALOG_KEYS = ("catalog", ".catalog")


def compose_services(document: object, source: Source, report: Report) -> tuple[dict, str,
                                                                                   dict, dict]:
    """Split a docker-compose document into (services, format, volumes, networks).

    Problems (wrong version, non-mapping sections, unknown top-level keys) go to `report`.
    """
    if document is None:
        return {}, V1, {}, {}
    if not isinstance(document, dict):
        report.error("a compose file must be a mapping", source.file, source.line(1))
        return {}, V1, {}, {}
    fmt = compose_format(document)
    if fmt == V1:
        return document, V1, {}, {}
    if fmt is None:
        version = document.get("version")
        report.error(f"compose file version {quoted(version)} is not supported (version 1, 2,"
                     " 3.x, or no version: for the Compose Specification)", source.file,
                     source.line(document.line_of("version")))
        return {}, V2, {}, {}
    for key in document:
        line = source.line(document.line_of(key))
        if fmt == SPEC and (key in _SPEC_TOP or str(key).startswith("x-")):
            if key in ("secrets", "configs"):
                pass  # read by `file_defs.read_defs` once the services are built
            elif key == "name":
                report.warn("name: is not used; the stack is named by --stack", source.file,
                            line)
            elif key == "include":
                report.warn("include: other compose files are not read; list their services"
                            " here", source.file, line)
            elif key == "version" and not str(document[key]).startswith("3"):
                report.warn("version: is obsolete; read as the Compose Specification",
                            source.file, line)
        elif key not in _V2_TOP:
            if key == "secrets":
                report.unsupported("secrets use Rancher's secrets service", source.file, line)
            else:
                report.warn(f"unknown top-level key {quoted(key)}", source.file, line)
    sections = []
    for key in ("services", "volumes", "networks"):
        section = document.get(key) or {}
        if not isinstance(section, dict):
            report.error(f"{key} must be a mapping", source.file,
                         source.line(document.line_of(key)))
            section = {}
        sections.append(section)
    return sections[0], fmt, sections[1], sections[2]


def rancher_services(document: object, source: Source, report: Report) -> dict:
    """The per-service mappings of a rancher-compose document (catalog block excluded)."""
    if not isinstance(document, dict):
        return {}
    if str(document.get("version", "")).startswith("2"):
        services = document.get("services") or {}
        for key in document:
            if key not in ("version", "services", *CATALOG_KEYS):
                report.warn(f"unknown top-level key {quoted(key)}", source.file,
                            source.line(document.line_of(key)))
        if not isinstance(services, dict):
            report.error("services must be a mapping", source.file,
                         source.line(document.line_of("services")))
            return {}
    else:
        services = document
    return {k: v for k, v in services.items() if k not in (*CATALOG_KEYS, "version")}


def build_services(
    compose_doc: object,
    rancher_doc: object,
    *,
    sources: tuple[Source, Source | None],
    stack_name: str,
    report: Report,
    base: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[tuple[Service, ...], tuple[Volume, ...], tuple[Network, ...]]:
    """Build the services, volumes and networks of a stack.

    Args:
        compose_doc: The interpolated docker-compose document.
        rancher_doc: The interpolated rancher-compose document, or None.
        sources: Both files, for problem locations.
        stack_name: Replaces `${stack_name}` in every service.
        report: Collects every problem.
        base: The compose file's folder, where relative bind mounts point.
        env: The variables that interpolated the file (`environment:`
            secrets and configs read theirs from it).

    Returns:
        Services, volumes and networks, each sorted by name.
    """
    compose_src, rancher_src = sources
    services_doc, fmt, volumes_doc, networks_doc = compose_services(compose_doc, compose_src,
                                                                    report)
    v2 = fmt != V1
    known = frozenset(str(n) for n in services_doc)
    rancher_doc_services = rancher_services(rancher_doc, rancher_src, report) if rancher_src \
        else {}
    services: dict[str, Service] = {}
    for name in sorted(services_doc, key=str):
        config = services_doc[name]
        line = compose_src.line(services_doc.line_of(name)) if hasattr(services_doc, "line_of") \
            else None
        if not isinstance(config, dict):
            report.error(f"service {quoted(name)} must be a mapping", compose_src.file, line)
            continue
        if not isinstance(name, str) or not _SERVICE_NAME.fullmatch(name):
            report.error(f"invalid service name {quoted(name)}", compose_src.file, line)
            continue
        rancher_config = rancher_doc_services.get(name)
        if rancher_config is not None and not isinstance(rancher_config, dict):
            report.error(f"service {quoted(name)} must be a mapping",
                         rancher_src and rancher_src.file)
            rancher_config = None
        services[name] = build_service(
            name,
            expand_macros(config, stack_name, name),  # type: ignore[arg-type]
            expand_macros(rancher_config, stack_name, name) if rancher_config else None,  # type: ignore[arg-type]
            sources=sources,
            v2=v2,
            report=report,
            spec=fmt == SPEC,
            known=known,
            base=base,
        )
        if services[name].build and not services[name].image:
            services[name] = dataclasses.replace(services[name],
                                                 image=built_image(stack_name, name))
    for name in rancher_doc_services:
        if name not in services_doc and rancher_src:
            report.warn(f"service {name} is in rancher-compose.yml but not docker-compose.yml",
                        rancher_src.file, rancher_src.line(rancher_doc_services[name].line
                                                           if hasattr(rancher_doc_services[name],
                                                                      "line") else None))
    if fmt == SPEC:
        defs = {key: read_defs(compose_doc, key, compose_src, report, base, env or {})  # type: ignore[arg-type]
                for key in ("secrets", "configs")}
        attach(services, defs, services_doc, compose_src, report)
    link_sidekicks(services, compose_src, report)
    _check_references(services, compose_src, report)
    lbs.check_targets(services, stack_name, sources, report)
    volumes = _volumes(volumes_doc, services, v2, compose_src, report)
    networks = _networks(networks_doc, compose_src, report)
    check_addresses(services, networks, services_doc, compose_src, report)
    return tuple(services[n] for n in sorted(services)), volumes, networks


def _check_references(services: dict[str, Service], source: Source, report: Report) -> None:
    for name, service in sorted(services.items()):
        wanted = [("links", link.target) for link in service.links]
        wanted += [("depends_on", target) for target in service.depends_on]
        wanted += [("volumes_from", item.source) for item in service.volumes_from
                   if item.kind == "service"]
        mode = service.network_mode or ""
        if mode.startswith("service:"):
            wanted.append(("network_mode", mode.split(":", 1)[1]))
        for key, target in wanted:
            if target not in services:
                report.error(f"service {name}: {key}: {target} is not a service of this stack",
                             source.file)
        if service.scheduling.is_global and service.sidekick_of is None and service.scale != 1:
            report.warn(f"service {name} is global; its scale {service.scale} is ignored",
                        source.file)


def _volumes(document: dict, services: dict[str, Service], v2: bool, source: Source,
             report: Report) -> tuple[Volume, ...]:
    volumes: dict[str, Volume] = {}
    for name, config, line in _section(document, "volume", _VOLUME_KEYS, source, report):
        try:
            fields = _driver_fields(config)
            if config.get("per_container") is not None:
                fields["per_container"] = cv.boolean(config["per_container"])
        except ValueError as exc:
            report.error(f"volume {name}: {exc}", source.file, line)
            continue
        volumes[str(name)] = Volume(str(name), **fields)
        if rancher.UNSUPPORTED_DRIVER.fullmatch(fields["driver"] or ""):
            report.unsupported(f"volume {name} uses {fields['driver']}, a Rancher storage driver",
                               source.file, line)
    for service in services.values():
        for mount in service.volumes:
            if mount.kind != "named" or mount.source in volumes:
                continue
            if v2:
                report.warn(f"service {service.name}: volume {mount.source} is not declared"
                            " under volumes:", source.file)
            driver = service.extra.get("volume_driver")
            volumes[mount.source] = Volume(  # type: ignore[index]
                mount.source, driver=driver if isinstance(driver, str) else None,  # type: ignore[arg-type]
                declared=False)
    return tuple(volumes[n] for n in sorted(volumes))


def _section(document: dict, kind: str, known: set[str], source: Source,
             report: Report) -> list[tuple[str, dict, int | None]]:
    """The (name, config, line) items of a v2 `volumes` / `networks` section, sorted.

    Non-mapping items are errors and skipped; unknown keys are warnings.
    """
    items = []
    for name in sorted(document, key=str):
        line = source.line(document.line_of(name)) if hasattr(document, "line_of") else None
        config = document[name] or {}
        if not isinstance(config, dict):
            report.error(f"{kind} {name} must be a mapping", source.file, line)
            continue
        for key in config:
            if key in _NOT_CARRIED and key not in known:
                report.warn(f"{kind} {name}: {key} is not carried out", source.file,
                            source.line(config.line_of(key)) if hasattr(config, "line_of")
                            else line)
            elif key not in known:
                report.warn(f"{kind} {name}: unknown key {quoted(key)}", source.file, line)
        items.append((str(name), config, line))
    return items


def _driver_fields(config: dict) -> dict:
    """driver, driver_opts and external (bool or {name}) of a volume or network."""
    external = config.get("external", False)
    external_name = None
    if isinstance(external, dict):
        external_name = cv.text(external.get("name")) if external.get("name") else None
        external = True
    else:
        external = cv.boolean(external)
    options = config.get("driver_opts") or {}
    if not isinstance(options, dict):
        raise ValueError("driver_opts must be a mapping")
    return {
        "driver": cv.text(config["driver"]) if config.get("driver") else None,
        "driver_opts": {str(k): cv.text(v) for k, v in sorted(options.items())},
        "external": external,
        "external_name": external_name,
    }


def _networks(document: dict, source: Source, report: Report) -> tuple[Network, ...]:
    networks = []
    for name, config, line in _section(document, "network", _NETWORK_KEYS, source, report):
        try:
            fields = _driver_fields(config)
            if config.get("ipam") is not None:
                fields["ipam"] = read_ipam(config["ipam"], f"network {name}", source, line,
                                           report)
            for key in ("internal", "enable_ipv6"):
                if config.get(key) is not None:
                    fields[key] = cv.boolean(config[key])
            networks.append(Network(str(name), **fields))
        except ValueError as exc:
            report.error(f"network {name}: {exc}", source.file, line)
    return tuple(networks)
