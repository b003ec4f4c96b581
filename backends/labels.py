"""Container labels that say which stack and service a container belongs to.

Corral writes its own; Docker Compose and Rancher 1.x containers are
understood too, so an existing estate shows up grouped from day one.
"""

from __future__ import annotations

STACK = "io.corral.stack"
SERVICE = "io.corral.service"
# What a deploy writes on every object it creates (see `backends/deploy_*.py`).
REPLICA = "io.corral.replica"
CONFIG_HASH = "io.corral.config-hash"
ENTRY = "io.corral.catalog.entry"
VERSION = "io.corral.catalog.version"
# A container kept stopped after an upgrade until confirm or rollback is
# renamed with this suffix (labels cannot change on an existing container).
PREVIOUS_SUFFIX = ".prev"
# The per-host record volume that holds a stack's deployed definition.
RECORD = "io.corral.record"
# On records and containers: the definition generation that made them.
GENERATION = "io.corral.generation"
DEFINITION = "io.corral.definition"
# The per-host audit volumes (see `backends/audit/remote.py`): the stack ("" for
# none) and the entry as JSON.
AUDIT = "io.corral.audit"
AUDIT_ENTRY = "io.corral.audit.entry"
# Rancher's own labels, written too so Rancher-style affinity rules such as
# `container_label_soft_ne: io.rancher.stack_service.name=...` find Corral's containers.
RANCHER_STACK = "io.rancher.stack.name"
RANCHER_SERVICE = "io.rancher.stack_service.name"

# (stack label, service label), most specific first.
_SCHEMES = (
    (STACK, SERVICE),
    ("com.docker.compose.project", "com.docker.compose.service"),
    ("com.docker.stack.namespace", "com.docker.swarm.service.name"),
    ("io.rancher.stack.name", "io.rancher.stack_service.name"),
)


def stack_and_service(labels: dict[str, str] | None) -> tuple[str | None, str | None]:
    """The stack and service names a container's labels declare.

    Rancher's service label is `stack/service`; only the service part is kept.
    """
    labels = labels or {}
    for stack_key, service_key in _SCHEMES:
        stack = labels.get(stack_key)
        if stack:
            service = labels.get(service_key) or None
            if service and service.startswith(f"{stack}/"):
                service = service[len(stack) + 1 :]
            if service and stack_key == "com.docker.stack.namespace":
                service = service.removeprefix(f"{stack}_")
            return stack, service
    return None, None
