"""Parsers for the values of docker-compose keys (ports, volumes, environment…).

Each takes the YAML value of one key (after interpolation, so numbers may
arrive as strings) and returns spec objects or plain data; it raises
ValueError with a short message, which the caller turns into a problem that
names the file, line, service and key.
"""

from __future__ import annotations

import re
import shlex

from corral.catalog.excerpt import quoted
from corral.catalog.gotemplate.gofmt import sprint_value
from corral.catalog.spec import (
    ComposeHealthcheck,
    Link,
    Logging,
    Mount,
    Port,
    ServiceNetwork,
    Ulimit,
    VolumesFrom,
)

MAX_PORT_RANGE = 1000  # a range wider than this is almost surely a typo
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_VOLUME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_MOUNT_MODES = {"rw", "ro"}
_MOUNT_OPTIONS = {"z", "Z", "nocopy", "shared", "rshared", "slave", "rslave", "private",
                  "rprivate", "cached", "delegated", "consistent"}


def text(value: object) -> str:
    """A scalar as text (numbers and booleans as Go prints them)."""
    if isinstance(value, dict | list) or value is None:
        raise ValueError("expected a single value")
    return value if isinstance(value, str) else sprint_value(value)


def raw_text(value: object) -> str:
    """A scalar as Go's YAML decoder gives it to a string field: close to the source text.

    Floats keep their decimal point (`version: 1.0` is "1.0", not "1").
    """
    if isinstance(value, float):
        return repr(value)
    return text(value)


def boolean(value: object) -> bool:
    """A YAML boolean, or the strings true/false left by interpolation."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError("expected true or false")


def integer(value: object, minimum: int | None = None) -> int:
    """A whole number, possibly written as a string; at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("expected a whole number")
    try:
        number = int(str(value).strip(), 10)
    except ValueError:
        raise ValueError(f"expected a whole number, got {quoted(value)}") from None
    if minimum is not None and number < minimum:
        raise ValueError(f"must be at least {minimum}")
    return number


def string_list(value: object) -> tuple[str, ...]:
    """A list of scalars, or one scalar meaning a list of one."""
    if isinstance(value, list):
        return tuple(text(v) for v in value)
    return (text(value),)


def command(value: object) -> tuple[str, ...] | None:
    """`command` / `entrypoint`: a list as is, a string split like a POSIX shell."""
    if value is None:
        return None
    if isinstance(value, list):
        return tuple(text(v) for v in value)
    try:
        return tuple(shlex.split(text(value)))
    except ValueError as exc:
        raise ValueError(f"cannot split into arguments ({exc})") from None


def key_values(value: object, *, none_value: str | None) -> dict[str, str | None]:
    """`environment` / `labels`: a mapping, or a list of KEY=VALUE / KEY items.

    Args:
        value: The YAML value.
        none_value: What a key without value maps to (None for environment, "" for labels).
    """
    result: dict[str, str | None] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            result[str(key)] = none_value if item is None else text(item)
    elif isinstance(value, list):
        for item in value:
            key, sep, rest = text(item).partition("=")
            if not key:
                raise ValueError(f"{quoted(item)} has no name")
            result[key] = rest if sep else none_value
    else:
        raise ValueError("expected a mapping or a list of KEY=VALUE")
    return dict(sorted(result.items()))


def _port_range(spec: str) -> list[int]:
    first, sep, last = spec.partition("-")
    try:
        low = int(first)
        high = int(last) if sep else low
    except ValueError:
        raise ValueError(f"invalid port {quoted(spec)}") from None
    if not (0 < low <= 65535 and 0 < high <= 65535) or high < low:
        raise ValueError(f"invalid port {quoted(spec)}")
    if high - low >= MAX_PORT_RANGE:
        raise ValueError(f"port range {quoted(spec)} is wider than {MAX_PORT_RANGE}")
    return list(range(low, high + 1))


