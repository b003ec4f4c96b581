"""Swarm services and tasks read from a manager's lists, and the availability change."""

from __future__ import annotations

import pytest

from corral.backends import guard
from corral.backends.errors import ActionRefused, SwarmError
from corral.backends.swarm import Node, set_availability, tasks_on
from corral.backends.swarm.listing import service_of, stack_of, task_of

NODES = {
    "n1": Node("n1", "lab1", "manager", "active", "ready", host="lab1", leader=True),
    "n2": Node("n2", "lab2", "worker", "active", "ready", host="lab2"),
    "n3": Node("n3", "lab3", "worker", "active", "down", host="lab3"),
}


def task(tid: str, node: str, slot: int, desired: str = "running", state: str = "running",
         err: str = "", ts: str = "2026-12-03T12:00:00Z") -> dict:
    return {"ID": tid, "ServiceID": "s1", "NodeID": node, "Slot": slot, "DesiredState": desired,
            "Status": {"State": state, "Err": err, "Timestamp": ts, "Message": state,
                       "ContainerStatus": {"ContainerID": f"c{tid}"}}}


def test_stack_comes_from_corral_labels_else_the_namespace() -> None:
    assert stack_of("web_api", {"io.corral.stack": "web", "io.corral.service": "api",
                                "com.docker.stack.namespace": "web"}) == ("web", "api", True)
    assert stack_of("shop_db", {"com.docker.stack.namespace": "shop"}) == ("shop", "db", False)
    assert stack_of("lonely", {}) == ("", "lonely", False)


def test_replicas_count_running_tasks_on_nodes_that_are_up() -> None:
    tasks = [task_of(t, NODES) for t in (
        task("t1", "n1", 1), task("t2", "n2", 2), task("t3", "n3", 3),
        task("t4", "n2", 3, state="failed", desired="shutdown", err="boom",
             ts="2026-12-03T11:00:00Z"))]
    attrs = {"ID": "s1", "Spec": {"Name": "shop_db", "Labels": {
        "com.docker.stack.namespace": "shop"}, "Mode": {"Replicated": {"Replicas": 3}},
        "TaskTemplate": {"ContainerSpec": {"Image": "busybox:1@sha256:abc"}}},
        "UpdateStatus": {"State": "rollback_completed", "Message": "rolled back"}}
    service = service_of(attrs, tasks, "lab1")
    assert (service.key, service.mode, service.running, service.desired) == ("shop/db",
                                                                           "replicated", 2, 3)
    assert service.update_state == "rollback_completed" and service.image == "busybox:1"
    assert [t.id for t in service.tasks] == ["t1", "t2", "t3", "t4"]
    assert service.tasks[2].node_down and service.tasks[2].host == "lab3"
    assert service.tasks[3].error == "boom"
    assert [t.id for _, t in tasks_on([service], "n2")] == ["t2"]


def test_global_service_wants_a_task_per_node_that_is_up() -> None:
    tasks = [task_of(task("g1", "n1", 0), NODES), task_of(task("g3", "n3", 0), NODES)]
    service = service_of({"ID": "s1", "Spec": {"Name": "agent", "Mode": {"Global": {}}}},
                         tasks)
    assert (service.mode, service.replicas, service.running, service.desired) == (
        "global", None, 1, 1)


class FakeSession:
    name = "lab1"

    def __init__(self) -> None:
        self.updated: list = []

    def call(self, fn):
        return fn(self)

    # the docker-py APIClient the lambdas reach through `client.api`
    @property
    def api(self):
        return self

    def inspect_node(self, node_id):
        return {"ID": node_id, "Version": {"Index": 7}, "Spec": {"Role": "worker",
                                                                  "Availability": "active"}}

    def update_node(self, node_id, version, spec):
        self.updated.append((node_id, version, spec))


class FakeFleet:
    def __init__(self) -> None:
        self.one = FakeSession()

    def session(self, name):
        return self.one


def test_drain_goes_through_the_gate_with_the_node_version() -> None:
    fleet = FakeFleet()
    seen = []
    guard.add_observer(lambda m, outcome, detail: seen.append((m.verb, m.target, outcome)))
    set_availability(fleet, "lab1", NODES["n2"], "drain")  # type: ignore[arg-type]
    assert fleet.one.updated == [("n2", 7, {"Role": "worker", "Availability": "drain"})]
    assert seen == [("swarm.node.availability", "lab2", "ok")]
    with pytest.raises(SwarmError):
        set_availability(fleet, "lab1", NODES["n2"], "pause")  # type: ignore[arg-type]
    with pytest.raises(ActionRefused):
        set_availability(fleet, "lab1", NODES["n2"], "active", readonly=True)  # type: ignore[arg-type]
    assert len(fleet.one.updated) == 1


def test_a_node_whose_host_is_unreachable_is_tied_by_address_then_hostname() -> None:
    from types import SimpleNamespace

    from corral.backends.swarm import Cluster, tie_offline_hosts

    cluster = Cluster(offline={"edge": "timed out", "lab3": "timed out"}, nodes={"k": [
        NODES["n1"],
        Node("n8", "box8", "worker", "active", "down", "10.9.9.9"),
        Node("n3", "lab3", "worker", "active", "down", "10.0.0.3"),
        Node("n7", "other", "worker", "active", "down", "10.7.7.7")]})
    sessions = {"edge": SimpleNamespace(spec=SimpleNamespace(ssh=SimpleNamespace(
        address="10.9.9.9"))), "lab3": SimpleNamespace(spec=SimpleNamespace(ssh=None))}
    tie_offline_hosts(SimpleNamespace(sessions=sessions), cluster)  # type: ignore[arg-type]
    assert [n.host for n in cluster.nodes["k"]] == ["lab1", "edge", "lab3", None]
