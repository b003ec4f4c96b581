"""What Rancher added on top of docker-compose: rancher-compose.yml service keys
and the `io.rancher.*` labels, and what of it only a Rancher server can do.

Scale, health checks, upgrade strategies, sidekicks and scheduling labels have
an equivalent a Corral planner can honour; load balancers are read by `lb.py`.
Rancher's certificate store, agent containers, selectors and storage drivers do not:
those are reported as `unsupported` problems naming the file and key.
"""

from __future__ import annotations

import re

from corral.catalog.compose.values import boolean, integer, text
from corral.catalog.excerpt import quoted
from corral.catalog.spec import Affinity, HealthCheck, Scheduling, UpgradeStrategy

SIDEKICKS = "io.rancher.sidekicks"
GLOBAL = "io.rancher.scheduler.global"
AFFINITY = "io.rancher.scheduler.affinity:"
PULL_IMAGE = "io.rancher.container.pull_image"
START_ONCE = "io.rancher.container.start_once"

#: Why LB labels on other services are refused: Corral reads a load balancer's own config.
LB_NOT_YET = ("Corral reads load balancer rules from the LB service's lb_config (or a legacy"
              " LB's own target labels), not from other services' labels")
# Labels that ask a Rancher server for an agent (API roles, agent services):
# `--without-rancher-features` drops them.
AGENT_LABELS = ("io.rancher.container.create_agent", "io.rancher.container.agent.role",
                "io.rancher.container.agent_service.")

# Labels Rancher set or read that are harmless (or honoured) outside it.
_KNOWN_LABELS = {
    SIDEKICKS, GLOBAL, PULL_IMAGE, START_ONCE, "io.rancher.container.dns",
    "io.rancher.container.network", "io.rancher.container.hostname_override",
    "io.rancher.container.system", "io.rancher.stack.name", "io.rancher.stack_service.name",
    "io.rancher.service.external_dns",
}
_UNSUPPORTED_LABELS = {
    "io.rancher.container.create_agent": "asks Rancher for an agent API token",
    "io.rancher.container.agent.role": "asks Rancher for an agent API role",
    "io.rancher.lb_service.": "configures a load balancer: " + LB_NOT_YET,
    "io.rancher.loadbalancer.": "configures a load balancer: " + LB_NOT_YET,
    "io.rancher.service.selector.": "selects services through Rancher's API",
    "io.rancher.container.agent_service.": "runs a Rancher agent service",
}
_UNSUPPORTED_IMAGES = {
    "rancher/external-service": "Rancher's external service",
    "rancher/dns-service": "Rancher's service alias",
}
RANCHER_KEYS = {"scale", "health_check", "upgrade_strategy", "retain_ip", "start_on_create",
                "metadata", "drain_timeout_ms", "scale_policy"}
UNSUPPORTED_KEYS = {
    "default_cert": "a certificate from Rancher's certificate store",
    "certs": "certificates from Rancher's certificate store",
    "external_ips": "Rancher's external service",
    "service_schemas": "Rancher's API schemas",
    "storage_driver": "a Rancher storage driver",
    "network_driver": "a Rancher network driver",
    "vcpu": "Rancher virtual machines",
    "memory": "Rancher virtual machines",
    "userdata": "Rancher virtual machines",
    "disks": "Rancher virtual machines",
}
UNSUPPORTED_DRIVER = re.compile(r"rancher-(nfs|ebs|efs|secrets)|convoy.*")
_HEALTH_KEYS = {"port", "request_line", "interval", "response_timeout", "initializing_timeout",
                "reinitializing_timeout", "healthy_threshold", "unhealthy_threshold",
                "strategy", "recreate_on_quorum_strategy_config"}
_UPGRADE_KEYS = {"start_first", "batch_size", "interval_millis"}
_AFFINITY = re.compile(r"(host_label|container_label|container)(_soft)?(_ne)?")


def unsupported_image(image: str | None) -> str | None:
    """Why an image only works inside Rancher, or None."""
    if not image:
        return None
    repository = image.split("@")[0].rsplit(":", 1)[0] if "/" in image else image
    return _UNSUPPORTED_IMAGES.get(repository)


def health_check(value: object) -> tuple[HealthCheck, list[str]]:
    """Parse `health_check`; returns the check and the unknown keys it had.

    Raises:
        ValueError: A missing port, bad number or unknown strategy.
    """
    if not isinstance(value, dict):
        raise ValueError("expected a mapping")
    if value.get("port") is None:
        raise ValueError("port is required")
    strategy = text(value.get("strategy", "recreate"))
    if strategy not in ("none", "recreate", "recreateOnQuorum"):
        raise ValueError(f"unknown strategy {quoted(strategy)}"
                         " (none, recreate or recreateOnQuorum)")
    quorum = None
    if strategy == "recreateOnQuorum":
        config = value.get("recreate_on_quorum_strategy_config")
        if not isinstance(config, dict) or config.get("quorum") is None:
            raise ValueError("recreateOnQuorum needs recreate_on_quorum_strategy_config.quorum")
        quorum = integer(config["quorum"], 1)
    request_line = text(value["request_line"]) if value.get("request_line") else None
    path = None
    if request_line:
        match = re.match(r'\s*\S+\s+"?([^"\s]+)"?', request_line)
        path = match.group(1) if match else None

    def number(key: str, default: int | None) -> int | None:
        return integer(value[key], 0) if value.get(key) is not None else default

    port = integer(value["port"], 1)
    if port > 65535:
        raise ValueError(f"invalid port {port}")
    check = HealthCheck(
        port=port,
        request_line=request_line,
        path=path,
        interval=number("interval", 2000),  # type: ignore[arg-type]
        response_timeout=number("response_timeout", 2000),  # type: ignore[arg-type]
        initializing_timeout=number("initializing_timeout", None),
        reinitializing_timeout=number("reinitializing_timeout", None),
        healthy_threshold=number("healthy_threshold", 2),  # type: ignore[arg-type]
        unhealthy_threshold=number("unhealthy_threshold", 3),  # type: ignore[arg-type]
        strategy=strategy,
        quorum=quorum,
    )
    return check, sorted(str(k) for k in value if k not in _HEALTH_KEYS)