def port(value: object) -> list[Port]:
    """One `ports` item: `[[ip:]host:]container[/protocol]`, ranges allowed.

    A container port alone is published on a host port the engine picks, as
    `docker compose` and Rancher did (`expose` is the key for a port that is
    not published).
    """
    spec = text(value).strip()
    spec, _, protocol = spec.partition("/")
    protocol = protocol or "tcp"
    if protocol not in ("tcp", "udp"):
        raise ValueError(f"unknown protocol {quoted(protocol)} (tcp or udp)")
    host_ip = None
    if spec.startswith("["):  # [ipv6]:host:container
        close = spec.find("]:")
        parts = spec[close + 2 :].split(":") if close > 0 else []
        if len(parts) != 2:
            raise ValueError(f"invalid port {quoted(text(value))}")
        host_ip = spec[1:close]
    else:
        parts = spec.split(":")
        if len(parts) > 3:
            raise ValueError(f"invalid port {quoted(text(value))}")
        if len(parts) == 3:
            host_ip = parts.pop(0) or None
    container = _port_range(parts[-1])
    host_part = parts[0] if len(parts) == 2 else None
    if not host_part:  # `80` and `:80` alike: the engine picks the host port
        return [Port(p, protocol, None, host_ip, True) for p in container]
    hosts = _port_range(host_part)
    if len(hosts) != len(container):
        raise ValueError("host and container port ranges differ in length in"
                         f" {quoted(text(value))}")
    return [Port(c, protocol, h, host_ip, True) for h, c in zip(hosts, container, strict=True)]


_PORT_KEYS = {"target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"}


def long_port(value: dict) -> list[Port]:
    """One long-syntax `ports` item: {target, published, host_ip, protocol, mode…}.

    `mode` (host or ingress) and `name`/`app_protocol` do not change what a
    standalone engine publishes; a port is always published on its host.
    """
    unknown = sorted(str(k) for k in value if k not in _PORT_KEYS)
    if unknown:
        raise ValueError(f"unknown port key {quoted(unknown[0])}")
    if value.get("target") is None:
        raise ValueError("a long-syntax port needs target")
    protocol = text(value.get("protocol") or "tcp")
    if protocol not in ("tcp", "udp"):
        raise ValueError(f"unknown protocol {quoted(protocol)} (tcp or udp)")
    mode = text(value.get("mode") or "host")
    if mode not in ("host", "ingress"):
        raise ValueError(f"unknown port mode {quoted(mode)} (host or ingress)")
    container = _port_range(text(value["target"]))
    host_ip = text(value["host_ip"]) if value.get("host_ip") else None
    published = value.get("published")
    if published is None or text(published) == "":  # the engine picks the host port
        return [Port(p, protocol, None, host_ip, True) for p in container]
    hosts = _port_range(text(published))
    if len(hosts) == 1 and len(container) == 1:
        return [Port(container[0], protocol, hosts[0], host_ip, True)]
    if len(hosts) != len(container):
        raise ValueError("published and target port ranges differ in length")
    return [Port(c, protocol, h, host_ip, True) for h, c in zip(hosts, container, strict=True)]


def ports(value: object) -> tuple[Port, ...]:
    """`ports`: a list of port items, short (`8080:80/tcp`) or long syntax (mappings)."""
    if not isinstance(value, list):
        raise ValueError("expected a list")
    return tuple(p for item in value
                 for p in (long_port(item) if isinstance(item, dict) else port(item)))


def expose(value: object) -> tuple[Port, ...]:
    """`expose`: container ports only, ranges and `/udp` allowed.

    Rancher also read `HOST:CONTAINER` items (and a `HOST: CONTAINER`
    mapping) as a port open on its managed network only: the container port
    is exposed; the other side meant nothing outside Rancher.
    """
    if isinstance(value, dict):
        value = [f"{k}:{text(v)}" for k, v in value.items()]
    if not isinstance(value, list):
        raise ValueError("expected a list")
    result = []
    for item in value:
        spec, _, protocol = text(item).partition("/")
        spec = spec.rpartition(":")[2]
        protocol = protocol or "tcp"
        if protocol not in ("tcp", "udp"):
            raise ValueError(f"unknown protocol {quoted(protocol)} (tcp or udp)")
        result.extend(Port(p, protocol) for p in _port_range(spec))
    return tuple(result)


