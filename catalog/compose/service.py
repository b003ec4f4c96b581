"""One service: its docker-compose and rancher-compose keys into a `Service`.

Every key is looked up in a table: modelled keys are parsed into fields,
valid compose keys Corral does not model go to `Service.extra`, Rancher-only
features are `unsupported`, and anything else is a warning naming the line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from corral.catalog.compose import lb as lbs
from corral.catalog.compose import rancher
from corral.catalog.compose import spec_keys as compose_spec
from corral.catalog.compose import values as cv
from corral.catalog.compose.local_files import local_mounts, read_build
from corral.catalog.excerpt import quoted
from corral.catalog.problems import Report, Source
from corral.catalog.spec import LoadBalancer, Logging, Service

_Parser = Callable[[object], object]
_PARSERS: dict[str, tuple[str, _Parser]] = {
    "image": ("image", cv.text),
    "command": ("command", cv.command),
    "entrypoint": ("entrypoint", cv.command),
    "environment": ("environment", lambda v: cv.key_values(v, none_value=None)),
    "labels": ("labels", lambda v: cv.key_values(v, none_value="")),
    "ports": ("ports", cv.ports),
    "expose": ("expose", cv.expose),
    "volumes": ("volumes", cv.mounts),
    "volumes_from": ("volumes_from", cv.volumes_from),
    "links": ("links", cv.links),
    "external_links": ("external_links", cv.links),
    "net": ("network_mode", cv.text),
    "network_mode": ("network_mode", cv.text),
    "networks": ("networks", cv.networks),
    "restart": ("restart", cv.restart),
    "tty": ("tty", cv.boolean),
    "stdin_open": ("stdin_open", cv.boolean),
    "user": ("user", cv.text),
    "working_dir": ("working_dir", cv.text),
    "hostname": ("hostname", cv.text),
    "domainname": ("domainname", cv.text),
    "cap_add": ("cap_add", cv.string_list),
    "cap_drop": ("cap_drop", cv.string_list),
    "privileged": ("privileged", cv.boolean),
    "read_only": ("read_only", cv.boolean),
    "dns": ("dns", cv.string_list),
    "dns_search": ("dns_search", cv.string_list),
    "extra_hosts": ("extra_hosts", cv.extra_hosts),
    "devices": ("devices", cv.string_list),
    "pid": ("pid", cv.text),
    "ipc": ("ipc", cv.text),
    "stop_signal": ("stop_signal", cv.text),
    "healthcheck": ("healthcheck", cv.healthcheck),
    "logging": ("logging", cv.logging),
    "ulimits": ("ulimits", cv.ulimits),
    # rancher-compose.yml keys
    "scale": ("scale", lambda v: cv.integer(v, 0)),
    "retain_ip": ("retain_ip", cv.boolean),
    "start_on_create": ("start_on_create", cv.boolean),
    "metadata": ("metadata", lambda v: cv.plain(v) if isinstance(v, dict) else _not_mapping()),
}
_V1_ONLY = {"net", "log_driver", "log_opt"}
_V2_ONLY = {"network_mode", "networks", "depends_on", "logging", "healthcheck"}
# Compose keys kept in `Service.extra`, checked and written in one form here
# (the deploy maps them onto the engine's HostConfig).
_EXTRA_PARSERS: dict[str, _Parser] = {
    "sysctls": cv.sysctls,
    "tmpfs": cv.tmpfs,
    "init": cv.boolean,
    "stop_grace_period": lambda v: round(cv.duration(v)),
    "cpus": lambda v: compose_spec.cpus(v),
    "mem_limit": cv.byte_size, "mem_reservation": cv.byte_size, "memswap_limit": cv.byte_size,
    "shm_size": cv.byte_size, "cpu_shares": cv.integer, "oom_score_adj": cv.integer,
    "pids_limit": cv.integer,
}
_PASSTHROUGH = {
    "blkio_weight", "blkio_weight_device", "cgroup_parent", "container_name", "cpu_period",
    "cpu_quota", "cpu_shares", "cpuset", "device_read_bps", "device_read_iops",
    "device_write_bps", "device_write_iops", "dns_opt", "group_add", "isolation", "mac_address",
    "mem_limit", "mem_reservation", "memswap_limit", "mem_swappiness", "oom_kill_disable",
    "oom_score_adj", "security_opt", "shm_size", "sysctls", "tmpfs", "uts", "volume_driver",
    "stop_grace_period", "init", "drain_timeout_ms", "cpus", "pids_limit",
}
# Keys of the Compose Specification that only its files (no `version:`, 3.x) have
# (a v2 file's `secrets` is Rancher's secrets service).
_SPEC_ONLY = {"deploy", "configs", "scale", "pull_policy", "profiles"}
_SPEC_IGNORED = {
    "platform": "the engine runs the image's own platform",
    "develop": "is for `docker compose watch`",
    "attach": "only changes which logs `docker compose up` shows",
    "annotations": "are not supported by the engine version Corral targets",
    "runtime": "is not carried out by Corral",
    "storage_opt": "is not carried out by Corral",
    "userns_mode": "is not carried out by Corral",
    "cgroup": "is not carried out by Corral",
    "credential_spec": "is for Windows containers",
}
_UNSUPPORTED_COMPOSE = {
    "build": "builds an image; Corral builds only for a compose file deployed as FILE"
             " (corral deploy FILE), not for a catalog entry",
    "dockerfile": "is a version 1 build key; Corral builds only with build: (version 2 and"
                  " later)",
    "extends": "could not be resolved",
    "env_file": "could not be read",
    "secrets": "uses Rancher's secrets service",
}
#: rancher-compose keys of load balancer services (`certs` at service level: legacy LBs).
_LB_KEYS = ("lb_config", "load_balancer_config", "certs", "default_cert")
_DOCKER_KEYS = (set(_PARSERS) - rancher.RANCHER_KEYS | _PASSTHROUGH
                | _UNSUPPORTED_COMPOSE.keys() | {"depends_on"})


def _not_mapping() -> object:
    raise ValueError("expected a mapping")


def build_service(
    name: str,
    compose: dict,
    rancher_config: dict | None,
    *,
    sources: tuple[Source, Source | None],
    v2: bool,
    report: Report,
    spec: bool = False,
    known: frozenset[str] | None = None,
    base: Path | None = None,
) -> Service:
    """Build the Service `name` from its two configurations.

    Args:
        name: The service name.
        compose: Its docker-compose mapping (interpolated, macros expanded).
        rancher_config: Its rancher-compose mapping, or None.
        sources: The docker-compose and rancher-compose files.
        v2: True for a version 2 docker-compose file (or a Compose Specification one).
        report: Collects every problem found.
        spec: True for a Compose Specification file (no `version:`, or 3.x).
        known: Every service of the stack: an optional `depends_on`
            (`required: false`) on a service not among them is dropped.
        base: The compose file's folder: relative bind mounts name files in it,
            which the deploy ships to the hosts (`local` mounts); None when
            the file has no folder of its own (they are then an error).

    Returns:
        The service; fields with errors keep their defaults (the report has errors).
    """
    values: dict[str, object] = {}
    extra: dict[str, object] = {}
    compose_src, rancher_src = sources
    lb_legacy = lbs.lb_kind(compose.get("image") if isinstance(compose.get("image"), str)
                            else None)
    _read_keys(name, compose, compose_src, report, values, extra, rancher_file=False, v2=v2,
               spec=spec, known=known, base=base)
    if rancher_config is not None and rancher_src is not None:
        _read_keys(name, rancher_config, rancher_src, report, values, extra, rancher_file=True,
                   v2=v2)
    if "log_driver" in compose or "log_opt" in compose:
        try:
            options = compose.get("log_opt") or {}
            if not isinstance(options, dict):
                raise ValueError("log_opt must be a mapping")
            values["logging"] = Logging(
                cv.text(compose["log_driver"]) if compose.get("log_driver") else None,
                {str(k): cv.text(v) for k, v in sorted(options.items())},
            )
        except ValueError as exc:
            report.error(f"service {name}: log_opt: {exc}", compose_src.file,
                         compose_src.line(compose.line_of("log_opt")))
    if not values.get("image") and not values.get("build"):
        report.error(f"service {name} has no image", compose_src.file,
                     compose_src.line(getattr(compose, "line", None)))
    reason = rancher.unsupported_image(values.get("image"))  # type: ignore[arg-type]
    if reason:
        report.unsupported(f"service {name} uses {reason} ({values['image']})", compose_src.file,
                           compose_src.line(compose.line_of("image")))
    labels: dict[str, str] = values.get("labels", {})  # type: ignore[assignment]
    lb_raw: dict = values.pop("_lb", {})  # type: ignore[assignment]
    if lb_legacy is not None:
        labels = _lb_labels(name, labels, compose, compose_src, report)
        values["labels"] = labels
    else:
        for key, (_, line) in lb_raw.items():
            file = rancher_src.file if rancher_src else None
            if key in rancher.UNSUPPORTED_KEYS:
                report.unsupported(f"service {name}: {key} is {rancher.UNSUPPORTED_KEYS[key]}",
                                   file, line)
            else:
                report.warn(f"service {name}: {key} applies to a load balancer image only;"
                            " ignored", file, line)
    _read_labels(name, labels, compose, compose_src, report, values)
    if spec:
        compose_spec.read_spec_keys(name, compose, compose_src, report, values, extra)
    if values.get("container_name") and values.get("scale", 1) > 1:
        report.error(f"service {name}: container_name {values['container_name']} names one"
                     f" container, but scale is {values['scale']}", compose_src.file,
                     compose_src.line(compose.line_of("container_name")))
    if values.get("volumes"):
        values["volumes"] = local_mounts(name, values["volumes"], base,  # type: ignore[arg-type]
                                         compose_src, compose_src.line(compose.line_of("volumes")),
                                         report)
    driver = extra.get("volume_driver")
    if isinstance(driver, str) and rancher.UNSUPPORTED_DRIVER.fullmatch(driver):
        report.unsupported(f"service {name}: volume_driver {driver} is a Rancher storage driver",
                           compose_src.file, compose_src.line(compose.line_of("volume_driver")))
    service = Service(name=name, extra=dict(sorted(extra.items())), **values)  # type: ignore[arg-type]
    if lb_legacy is not None:
        service = _load_balancer(service, lb_legacy, lb_raw, compose, sources, report)
    return service


def _lb_labels(name: str, labels: dict[str, str], compose: dict, source: Source,
               report: Report) -> dict[str, str]:
    """An LB's labels without those Rancher's own LB image needed (agent, targets)."""
    line = source.line(compose.line_of("labels")) if "labels" in compose else None
    for key in lbs.AGENT_LABELS:
        if key in labels:
            report.warn(f"service {name}: label {key} served Rancher's load balancer agent;"
                        " Corral's HAProxy does not need it", source.file, line)
    return {k: v for k, v in labels.items()
            if k not in lbs.AGENT_LABELS and not k.startswith(lbs.TARGET_LABEL)}


def _load_balancer(service: Service, legacy: bool, lb_raw: dict, compose: dict,
                   sources: tuple[Source, Source | None], report: Report) -> Service:
    """The LB service with its rules read (targets are checked by the stack)."""
    compose_src, rancher_src = sources
    rancher_file = rancher_src or compose_src
    name = service.name
    for key in ("certs", "default_cert"):
        if key in lb_raw and lb_raw[key][0]:
            report.warn(f"service {name}: {key} names certificates in Rancher's certificate"
                        " store, which Corral does not have; https rules are dropped",
                        rancher_file.file, lb_raw[key][1])
    if legacy:
        stickiness = None
        if "load_balancer_config" in lb_raw:
            raw, line = lb_raw["load_balancer_config"]
            stickiness = lbs.legacy_config(name, raw, rancher_file, line, report)
        if "lb_config" in lb_raw:
            report.warn(f"service {name}: lb_config belongs to rancher/lb-service-haproxy;"
                        " ignored", rancher_file.file, lb_raw["lb_config"][1])
        # The target labels were taken off `labels`; read them from the compose text.
        raw_labels = compose.get("labels")
        try:
            targets = cv.key_values(raw_labels, none_value="") if raw_labels else {}
        except ValueError:
            targets = {}
        full = dataclasses.replace(service, labels={**service.labels, **{
            k: v for k, v in targets.items() if k.startswith(lbs.TARGET_LABEL)}})
        rules = lbs.legacy_rules(name, full, compose, compose_src, report)
        balancer = LoadBalancer(rules, stickiness, legacy=True)
    elif "lb_config" in lb_raw:
        raw, line = lb_raw["lb_config"]
        balancer = lbs.lb_config(name, raw, rancher_file, line, report)
        if "load_balancer_config" in lb_raw:
            report.warn(f"service {name}: load_balancer_config belongs to the legacy load"
                        " balancer; ignored", rancher_file.file,
                        lb_raw["load_balancer_config"][1])
    else:
        report.warn(f"service {name} is a load balancer without lb_config; it forwards nothing",
                    compose_src.file, compose_src.line(compose.line_of("image")))
        balancer = LoadBalancer()
    return dataclasses.replace(service, load_balancer=balancer)


def _read_keys(name: str, config: dict, source: Source, report: Report, values: dict,
               extra: dict, *, rancher_file: bool, v2: bool, spec: bool = False,
               known: frozenset[str] | None = None, base: Path | None = None) -> None:
    for key, raw in config.items():
        line = source.line(config.line_of(key)) if hasattr(config, "line_of") else None
        where = f"service {name}: {key}"
        if key in _LB_KEYS and rancher_file:
            values.setdefault("_lb", {})[key] = (raw, line)  # read by _load_balancer
            continue
        if spec and not rancher_file and (key in compose_spec.SPEC_KEYS
                                          or str(key).startswith("x-")):
            continue  # read by compose_spec.read_spec_keys
        if spec and not rancher_file and key in _SPEC_IGNORED:
            report.warn(f"{where} {_SPEC_IGNORED[key]}; ignored", source.file, line)
        elif key == "depends_on" and not rancher_file:
            _read_depends_on(where, raw, source, line, report, values, known, v2)
        elif key == "build" and not rancher_file and base is not None:
            try:
                values["build"] = read_build(raw, base, report, where, source.file, line)
            except ValueError as exc:
                report.error(f"{where}: {exc}", source.file, line)
        elif key == "container_name" and not rancher_file:
            try:
                values["container_name"] = cv.text(raw)
            except ValueError as exc:
                report.error(f"{where}: {exc}", source.file, line)
            else:
                report.warn(f"{where}: containers are named STACK-{name}-N;"
                            f" {quoted(values['container_name'])} is given as a network alias"
                            " instead", source.file, line)
        elif key in _EXTRA_PARSERS and not rancher_file:
            try:
                extra[key] = _EXTRA_PARSERS[key](raw)
            except ValueError as exc:
                report.error(f"{where}: {exc}", source.file, line)
        elif not rancher_file and not spec and key in _SPEC_ONLY:
            report.warn(f"{where} is a Compose Specification key; this file says version"
                        " 1 or 2", source.file, line)
        elif key in rancher.UNSUPPORTED_KEYS:
            report.unsupported(f"{where} is {rancher.UNSUPPORTED_KEYS[key]}", source.file, line)
        elif key in _UNSUPPORTED_COMPOSE:
            report.unsupported(f"{where} {_UNSUPPORTED_COMPOSE[key]}", source.file, line)
        elif key == "scale_policy" and rancher_file:
            _read_scale_policy(raw, where, source, line, report, values)
        elif key in ("health_check", "upgrade_strategy") and rancher_file:
            _read_rancher_block(key, raw, where, source, line, report, values)
        elif key in ("log_driver", "log_opt") and not rancher_file:
            if v2:
                report.warn(f"{where} is a version 1 key; use logging", source.file, line)
        elif key == "scale" and rancher_file and "scale_policy" in config:
            continue
        elif key in _PARSERS and (key in rancher.RANCHER_KEYS) == rancher_file:
            if not rancher_file and (key in _V1_ONLY if v2 else key in _V2_ONLY):
                report.warn(f"{where} is not a version {'2' if v2 else '1'} key", source.file,
                            line)
            field, parser = _PARSERS[key]
            try:
                values[field] = parser(raw)
            except ValueError as exc:
                report.error(f"{where}: {exc}", source.file, line)
            if key == "expose" and rancher.expose_host_sides(raw):
                report.warn(f"{where}: {', '.join(rancher.expose_host_sides(raw))}: the host"
                            " side meant Rancher's managed network; only the container port"
                            " is exposed", source.file, line)
            for message in _not_carried(key, raw):
                report.warn(f"{where}: {message}", source.file, line)
        elif key in _PASSTHROUGH and (key == "drain_timeout_ms") == rancher_file:
            extra[key] = cv.plain(raw)
        elif rancher_file and key in _DOCKER_KEYS:
            report.warn(f"{where} belongs in docker-compose.yml; ignored here", source.file, line)
        else:
            report.warn(f"{where}: unknown key", source.file, line)


def _read_scale_policy(raw: object, where: str, source: Source, line: int | None,
                       report: Report, values: dict) -> None:
    try:
        low, high = rancher.scale_policy(raw)
    except ValueError as exc:
        report.error(f"{where}: {exc}", source.file, line)
        return
    values["scale"] = low  # wins over `scale`, as Rancher's policy did
    report.warn(f"{where}: starts {low} container{'s' * (low != 1)} (min); Corral does not"
                f" scale between min and max{f' ({high})' if high is not None else ''}"
                " by itself", source.file, line)
_HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "disable"}
_NETWORK_ATTACH_KEYS = {"aliases", "ipv4_address", "ipv6_address"}


def _not_carried(key: str, raw: object) -> list[str]:
    """Sub-keys of a parsed key that Corral reads past (`healthcheck`, `networks`)."""
    if key == "healthcheck" and isinstance(raw, dict):
        return [f"{quoted(k)} is not carried out" for k in raw if k not in _HEALTHCHECK_KEYS]
    if key == "logging" and isinstance(raw, dict):
        return [f"{quoted(k)} is not carried out" for k in raw if k not in ("driver", "options")]
    if key == "networks" and isinstance(raw, dict):
        return [f"{network}: {quoted(k)} is not carried out"
                for network, config in raw.items() if isinstance(config, dict)
                for k in config if k not in _NETWORK_ATTACH_KEYS]
    return []


def _read_depends_on(where: str, raw: object, source: Source, line: int | None,
                     report: Report, values: dict, known: frozenset[str] | None,
                     v2: bool) -> None:
    if not v2:
        report.warn(f"{where} is not a version 1 key", source.file, line)
    try:
        parsed = cv.depends_on(raw)
    except ValueError as exc:
        report.error(f"{where}: {exc}", source.file, line)
        return
    kept = {}
    for target, (condition, required) in parsed.items():
        if not required and known is not None and target not in known:
            report.warn(f"{where}: {target} is not in the stack (required: false); left out",
                        source.file, line)
            continue
        kept[target] = condition
    values["depends_on"] = tuple(kept)
    values["depends_on_conditions"] = kept


def _read_rancher_block(key: str, raw: object, where: str, source: Source, line: int | None,
                        report: Report, values: dict) -> None:
    parse = rancher.health_check if key == "health_check" else rancher.upgrade_strategy
    try:
        values[key], unknown = parse(raw)
    except ValueError as exc:
        report.error(f"{where}: {exc}", source.file, line)
        return
    for item in unknown:
        report.warn(f"{where}: unknown key {quoted(item)}", source.file, line)


def _read_labels(name: str, labels: dict[str, str], compose: dict, source: Source,
                 report: Report, values: dict) -> None:
    line = source.line(compose.line_of("labels")) if "labels" in compose else None
    values["sidekicks"] = rancher.sidekicks(labels)
    values["scheduling"], problems = rancher.scheduling(labels)
    for message in problems:
        report.warn(f"service {name}: {message}", source.file, line)
    unsupported, unknown = rancher.label_findings(labels)
    for message in unsupported:
        report.unsupported(f"service {name}: {message}", source.file, line)
    for message in unknown:
        report.warn(f"service {name}: {message}", source.file, line)
    if labels.get(rancher.PULL_IMAGE) == "always":
        values["pull_image"] = "always"
    if rancher.START_ONCE in labels:
        try:
            values["start_once"] = cv.boolean(labels[rancher.START_ONCE])
        except ValueError:
            report.error(f"service {name}: label {rancher.START_ONCE} must be true or false",
                         source.file, line)
