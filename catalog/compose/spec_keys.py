"""Service keys only the Compose Specification has: `deploy`, `scale`, `secrets`,
`configs`, `pull_policy`, `profiles`.

Files without `version:` (or `3.x`) are read as the Compose Specification, the
format `docker compose` reads today. What a standalone engine can do is
carried into the service: `deploy.replicas` and `scale` become the scale,
`deploy.resources` memory and CPU limits, `deploy.placement.constraints` on
node labels host-label rules. What only a swarm or a file delivery could do
is a warning naming the line, never dropped without a word. `secrets` and
`configs` become files the deploy ships (`file_defs` reads their content).
"""

from __future__ import annotations

import re

from corral.catalog.compose import values as cv
from corral.catalog.excerpt import quoted
from corral.catalog.problems import Report, Source
from corral.catalog.spec import Affinity, FileRef, Scheduling

#: Keys `read_spec_keys` reads (besides `x-*` extension fields, which are for anchors).
SPEC_KEYS = {"deploy", "scale", "secrets", "configs", "pull_policy", "profiles"}
_DEPLOY_KEYS = {"mode", "replicas", "resources", "placement", "restart_policy", "labels",
                "update_config", "rollback_config", "endpoint_mode"}
_SWARM_ONLY = {
    "update_config": "swarm's rolling update settings (Corral upgrades by upgrade_strategy)",
    "rollback_config": "swarm's rollback settings",
    "endpoint_mode": "a swarm service's endpoint mode",
    "labels": "labels of the swarm service, not of its containers",
}
_CONSTRAINT = re.compile(r"\s*(node\.labels|engine\.labels)\.([^=!\s]+)\s*(==|!=)\s*(.*?)\s*")
_RESTART = {"none": "no", "any": "always", "on-failure": "on-failure"}
_PULL_POLICIES = {"always", "missing", "if_not_present", "never", "build", "daily", "weekly"}


def read_spec_keys(name: str, compose: dict, source: Source, report: Report, values: dict,
                   extra: dict) -> None:
    """Read the Compose Specification keys of service `name` into `values` / `extra`.

    Call after the labels are read: placement rules join the label rules, and
    a rancher-compose `scale` (already in `values`) wins over `deploy.replicas`.
    """
    for key, raw in compose.items():
        line = source.line(compose.line_of(key)) if hasattr(compose, "line_of") else None
        where = f"service {name}: {key}"
        try:
            if key == "deploy":
                _deploy(where, raw, source, line, report, values, extra)
            elif key == "scale":
                if "scale" not in values:
                    values["scale"] = cv.integer(raw, 0)
            elif key in ("secrets", "configs"):
                # Their content is attached from the top-level definitions
                # (`file_defs.attach`); the deploy ships it as files.
                values["files"] = tuple(values.get("files", ())) + _files(key, raw)
            elif key == "pull_policy":
                policy = cv.text(raw)
                if policy not in _PULL_POLICIES:
                    raise ValueError(f"unknown pull policy {quoted(policy)}")
                if policy == "always":
                    values["pull_image"] = "always"
                elif policy not in ("missing", "if_not_present"):
                    report.warn(f"{where} {policy} is not carried out; images are pulled when"
                                " missing (corral deploy --pull)", source.file, line)
            elif key == "profiles":
                cv.string_list(raw)  # the stack's services were chosen by profile before
        except ValueError as exc:
            report.error(f"{where}: {exc}", source.file, line)


def _files(key: str, raw: object) -> tuple[FileRef, ...]:
    """Service `secrets` / `configs`: names, or {source, target, uid, gid, mode}."""
    kind = key[:-1]
    if not isinstance(raw, list):
        raise ValueError("expected a list")
    refs = []
    for item in raw:
        uid = gid = mode = None
        if isinstance(item, dict):
            if item.get("source") is None:
                raise ValueError("a long-syntax item needs source")
            for extra in sorted(str(k) for k in item
                                if k not in ("source", "target", "uid", "gid", "mode")):
                raise ValueError(f"{item['source']}: unknown key {quoted(extra)}")
            ref_name = cv.text(item["source"])
            target = cv.text(item["target"]) if item.get("target") is not None else ref_name
            if item.get("uid") is not None:
                uid = cv.integer(item["uid"], 0)
            if item.get("gid") is not None:
                gid = cv.integer(item["gid"], 0)
            if item.get("mode") is not None:
                mode = file_mode(item["mode"])
        else:
            ref_name = target = cv.text(item)
        if not target.startswith("/"):
            target = f"/run/secrets/{target}" if kind == "secret" else f"/{target}"
        refs.append(FileRef(kind, ref_name, target, uid=uid, gid=gid, mode=mode))
    return tuple(refs)