def mount(value: object) -> Mount:
    """One service `volumes` item: `[source:]target[:mode[,options]]`."""
    spec = text(value)
    parts = spec.split(":")
    if len(parts) > 3 or not all(parts[:2]):
        raise ValueError(f"invalid volume {quoted(spec)}")
    flags: list[str] = []
    if len(parts) == 3 or (len(parts) == 2 and not parts[1].startswith("/")):
        flags = [f for f in parts.pop().split(",") if f]
    mode = "rw"
    options = []
    for flag in flags:
        if flag in _MOUNT_MODES:
            mode = flag
        elif flag in _MOUNT_OPTIONS:
            options.append(flag)
        else:
            raise ValueError(f"unknown volume mode {quoted(flag)} in {quoted(spec)}")
    if len(parts) == 1:
        return Mount("anonymous", None, parts[0], mode, tuple(options))
    source, target = parts
    if not target.startswith("/"):
        raise ValueError(f"volume target {quoted(target)} must be an absolute path")
    if source.startswith(("/", ".", "~")):
        return Mount("bind", source, target, mode, tuple(options))
    if not _VOLUME_NAME.fullmatch(source):
        raise ValueError(f"invalid volume name {quoted(source)}")
    return Mount("named", source, target, mode, tuple(options))


_LONG_VOLUME_KEYS = {"type", "source", "target", "read_only", "bind", "volume", "tmpfs",
                     "consistency"}


def long_mount(value: dict) -> Mount:
    """One long-syntax `volumes` item: {type, source, target, read_only, bind, volume, tmpfs}.

    `tmpfs` mounts become kind `tmpfs` with `size=`/`mode=` options.
    """
    unknown = sorted(str(k) for k in value if k not in _LONG_VOLUME_KEYS)
    if unknown:
        raise ValueError(f"unknown volume key {quoted(unknown[0])}")
    kind = text(value.get("type") or "volume")
    target = text(value.get("target")) if value.get("target") is not None else ""
    if not target.startswith("/"):
        raise ValueError(f"volume target {quoted(target)} must be an absolute path")
    mode = "ro" if boolean(value.get("read_only", False)) else "rw"
    source = text(value["source"]) if value.get("source") not in (None, "") else None
    options: list[str] = []
    if kind == "tmpfs":
        tmpfs = value.get("tmpfs") or {}
        if not isinstance(tmpfs, dict):
            raise ValueError("tmpfs must be a mapping")
        if tmpfs.get("size") is not None:
            options.append(f"size={text(tmpfs['size'])}")
        if tmpfs.get("mode") is not None:
            options.append(f"mode={text(tmpfs['mode'])}")
        return Mount("tmpfs", None, target, mode, tuple(options))
    if kind == "bind":
        if source is None:
            raise ValueError("a bind mount needs source")
        bind = value.get("bind") or {}
        if not isinstance(bind, dict):
            raise ValueError("bind must be a mapping")
        if bind.get("propagation"):
            propagation = text(bind["propagation"])
            if propagation not in _MOUNT_OPTIONS:
                raise ValueError(f"unknown propagation {quoted(propagation)}")
            options.append(propagation)
        if bind.get("selinux"):
            options.append(text(bind["selinux"]))
        return Mount("bind", source, target, mode, tuple(options))
    if kind != "volume":
        raise ValueError(f"volume type {quoted(kind)} is not supported (volume, bind or tmpfs)")
    volume = value.get("volume") or {}
    if not isinstance(volume, dict):
        raise ValueError("volume must be a mapping")
    if boolean(volume.get("nocopy", False)):
        options.append("nocopy")
    if source is None:
        return Mount("anonymous", None, target, mode, tuple(options))
    if not _VOLUME_NAME.fullmatch(source):
        raise ValueError(f"invalid volume name {quoted(source)}")
    return Mount("named", source, target, mode, tuple(options))