def upgrade_strategy(value: object) -> tuple[UpgradeStrategy, list[str]]:
    """Parse `upgrade_strategy`; returns it and the unknown keys it had.

    Raises:
        ValueError: A bad boolean or number.
    """
    if not isinstance(value, dict):
        raise ValueError("expected a mapping")
    strategy = UpgradeStrategy(
        start_first=boolean(value.get("start_first", False)),
        batch_size=integer(value.get("batch_size", 1), 1),
        interval=integer(value.get("interval_millis", 2000), 0),
    )
    return strategy, sorted(str(k) for k in value if k not in _UPGRADE_KEYS)


def sidekicks(labels: dict[str, str]) -> tuple[str, ...]:
    """The sidekick service names of `io.rancher.sidekicks`."""
    return tuple(name.strip() for name in labels.get(SIDEKICKS, "").split(",") if name.strip())


def scheduling(labels: dict[str, str]) -> tuple[Scheduling, list[str]]:
    """The scheduling of a service from its `io.rancher.scheduler.*` labels.

    Returns:
        The scheduling, and messages about labels that could not be read.
    """
    problems: list[str] = []
    is_global = False
    if GLOBAL in labels:
        try:
            is_global = boolean(labels[GLOBAL])
        except ValueError:
            problems.append(f"label {GLOBAL} must be true or false")
    rules: list[Affinity] = []
    for key, value in labels.items():
        if key.startswith("io.rancher.scheduler.") and key != GLOBAL and \
                not key.startswith(AFFINITY):
            problems.append(f"label {key} is not a scheduler label Corral knows")
            continue
        if not key.startswith(AFFINITY):
            continue
        match = _AFFINITY.fullmatch(key[len(AFFINITY):])
        if not match:
            problems.append(f"label {key} is not a scheduler label Corral knows")
            continue
        kind = match.group(1)
        for item in (part.strip() for part in (value or "").split(",")):
            if not item:
                continue
            label_key, sep, label_value = item.partition("=")
            if kind != "container" and not sep:
                problems.append(f"label {key}: {quoted(item)} is not key=value")
                continue
            rules.append(Affinity(
                kind=kind,
                key=None if kind == "container" else label_key.strip(),
                value=item if kind == "container" else label_value.strip(),
                negated=bool(match.group(3)),
                soft=bool(match.group(2)),
            ))
    return Scheduling(is_global, tuple(rules)), problems


def label_findings(labels: dict[str, str]) -> tuple[list[str], list[str]]:
    """Rancher labels Corral cannot honour, and `io.rancher.*` labels it does not know.

    Returns:
        (unsupported messages, warning messages)
    """
    unsupported: list[str] = []
    unknown: list[str] = []
    for key in labels:
        if not key.startswith("io.rancher.") or key in _KNOWN_LABELS or \
                key.startswith(("io.rancher.scheduler.",)):
            continue
        reason = next((why for prefix, why in _UNSUPPORTED_LABELS.items()
                       if key == prefix or (prefix.endswith(".") and key.startswith(prefix))),
                      None)
        if reason:
            unsupported.append(f"label {key} {reason}")
        else:
            unknown.append(f"label {key} has no effect outside Rancher")
    return unsupported, unknown


def scale_policy(value: object) -> tuple[int, int | None]:
    """Rancher's `scale_policy` ({min, max, increment}): (min, max).

    Corral starts `min` containers and never scales by itself between the two.

    Raises:
        ValueError: Not a mapping, a missing or bad min, or max below min.
    """
    if not isinstance(value, dict):
        raise ValueError("expected a mapping with min and max")
    if value.get("min") is None:
        raise ValueError("min is required")
    low = integer(value["min"], 0)
    high = integer(value["max"], 0) if value.get("max") is not None else None
    if high is not None and high < low:
        raise ValueError(f"max {high} is below min {low}")
    return low, high


def expose_host_sides(value: object) -> list[str]:
    """The `HOST:CONTAINER` items of an `expose` (list or mapping), whose host side is unused.

    Rancher opened them on its managed network only; Corral exposes the
    container port and says so.
    """
    items = [f"{k}:{v}" for k, v in value.items()] if isinstance(value, dict) else \
        value if isinstance(value, list) else []
    return [str(item) for item in items if ":" in str(item)]
