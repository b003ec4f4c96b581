"""What only a Rancher server provides, found (and, on request, dropped) before a build.

Agent API roles and agent services (`io.rancher.container.agent.role`,
`create_agent`, `agent_service.*` labels), Rancher storage drivers
(`volume_driver: rancher-nfs`, a stack volume's `driver: rancher-ebs`) and the
`storage_driver` / `network_driver` blocks of rancher-compose.yml make a stack
undeployable. `--without-rancher-features` removes each of them from the
rendered documents before the services are built, so the rest deploys; each
removed item is named in the plan. Without the flag the same items are only
listed, so the refusal can name them all and the flag.
"""

from __future__ import annotations

from corral.catalog.compose.rancher import AGENT_LABELS, UNSUPPORTED_DRIVER
from corral.catalog.problems import Problem

FLAG = "--without-rancher-features"
_RANCHER_BLOCKS = {"storage_driver": "a Rancher storage driver",
                   "network_driver": "a Rancher network driver"}


def _services(document: object) -> dict:
    """The service mappings of a compose or rancher-compose document (either layout)."""
    if not isinstance(document, dict):
        return {}
    nested = document.get("services")
    if isinstance(nested, dict) and ("version" in document or any(
            isinstance(v, dict) for v in nested.values())):
        return {k: v for k, v in nested.items() if isinstance(v, dict)}
    return {k: v for k, v in document.items()
            if isinstance(v, dict) and k not in ("version", "volumes", "networks", "catalog",
                                                 ".catalog")}


def _agent_label(key: object) -> bool:
    return isinstance(key, str) and any(
        key == prefix or (prefix.endswith(".") and key.startswith(prefix))
        for prefix in AGENT_LABELS)


def _labels(service: dict, name: str, drop: bool) -> list[str]:
    labels = service.get("labels")
    found: list[str] = []
    if isinstance(labels, dict):
        for key in [k for k in labels if _agent_label(k)]:
            found.append(f"service {name}: label {key} (a Rancher agent)")
            if drop:
                del labels[key]
    elif isinstance(labels, list):
        keep = []
        for item in labels:
            key = str(item).partition("=")[0] if isinstance(item, str | int | float) else None
            if key is not None and _agent_label(key):
                found.append(f"service {name}: label {key} (a Rancher agent)")
            else:
                keep.append(item)
        if drop:
            labels[:] = keep
    return found


def rancher_features(compose_doc: object, rancher_doc: object, *, drop: bool) -> list[str]:
    """Find the Rancher-server-only items of a rendered stack; remove them if `drop`.

    Args:
        compose_doc: The interpolated docker-compose document (changed in place).
        rancher_doc: The interpolated rancher-compose document, or None.
        drop: Remove each item found.

    Returns:
        One description per item, in file order.
    """
    found: list[str] = []
    for name, service in _services(compose_doc).items():
        found += _labels(service, name, drop)
        driver = service.get("volume_driver")
        if isinstance(driver, str) and UNSUPPORTED_DRIVER.fullmatch(driver):
            found.append(f"service {name}: volume_driver {driver} (a Rancher storage driver)")
            if drop:
                del service["volume_driver"]
    volumes = compose_doc.get("volumes") if isinstance(compose_doc, dict) else None
    if isinstance(volumes, dict) and isinstance(compose_doc.get("services"), dict):
        for name, config in volumes.items():
            driver = config.get("driver") if isinstance(config, dict) else None
            if isinstance(driver, str) and UNSUPPORTED_DRIVER.fullmatch(driver):
                found.append(f"volume {name}: driver {driver} (a Rancher storage driver;"
                             " a local volume instead)")
                if drop:
                    del config["driver"]
                    config.pop("driver_opts", None)
    for name, service in _services(rancher_doc).items():
        for key, what in _RANCHER_BLOCKS.items():
            if key in service:
                found.append(f"service {name}: {key} ({what})")
                if drop:
                    del service[key]
    return found


def refusal(stack_name: str, warnings: tuple[Problem, ...], droppable: tuple[str, ...]) -> str:
    """Why a stack cannot be deployed: every blocking feature, and the flag when it helps."""
    blocked = [p.message for p in warnings if p.severity == "unsupported"]
    message = f"stack {stack_name} cannot be deployed: {'; '.join(blocked)}"
    if droppable:
        count = len(droppable)
        message += (f"; {FLAG} drops the {count} Rancher-only item{'s' * (count > 1)}"
                    f" ({'; '.join(droppable)})")
        if len(blocked) > count:
            message += ", not the others"
    return message
