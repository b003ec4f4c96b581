"""A compose `healthcheck` as the engine API's `Healthcheck` body (containers and services)."""

from __future__ import annotations

from corral.catalog.spec import ComposeHealthcheck

#: The engine API counts healthcheck durations in nanoseconds.
NANOSECONDS = 1_000_000_000


def healthcheck_body(check: ComposeHealthcheck) -> dict:
    """The `Healthcheck` a container config or a Swarm ContainerSpec takes for CHECK.

    Args:
        check: The service's compose healthcheck.

    Returns:
        `{"Test": ["NONE"]}` when disabled, else the test with the durations
        (in nanoseconds) and retries it sets.
    """
    if check.disable:
        return {"Test": ["NONE"]}
    body: dict = {"Test": list(check.test)}
    for key, value in (("Interval", check.interval), ("Timeout", check.timeout),
                       ("StartPeriod", check.start_period)):
        if value is not None:
            body[key] = int(value * NANOSECONDS)
    if check.retries is not None:
        body["Retries"] = check.retries
    return body
