"""What `docker compose` does to a file before reading its services: `.env`,
`extends`, `env_file` and `profiles`.

`read_dotenv` reads the `.env` beside a compose file (its variables
interpolate the file). `resolve_services` then, for each service, merges the
service it `extends` (in the same file or in `file:`, itself interpolated and
resolved the same way), folds its `env_file`s into `environment` (values
written in `environment` win), and leaves out services whose `profiles` are
not enabled. Keys that come from another file keep the line of the `extends:`
that brought them, so a problem with them points at a line of this file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping as AbcMapping
from pathlib import Path

from corral.catalog.bounded import read_text
from corral.catalog.compose import values as cv
from corral.catalog.compose.stack import SPEC, V1, compose_format
from corral.catalog.errors import CatalogError, YamlError
from corral.catalog.excerpt import quoted
from corral.catalog.interpolate import interpolate_string, interpolate_tree
from corral.catalog.problems import Report, Source
from corral.catalog.yamlsource import Mapping, load_text

#: How deep `extends` may chain (compose has no limit; a cycle is caught anyway).
MAX_EXTENDS = 10
_ENV_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)")
# Values of these keys are merged by key across `extends`; list keys are concatenated.
_MERGED = {"environment", "labels", "sysctls", "extra_hosts", "healthcheck", "logging",
           "ulimits", "deploy", "depends_on", "networks", "build"}
_APPENDED = {"ports", "expose", "dns", "dns_search", "cap_add", "cap_drop", "devices",
             "tmpfs", "volumes", "external_links", "security_opt", "env_file", "secrets",
             "configs"}


def parse_env_text(text: str, file: str, env: AbcMapping[str, str] | None = None
                   ) -> dict[str, str]:
    """Parse a `.env` / `env_file` text: `KEY=VALUE` lines, `#` comments, quotes.

    Unquoted and double-quoted values are interpolated with `env` and the
    variables read so far (as `docker compose` does); single quotes are literal.

    Raises:
        CatalogError: A line that is not `KEY=VALUE` (file and line named).
    """
    result: dict[str, str] = {}
    for number, raw_line in enumerate(text.splitlines(), 1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        match = _ENV_LINE.fullmatch(raw_line)
        if match is None:
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", line):
                continue  # a bare name: take it from the environment, which Corral does not
            raise CatalogError(f"expected KEY=VALUE, got {quoted(line)}", file=file,
                               line=number)
        key, value = match.group(1), match.group(2).strip()
        if value[:1] in ("'", '"') and value.endswith(value[0]) and len(value) >= 2:
            quote, value = value[0], value[1:-1]
            if quote == "'":
                result[key] = value
                continue
            value = value.replace("\\n", "\n").replace('\\"', '"')
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].rstrip()
        try:
            result[key] = interpolate_string(value, {**(env or {}), **result})
        except ValueError as exc:
            raise CatalogError(f"{key}: {exc}", file=file, line=number) from None
    return result


def read_dotenv(folder: Path, root: Path | None = None,
                env: AbcMapping[str, str] | None = None) -> dict[str, str]:
    """The variables of `folder/.env`, or {} when there is none.

    Args:
        folder: The compose file's folder.
        root: When set, the file must lie inside it.
        env: Variables its values may refer to (the process environment).

    Raises:
        CatalogError: The file cannot be read or has a bad line.
    """
    path = folder / ".env"
    if not path.is_file():
        return {}
    return parse_env_text(read_text(path, root=root), str(path), env)


def resolve_services(document: object, *, source: Source, base: Path, root: Path | None,
                     env: AbcMapping[str, str], profiles: frozenset[str],
                     report: Report) -> object:
    """Apply `extends`, `env_file` and `profiles` to a compose document's services.

    Args:
        document: The interpolated compose document.
        source: Its file, for problems.
        base: The folder relative `file:` and `env_file` paths start from.
        root: When set, no file read may lie outside it (a catalog folder).
        env: Variables to interpolate files that `extends` reads.
        profiles: The enabled profiles (`--profile`, `COMPOSE_PROFILES`).
        report: Collects problems.

    Returns:
        The document with its services resolved (the same object when it has none).
    """
    if not isinstance(document, dict):
        return document
    fmt = compose_format(document)
    services = document if fmt == V1 else document.get("services")
    if not isinstance(services, dict):
        return document
    resolved = _copy(services)
    for name in list(services):
        config = services[name]
        if not isinstance(config, dict):
            continue
        line = source.line(services.line_of(name)) if hasattr(services, "line_of") else None
        try:
            config = _extended(name, config, services, source, base, root, env, report,
                               chain=(f"{source.file}:{name}",))
            config = _env_files(name, config, source, base, root, report)
        except CatalogError as exc:
            report.catch(exc)
            resolved.pop(name, None)
            continue
        if fmt == SPEC and not _enabled(name, config, profiles, source, line, report):
            resolved.pop(name, None)
            continue
        resolved[name] = config
    if fmt == V1:
        return resolved
    result = _copy(document)
    result["services"] = resolved
    return result


def _copy(mapping: dict) -> Mapping:
    result = Mapping(mapping)
    result.line = getattr(mapping, "line", 0)
    result.key_lines = dict(getattr(mapping, "key_lines", {}))
    return result


def _enabled(name: str, config: dict, profiles: frozenset[str], source: Source,
             line: int | None, report: Report) -> bool:
    if "profiles" not in config:
        return True
    try:
        wanted = set(cv.string_list(config["profiles"]))
    except ValueError as exc:
        report.error(f"service {name}: profiles: {exc}", source.file, line)
        return False
    if wanted & profiles or "*" in profiles:
        return True
    report.warn(f"service {name} is left out: its profiles ({', '.join(sorted(wanted))}) are"
                " not enabled (--profile)", source.file, line)
    return False


def _extended(name: str, config: dict, services: dict, source: Source, base: Path,
              root: Path | None, env: AbcMapping[str, str], report: Report,
              chain: tuple[str, ...]) -> dict:
    """`config` with the service it `extends` merged under it."""
    if "extends" not in config:
        return config
    line = source.line(config.line_of("extends"))
    spec = config["extends"]
    if isinstance(spec, str):
        spec = {"service": spec}
    if not isinstance(spec, dict) or spec.get("service") is None:
        raise CatalogError(f"service {name}: extends needs service", file=source.file,
                           line=line)
    unknown = sorted(str(k) for k in spec if k not in ("service", "file"))
    if unknown:
        raise CatalogError(f"service {name}: extends: unknown key {quoted(unknown[0])}",
                           file=source.file, line=line)
    parent_name = cv.text(spec["service"])
    if len(chain) > MAX_EXTENDS:
        raise CatalogError(f"service {name}: extends chains more than {MAX_EXTENDS} deep",
                           file=source.file, line=line)
    if spec.get("file") is not None:
        path = base / cv.text(spec["file"])
        other_source = Source(str(path))
        try:
            text = read_text(path, root=root)
            document = load_text(text, source=str(path))
        except YamlError as exc:
            raise CatalogError(exc.message, file=exc.file, line=exc.line) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(f"service {name}: extends: cannot read {path}: {exc}",
                               file=source.file, line=line) from None
        document = interpolate_tree(document, env, other_source, report)
        fmt = compose_format(document)
        other = document if fmt == V1 else (document or {}).get("services")  # type: ignore[union-attr]
        other_base = path.parent
    else:
        other, other_source, other_base = services, source, base
    key = f"{other_source.file}:{parent_name}"
    if key in chain:
        raise CatalogError(f"service {name}: extends {parent_name} in a cycle",
                           file=source.file, line=line)
    if not isinstance(other, dict) or not isinstance(other.get(parent_name), dict):
        raise CatalogError(f"service {name}: extends {parent_name}, which is not a service of"
                           f" {other_source.file}", file=source.file, line=line)
    parent = _extended(parent_name, other[parent_name], other, other_source, other_base, root,
                       env, report, (*chain, key))
    if other_base != base and "env_file" in parent:
        parent = _env_files(parent_name, parent, other_source, other_base, root, report)
    return _merge(parent, config, line or 0, same_file=other_source.file == source.file)


def _merge(parent: dict, child: dict, extends_line: int, same_file: bool) -> Mapping:
    result = Mapping()
    result.line = getattr(child, "line", 0)
    result.key_lines = {}
    for key, value in parent.items():
        if key in ("extends", "container_name", "links", "volumes_from"):
            continue  # compose never inherits these
        result[key] = value
        result.key_lines[key] = parent.line_of(key) if same_file and hasattr(
            parent, "line_of") else extends_line
    for key, value in child.items():
        if key == "extends":
            continue
        if key in result and key in _MERGED:
            value = _merge_values(result[key], value)
        elif key in result and key in _APPENDED and isinstance(value, list) and isinstance(
                result[key], list):
            value = [*result[key], *(v for v in value if v not in result[key])]
        result[key] = value
        result.key_lines[key] = child.line_of(key) if hasattr(child, "line_of") else 0
    return result


def _merge_values(parent: object, child: object) -> object:
    """Mappings (or KEY=VALUE lists) merged by key, the child winning."""
    def as_mapping(value: object) -> dict | None:
        if isinstance(value, dict):
            return dict(value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return {k: (v if sep else None) for k, sep, v in
                    (item.partition("=") for item in value)}
        return None
    ours, theirs = as_mapping(parent), as_mapping(child)
    if ours is None or theirs is None:
        return child
    if isinstance(parent, list) and isinstance(child, list):  # depends_on as a list
        return [*parent, *(v for v in child if v not in parent)]
    merged = {**ours, **theirs}
    result = Mapping(merged)
    result.line = getattr(child, "line", 0)
    result.key_lines = {**getattr(parent, "key_lines", {}), **getattr(child, "key_lines", {})}
    return result


def _env_files(name: str, config: dict, source: Source, base: Path, root: Path | None,
               report: Report) -> dict:
    """`config` with its `env_file`s folded into `environment`."""
    if "env_file" not in config:
        return config
    line = source.line(config.line_of("env_file")) if hasattr(config, "line_of") else None
    raw = config["env_file"]
    items = raw if isinstance(raw, list) else [raw]
    variables: dict[str, str] = {}
    for item in items:
        required = True
        if isinstance(item, dict):
            if item.get("path") is None:
                raise CatalogError(f"service {name}: env_file needs path", file=source.file,
                                   line=line)
            try:
                required = cv.boolean(item.get("required", True))
            except ValueError as exc:
                raise CatalogError(f"service {name}: env_file required: {exc}",
                                   file=source.file, line=line) from None
            item = item["path"]
        try:
            path = base / cv.text(item)
        except ValueError as exc:
            raise CatalogError(f"service {name}: env_file: {exc}", file=source.file,
                               line=line) from None
        if not path.is_file():
            if required:
                raise CatalogError(f"service {name}: env_file {path} not found",
                                   file=source.file, line=line)
            report.warn(f"service {name}: env_file {path} not found (required: false)",
                        source.file, line)
            continue
        try:
            text = read_text(path, root=root)
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(f"service {name}: env_file: cannot read {path}: {exc}",
                               file=source.file, line=line) from None
        variables.update(parse_env_text(text, str(path)))
    result = _copy(config)
    del result["env_file"]
    environment = config.get("environment")
    try:
        written = cv.key_values(environment, none_value=None) if environment is not None else {}
    except ValueError:
        return result  # the service builder reports the bad environment
    merged = Mapping({**variables, **written})
    merged.line = getattr(environment, "line", line or 0)
    merged.key_lines = {k: line or 0 for k in variables}
    merged.key_lines.update(getattr(environment, "key_lines", {}))
    result["environment"] = merged
    result.key_lines.setdefault("environment", line or 0)
    return result
