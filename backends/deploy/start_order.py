"""Compose `depends_on` conditions during a host's converge.

Containers start in dependency order already (`plan.board.service_order`).
A dependency with condition `service_healthy` or
`service_completed_successfully` must also have reached that state before
its dependents start, as `docker compose up` waits. Corral converges hosts
in parallel, so the wait covers the dependency's containers started on the
same host in this apply; a dependency on another host is only ordered.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from corral.backends.errors import DeployError
from corral.backends.ssh.session import HostSession
from corral.catalog.spec import Service

HEALTHY, COMPLETED = "service_healthy", "service_completed_successfully"


def wait_dependencies(session: HostSession, service: Service, started: dict[str, list[str]],
                      timeout: float, wait_health: Callable[[str], str | None]) -> None:
    """Block until the dependencies `service` names with a condition are there.

    Args:
        session: The host.
        service: The service about to start.
        started: Service -> container names started on this host in this apply.
        timeout: Seconds to wait for one dependency to complete.
        wait_health: Waits for one container's engine health; returns why it
            is not healthy, or None.

    Raises:
        DeployError: A dependency is unhealthy, or did not complete successfully.
    """
    for target, condition in sorted(service.depends_on_conditions.items()):
        for name in started.get(target, []):
            if condition == HEALTHY:
                why = wait_health(name)
                if why:
                    raise DeployError(f"{service.name} waits for {target} to be healthy:"
                                      f" {name}: {why}", host=session.name)
            elif condition == COMPLETED:
                code = _exit_code(session, name, timeout)
                if code != 0:
                    raise DeployError(f"{service.name} waits for {target} to complete"
                                      f" successfully: {name} "
                                      + ("is still running" if code is None
                                         else f"exited with code {code}"),
                                      host=session.name)


def _exit_code(session: HostSession, name: str, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while True:
        inspect = session.call(lambda client: client.api.inspect_container(name))
        state = inspect.get("State") or {}
        if not state.get("Running") and state.get("Status") != "created":
            return int(state.get("ExitCode") or 0)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.3)