def mounts(value: object) -> tuple[Mount, ...]:
    """Service `volumes`: a list of mounts, short or long syntax."""
    if not isinstance(value, list):
        raise ValueError("expected a list")
    return tuple(long_mount(item) if isinstance(item, dict) else mount(item) for item in value)


def volumes_from(value: object) -> tuple[VolumesFrom, ...]:
    """`volumes_from`: `service[:mode]` or `container:name[:mode]`."""
    result = []
    for item in string_list(value):
        parts = item.split(":")
        kind = "service"
        if parts[0] == "container" and len(parts) > 1:
            kind, parts = "container", parts[1:]
        mode = parts[1] if len(parts) > 1 else "rw"
        if len(parts) > 2 or mode not in _MOUNT_MODES or not parts[0]:
            raise ValueError(f"invalid volumes_from {quoted(item)}")
        result.append(VolumesFrom(kind, parts[0], mode))
    return tuple(result)


def links(value: object) -> tuple[Link, ...]:
    """`links` / `external_links`: `target[:alias]` items or a target: alias mapping."""
    pairs: list[tuple[str, str]] = []
    if isinstance(value, dict):
        pairs = [(str(k), text(v) if v is not None else str(k).split("/")[-1])
                 for k, v in value.items()]
    else:
        for item in string_list(value):
            target, _, alias = item.partition(":")
            if not target:
                raise ValueError(f"invalid link {quoted(item)}")
            pairs.append((target, alias or target.split("/")[-1]))
    return tuple(Link(t, a) for t, a in pairs)


def ulimits(value: object) -> tuple[Ulimit, ...]:
    """`ulimits`: name: number, or name: {soft, hard}."""
    if not isinstance(value, dict):
        raise ValueError("expected a mapping")
    result = []
    for name, limit in sorted(value.items()):
        if isinstance(limit, dict):
            soft, hard = integer(limit.get("soft")), integer(limit.get("hard"))
        else:
            soft = hard = integer(limit)
        result.append(Ulimit(str(name), soft, hard))
    return tuple(result)


def logging(value: object) -> Logging:
    """v2 `logging`: {driver, options}."""
    if not isinstance(value, dict):
        raise ValueError("expected a mapping")
    options = value.get("options") or {}
    if not isinstance(options, dict):
        raise ValueError("options must be a mapping")
    driver = value.get("driver")
    return Logging(text(driver) if driver is not None else None,
                   {str(k): text(v) for k, v in sorted(options.items())})


