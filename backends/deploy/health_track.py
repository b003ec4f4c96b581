"""Health states of containers from successive probe results (pure).

Rancher's rules: a container starts `initializing`; `healthy_threshold`
successes in a row make it `healthy`; `unhealthy_threshold` failures in a
row make it `unhealthy`, except that failures during the initializing
grace (`initializing_timeout` after creation) do not count, and a container
watched since its grace and still initializing when the grace ends is
unhealthy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corral.backends.deploy.health import HEALTHY, INITIALIZING, UNHEALTHY
from corral.catalog.spec import HealthCheck


@dataclass
class Health:
    """What the tracker knows of one container."""

    state: str = INITIALIZING
    successes: int = 0
    failures: int = 0
    last_error: str | None = None
    #: First probed during its initializing grace (so a failure right after
    #: the grace means it never came up). A container first seen later, by a
    #: Corral process started long after it, needs the usual failures in a row.
    seen_in_grace: bool = False


@dataclass
class HealthTracker:
    """Health per container id, updated one probe result at a time."""

    containers: dict[str, Health] = field(default_factory=dict)

    def update(self, container: str, check: HealthCheck, error: str | None,
               age_ms: float) -> Health:
        """Record one probe of `container` (None error: success) `age_ms` after its creation.

        Returns:
            Its health after this probe.
        """
        grace = check.initializing_timeout or 0
        health = self.containers.get(container)
        if health is None:
            health = self.containers[container] = Health(seen_in_grace=age_ms < grace)
        if error is None:
            health.successes, health.failures, health.last_error = health.successes + 1, 0, None
            if health.successes >= check.healthy_threshold:
                health.state = HEALTHY
            return health
        health.successes, health.failures, health.last_error = 0, health.failures + 1, error
        initializing = health.state == INITIALIZING
        if initializing and age_ms < grace:
            health.failures = 0  # failures during the grace do not count
        elif health.failures >= check.unhealthy_threshold or (
                initializing and grace and health.seen_in_grace):
            health.state = UNHEALTHY
        return health

    def forget(self, keep: set[str]) -> None:
        """Drop containers that no longer exist (bounded memory in `--watch`)."""
        for container in list(self.containers):
            if container not in keep:
                del self.containers[container]

    def state(self, container: str) -> str:
        """The container's state (`initializing` when never probed)."""
        health = self.containers.get(container)
        return health.state if health else INITIALIZING


def may_recreate(check: HealthCheck, healthy: int) -> bool:
    """Whether the strategy allows recreating an unhealthy container now.

    Args:
        check: The service's health check.
        healthy: How many of the service's containers are healthy now.
    """
    if check.strategy == "recreate":
        return True
    if check.strategy == "recreateOnQuorum":
        return healthy >= (check.quorum or 1)
    return False
