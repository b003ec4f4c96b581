"""Health states from probe results, and the recreate strategies."""

from __future__ import annotations

from corral.backends.deploy.health import (
    HEALTHY,
    INITIALIZING,
    UNHEALTHY,
    container_address,
    request_bytes,
)
from corral.backends.deploy.health_track import HealthTracker, may_recreate
from corral.catalog.spec import HealthCheck

CHECK = HealthCheck(port=80, request_line='GET "/health" "HTTP/1.0"', path="/health",
                    healthy_threshold=2, unhealthy_threshold=3)
GRACE = HealthCheck(port=80, initializing_timeout=10_000, healthy_threshold=1,
                    unhealthy_threshold=3)


def feed(tracker: HealthTracker, check: HealthCheck, results: list[str | None],
         age_ms: float = 100_000) -> list[str]:
    return [tracker.update("c", check, error, age_ms).state for error in results]


def test_thresholds_flip_the_state() -> None:
    tracker = HealthTracker()
    assert feed(tracker, CHECK, [None, None]) == [INITIALIZING, HEALTHY]
    assert feed(tracker, CHECK, ["x", "x", None, "x", "x", "x"]) == [
        HEALTHY, HEALTHY, HEALTHY, HEALTHY, HEALTHY, UNHEALTHY]
    assert tracker.containers["c"].last_error == "x"
    assert feed(tracker, CHECK, [None, None]) == [UNHEALTHY, HEALTHY]


def test_failures_in_the_grace_do_not_count_then_never_up_is_unhealthy() -> None:
    tracker = HealthTracker()
    assert [tracker.update("c", GRACE, "refused", age).state
            for age in (1_000, 5_000, 9_000)] == [INITIALIZING] * 3
    assert tracker.update("c", GRACE, "refused", 10_500).state == UNHEALTHY


def test_a_container_first_seen_after_its_grace_needs_the_usual_failures() -> None:
    tracker = HealthTracker()
    assert feed(tracker, GRACE, ["x", "x", "x"]) == [INITIALIZING, INITIALIZING, UNHEALTHY]


def test_forget_bounds_the_tracker() -> None:
    tracker = HealthTracker()
    for name in ("a", "b"):
        tracker.update(name, CHECK, None, 0)
    tracker.forget({"b"})
    assert list(tracker.containers) == ["b"] and tracker.state("a") == INITIALIZING


def test_strategies() -> None:
    assert may_recreate(HealthCheck(port=1, strategy="recreate"), healthy=0)
    assert not may_recreate(HealthCheck(port=1, strategy="none"), healthy=5)
    quorum = HealthCheck(port=1, strategy="recreateOnQuorum", quorum=2)
    assert not may_recreate(quorum, healthy=1) and may_recreate(quorum, healthy=2)


def test_request_line_and_addresses() -> None:
    assert request_bytes(CHECK, "10.0.0.5") == (
        b"GET /health HTTP/1.0\r\nHost: 10.0.0.5\r\nConnection: close\r\n\r\n")
    assert request_bytes(HealthCheck(port=1), "x") is None
    inspect = {"HostConfig": {"NetworkMode": "demo_default"},
               "NetworkSettings": {"Networks": {"demo_default": {"IPAddress": "172.18.0.3"}}}}
    assert container_address(inspect) == "172.18.0.3"
    assert container_address({"HostConfig": {"NetworkMode": "host"}}) == "127.0.0.1"
    assert container_address({"NetworkSettings": {"Networks": {}}}) is None