def duration(value: object) -> float:
    """A Go duration such as `1m30s` (or a bare number of seconds), in seconds."""
    spec = text(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", spec):
        return float(spec)
    matches = list(_DURATION.finditer(spec))
    if not matches or "".join(m.group() for m in matches) != spec:
        raise ValueError(f"invalid duration {quoted(spec)}")
    return sum(float(m.group(1)) * _UNITS[m.group(2)] for m in matches)


def healthcheck(value: object) -> ComposeHealthcheck:
    """docker-compose `healthcheck`."""
    if not isinstance(value, dict):
        raise ValueError("expected a mapping")
    test = value.get("test")
    if isinstance(test, str):
        test_tuple: tuple[str, ...] = ("CMD-SHELL", test)
    elif isinstance(test, list):
        test_tuple = tuple(text(t) for t in test)
    else:
        test_tuple = ()
    return ComposeHealthcheck(
        test=test_tuple,
        interval=duration(value["interval"]) if value.get("interval") is not None else None,
        timeout=duration(value["timeout"]) if value.get("timeout") is not None else None,
        retries=integer(value["retries"], 0) if value.get("retries") is not None else None,
        start_period=(duration(value["start_period"])
                      if value.get("start_period") is not None else None),
        disable=boolean(value.get("disable", False)),
    )


def networks(value: object) -> tuple[ServiceNetwork, ...]:
    """Service `networks`: a list of names, or name: {aliases, ipv4_address, ipv6_address}."""
    if isinstance(value, list):
        return tuple(ServiceNetwork(text(n)) for n in sorted(value, key=str))
    if isinstance(value, dict):
        result = []
        for name, config in sorted(value.items(), key=lambda item: str(item[0])):
            config = config if isinstance(config, dict) else {}
            aliases = config.get("aliases") or []
            if not isinstance(aliases, list):
                raise ValueError(f"{name}: aliases must be a list")
            addresses = [text(config[k]) if config.get(k) is not None else None
                         for k in ("ipv4_address", "ipv6_address")]
            result.append(ServiceNetwork(str(name), tuple(text(a) for a in aliases),
                                         *addresses))
        return tuple(result)
    raise ValueError("expected a list or a mapping")


CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")
_DEPENDS_KEYS = {"condition", "restart", "required"}


def depends_on(value: object) -> dict[str, tuple[str, bool]]:
    """`depends_on`: a list of services, or a mapping of service: {condition, required}.

    Returns:
        Service -> (condition, required), sorted by service.
    """
    if not isinstance(value, dict):
        return {name: ("service_started", True) for name in sorted(set(string_list(value)))}
    result = {}
    for name, config in sorted(value.items(), key=lambda item: str(item[0])):
        if config is None:
            config = {}
        if not isinstance(config, dict):
            raise ValueError(f"{name}: expected a mapping with condition")
        unknown = sorted(str(k) for k in config if k not in _DEPENDS_KEYS)
        if unknown:
            raise ValueError(f"{name}: unknown key {quoted(unknown[0])}")
        condition = text(config.get("condition") or "service_started")
        if condition not in CONDITIONS:
            raise ValueError(f"{name}: unknown condition {quoted(condition)}"
                             f" ({', '.join(CONDITIONS)})")
        result[str(name)] = (condition, boolean(config.get("required", True)))
    return result


_BYTES = re.compile(r"(\d+(?:\.\d+)?)\s*([bkmg]?)b?", re.IGNORECASE)


def byte_size(value: object) -> str | int:
    """A memory size: a number of bytes or `512m`, `1.5g`, `64kb`… (kept as written)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("must be at least 0")
        return value
    size = text(value).strip()
    if not _BYTES.fullmatch(size):
        raise ValueError(f"invalid size {quoted(size)} (bytes, or a number with b, k, m, g)")
    return size


def sysctls(value: object) -> dict[str, str]:
    """`sysctls`: a mapping, or a list of `name=value` items."""
    if value is None:
        return {}
    result = key_values(value, none_value="")
    return {k: v or "" for k, v in result.items()}


def tmpfs(value: object) -> tuple[str, ...]:
    """`tmpfs`: one path or a list of `path[:options]`, each an absolute path."""
    items = string_list(value)
    for item in items:
        if not item.startswith("/"):
            raise ValueError(f"tmpfs {quoted(item)} must be an absolute path")
    return items


def extra_hosts(value: object) -> tuple[str, ...]:
    """`extra_hosts`: `host:ip` items or a host: ip mapping."""
    if isinstance(value, dict):
        return tuple(f"{k}:{text(v)}" for k, v in sorted(value.items()))
    return string_list(value)


def restart(value: object) -> str:
    """`restart`: no, always, unless-stopped or on-failure[:N]."""
    policy = text(value)
    if policy in ("no", "always", "unless-stopped") or re.fullmatch(r"on-failure(:\d+)?", policy):
        return policy
    raise ValueError(f"unknown restart policy {quoted(policy)}")


def plain(value: object) -> object:
    """A parsed YAML value as plain dicts and lists (line bookkeeping dropped)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