def file_mode(value: object) -> int:
    """A `mode:` as YAML gives it: a number (`0440` is read as octal), or octal text."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"mode {quoted(value)} is not an octal number")
    if isinstance(value, int):
        mode = value
    else:
        text = value.strip().lower().removeprefix("0o")
        try:
            mode = int(text, 8)
        except ValueError:
            raise ValueError(f"mode {quoted(value)} is not an octal number") from None
    if not 0 <= mode <= 0o7777:
        raise ValueError(f"mode {quoted(value)} is not a file mode (0000 to 7777)")
    return mode


def _deploy(where: str, raw: object, source: Source, line: int | None, report: Report,
            values: dict, extra: dict) -> None:
    if not isinstance(raw, dict):
        raise ValueError("expected a mapping")
    for key in raw:
        if key not in _DEPLOY_KEYS:
            report.warn(f"{where}: unknown key {quoted(key)}", source.file, line)
        elif key in _SWARM_ONLY:
            report.warn(f"{where}: {key} is {_SWARM_ONLY[key]}; ignored", source.file, line)
    mode = cv.text(raw.get("mode") or "replicated")
    if mode not in ("replicated", "global"):
        raise ValueError(f"unknown mode {quoted(mode)} (replicated or global)")
    scheduling: Scheduling = values.get("scheduling") or Scheduling()
    rules = list(scheduling.rules)
    if raw.get("replicas") is not None and "scale" not in values:
        values["scale"] = cv.integer(raw["replicas"], 0)
    _resources(where, raw.get("resources"), source, line, report, extra)
    placement = raw.get("placement") or {}
    if not isinstance(placement, dict):
        raise ValueError("placement must be a mapping")
    for key in placement:
        if key != "constraints":
            report.warn(f"{where}: placement.{key} is a swarm setting; ignored", source.file,
                        line)
    constraints = placement.get("constraints") or []
    for constraint in cv.string_list(constraints):
        match = _CONSTRAINT.fullmatch(constraint)
        if match is None:
            report.warn(f"{where}: constraint {quoted(constraint)} needs swarm (only"
                        " node.labels.KEY==VALUE and != become host rules); ignored",
                        source.file, line)
            continue
        rules.append(Affinity("host_label", match.group(2), match.group(4),
                              negated=match.group(3) == "!="))
    policy = raw.get("restart_policy")
    if policy is not None:
        if not isinstance(policy, dict):
            raise ValueError("restart_policy must be a mapping")
        condition = cv.text(policy.get("condition") or "any")
        if condition not in _RESTART:
            raise ValueError(f"unknown restart condition {quoted(condition)}")
        if "restart" not in values:
            restart = _RESTART[condition]
            if condition == "on-failure" and policy.get("max_attempts") is not None:
                restart += f":{cv.integer(policy['max_attempts'], 0)}"
            values["restart"] = restart
        for key in ("delay", "window"):
            if policy.get(key) is not None:
                report.warn(f"{where}: restart_policy.{key} is a swarm setting; ignored",
                            source.file, line)
    values["scheduling"] = Scheduling(scheduling.is_global or mode == "global", tuple(rules))


def _resources(where: str, raw: object, source: Source, line: int | None, report: Report,
               extra: dict) -> None:
    if raw is None:
        return
    if not isinstance(raw, dict):
        raise ValueError("resources must be a mapping")
    for kind in raw:
        if kind not in ("limits", "reservations"):
            report.warn(f"{where}: unknown key resources.{kind}", source.file, line)
    limits = raw.get("limits") or {}
    reservations = raw.get("reservations") or {}
    if not isinstance(limits, dict) or not isinstance(reservations, dict):
        raise ValueError("resources limits and reservations must be mappings")
    for key, value in limits.items():
        if key == "memory":
            extra.setdefault("mem_limit", cv.text(value))
        elif key == "cpus":
            extra.setdefault("cpus", cpus(value))
        elif key == "pids":
            extra.setdefault("pids_limit", cv.integer(value))
        else:
            report.warn(f"{where}: resources.limits.{key} is not carried out", source.file,
                        line)
    for key, value in reservations.items():
        if key == "memory":
            extra.setdefault("mem_reservation", cv.text(value))
        else:
            report.warn(f"{where}: resources.reservations.{key} is not carried out (only"
                        " memory)", source.file, line)


def cpus(value: object) -> float:
    """A CPU count (`0.5`), more than 0."""
    try:
        cpus = float(cv.text(value))
    except ValueError:
        raise ValueError(f"cpus {quoted(value)} is not a number") from None
    if not cpus > 0 or cpus > 4096:
        raise ValueError(f"cpus {quoted(value)} must be more than 0")
    return cpus
