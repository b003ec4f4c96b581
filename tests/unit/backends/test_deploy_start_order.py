"""`depends_on` conditions at apply: a dependent waits for its dependency's state."""

from __future__ import annotations

import pytest

from corral.backends.deploy.start_order import wait_dependencies
from corral.backends.errors import DeployError
from corral.catalog.spec import Service


class _Api:
    def __init__(self, states: dict[str, list[dict]]):
        self.states = states

    def inspect_container(self, name: str) -> dict:
        sequence = self.states[name]
        return {"State": sequence.pop(0) if len(sequence) > 1 else sequence[0]}


class _Session:
    name = "h1"

    def __init__(self, states: dict[str, list[dict]]):
        self.api = _Api(states)

    def call(self, fn):
        return fn(self)


def _app(**conditions: str) -> Service:
    return Service("app", image="x", depends_on=tuple(conditions),
                   depends_on_conditions=dict(conditions))


def test_completed_dependency_is_waited_for() -> None:
    session = _Session({"s-init-1": [{"Running": True}, {"Running": True},
                                     {"Running": False, "Status": "exited", "ExitCode": 0}]})
    wait_dependencies(session, _app(init="service_completed_successfully"),  # type: ignore[arg-type]
                      {"init": ["s-init-1"]}, 5, lambda name: None)
    assert session.api.states["s-init-1"] == [{"Running": False, "Status": "exited",
                                               "ExitCode": 0}]


def test_failed_or_unhealthy_dependency_stops_the_dependent() -> None:
    session = _Session({"s-init-1": [{"Running": False, "Status": "exited", "ExitCode": 3}]})
    with pytest.raises(DeployError, match="exited with code 3"):
        wait_dependencies(session, _app(init="service_completed_successfully"),  # type: ignore[arg-type]
                          {"init": ["s-init-1"]}, 5, lambda name: None)
    waited = []
    with pytest.raises(DeployError, match="healthy: s-db-1: unhealthy"):
        wait_dependencies(session, _app(db="service_healthy"), {"db": ["s-db-1"]},  # type: ignore[arg-type]
                          5, lambda name: waited.append(name) or "unhealthy")
    assert waited == ["s-db-1"]
    # service_started only orders: nothing is waited for.
    wait_dependencies(session, _app(db="service_started"), {"db": ["s-db-1"]}, 5,  # type: ignore[arg-type]
                      lambda name: pytest.fail("waited"))
