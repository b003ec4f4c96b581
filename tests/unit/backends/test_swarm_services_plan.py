"""Planning a stack on Swarm against a fake manager: create, keep (no-op), update with a
diff, scale, remove, and a password change the hash cannot see."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from corral.backends import labels as L
from corral.backends.errors import NotFound, SwarmError
from corral.backends.swarm import Cluster, Member, Node, plan_stack, translate
from corral.backends.swarm.services import engine
from tests.support.plan import stack, svc

SECRET = "s3cretpass"


class FakeApi:
    def __init__(self, services: list[dict], networks: list[str], node_labels: dict,
                 images: set[str]):
        self._services, self._networks = services, networks
        self._node_labels, self._images = node_labels, images

    def services(self, filters: dict) -> list[dict]:
        return self._services

    def networks(self, names: list[str]) -> list[dict]:
        return [{"Id": n, "Name": n} for n in self._networks if n in names]

    def nodes(self) -> list[dict]:
        return [{"ID": "n1", "Spec": {"Labels": self._node_labels}}]

    def inspect_image(self, image: str) -> dict:
        if image not in self._images:
            raise NotFound(f"no image {image}")
        return {}


class FakeSession:
    online = True

    def __init__(self, api: FakeApi):
        self.client = SimpleNamespace(api=api)
        self.spec = SimpleNamespace(labels={"role": "db"})

    def call(self, method):
        return method(self.client)


class FakeFleet:
    readonly = False

    def __init__(self, api: FakeApi):
        self._session = FakeSession(api)

    def session(self, name: str) -> FakeSession:
        return self._session

    def query(self, work, hosts=None):
        return [SimpleNamespace(host="m", ok=True, value=work(self._session))]


@pytest.fixture(autouse=True)
def one_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = Cluster(members={"m": Member("m", "active", "n1", manager=True,
                                            managers=("n1",))},
                      nodes={"n1": [Node("n1", "m", "manager", "active", "ready", host="m")]})
    monkeypatch.setattr(engine, "find_manager", lambda fleet: ("m", cluster))


def deployed(st, **changes) -> list[dict]:
    """The services as Swarm would hold them after deploying `st`."""
    return [{"ID": s.full_name, "Version": {"Index": 7},
             "Spec": {**s.spec, **changes.get(s.name, {})}} for s in translate(st).services]


def fleet(services: list[dict], network: bool = True, labelled: bool = True,
          images: set[str] | None = None) -> FakeFleet:
    return FakeFleet(FakeApi(services, ["st_default"] if network else [],
                             {"role": "db"} if labelled else {},
                             {"corral-lab/busybox:1"} if images is None else images))


def actions(plan) -> list[tuple[str, str]]:
    return [(s.action, s.service) for s in plan.steps]


def test_a_new_stack_is_created_with_its_overlay_and_node_labels() -> None:
    st = stack(svc("db", rules=("host_label role=db",)), svc("web", scale=2))
    plan = plan_stack(fleet([], network=False, labelled=False, images=set()), st)
    assert actions(plan) == [("create", "db"), ("create", "web")]
    assert plan.node_labels == {"n1": ("m", {"role": "db"})} and not plan.network
    assert plan.generation == 1 and not plan.no_op
    # The node gets role=db before the services: both may run there (the image rows are the
    # deploy layer's, `test_swarm_images.py`).
    assert plan.task_hosts == {"db": ("m",), "web": ("m",)} and plan.warnings == []


def test_the_same_stack_again_asks_nothing() -> None:
    st = stack(svc("db"), svc("web", scale=2))
    plan = plan_stack(fleet(deployed(st)), st)
    assert actions(plan) == [("keep", "db"), ("keep", "web")] and plan.no_op
    assert plan.to_dict()["no_op"] and plan.warnings == []


def test_changes_are_updates_with_a_diff_scales_and_removals() -> None:
    before = stack(svc("db"), svc("old"), svc("web", scale=2))
    after = stack(svc("db", user="nobody"), svc("web", scale=4))
    services = deployed(before)
    for service in services:  # what Swarm fills in by itself is no change
        service["Spec"]["TaskTemplate"]["ContainerSpec"]["Isolation"] = "default"
    plan = plan_stack(fleet(services), after)
    assert actions(plan) == [("update", "db"), ("scale", "web"), ("remove", "old")]
    assert plan.steps[0].changes == ("TaskTemplate.ContainerSpec.User: - -> nobody",)
    assert plan.steps[1].changes == ("replicas: 2 -> 4",)


def test_a_changed_password_is_an_update_that_never_shows_it() -> None:
    def with_password(value: str):
        st = stack(svc("db", environment={"PW": value}))
        return dataclasses.replace(st, secrets=frozenset({value}))

    old, new = with_password("old-password"), with_password(SECRET)
    assert translate(old).services[0].spec_hash == translate(new).services[0].spec_hash
    plan = plan_stack(fleet(deployed(old)), new)
    assert actions(plan) == [("update", "db")]
    assert plan.steps[0].changes == ("TaskTemplate.ContainerSpec.Env.PW: (password) changed",)
    assert SECRET not in str(plan.to_dict()) and "old-password" not in str(plan.to_dict())
    assert actions(plan_stack(fleet(deployed(new)), new)) == [("keep", "db")]


def test_a_stack_swarm_cannot_run_is_refused_before_any_host_is_asked() -> None:
    st = stack(svc("media", rules=("container_label app=db",)))
    with pytest.raises(SwarmError, match="stack st cannot run on Swarm: media: container_label"):
        plan_stack(None, st)  # type: ignore[arg-type]


def test_the_record_is_read_back_from_the_labels() -> None:
    st = stack(svc("db"))
    services = deployed(st)
    services[0]["Spec"]["Labels"] = {**services[0]["Spec"]["Labels"],
                                     **engine.record_labels(st, None, 4)}
    plan = plan_stack(fleet(services), stack(svc("db", user="x")))
    assert plan.generation == 5
    assert L.DEFINITION in services[0]["Spec"]["Labels"]


def test_constraints_judge_node_labels_and_leave_other_constraints_met() -> None:
    def spec(*constraints: str) -> dict:
        return {"TaskTemplate": {"Placement": {"Constraints": list(constraints)}}}

    assert engine.placeable(spec(), {})
    assert engine.placeable(spec("node.labels.role==db"), {"role": "db"})
    assert not engine.placeable(spec("node.labels.role==db"), {"role": "web"})
    assert not engine.placeable(spec("node.labels.role==db"), {})
    assert engine.placeable(spec("node.labels.role!=db"), {})  # Swarm: a missing label is !=
    assert not engine.placeable(spec("node.labels.role != db"), {"role": "db"})
    assert engine.placeable(spec("node.role==manager"), {})


def test_task_hosts_are_the_ready_active_nodes_meeting_the_constraints(monkeypatch) -> None:
    nodes = [Node("n1", "m", "manager", "active", "ready", host="m"),
             Node("n2", "w", "worker", "active", "ready", host="w"),
             Node("n3", "d", "worker", "drain", "ready", host="d"),
             Node("n4", "x", "worker", "active", "down", host="x"),
             Node("n5", "stray", "worker", "active", "ready")]
    cluster = Cluster(members={"m": Member("m", "active", "n1", manager=True,
                                            managers=("n1",))}, nodes={"n1": nodes})
    monkeypatch.setattr(engine, "find_manager", lambda fleet: ("m", cluster))
    st = stack(svc("db", rules=("host_label role=db",)), svc("web"))
    hosts = fleet([], images=set())
    unlabelled = FakeSession(hosts._session.client.api)
    unlabelled.spec = SimpleNamespace(labels={})
    hosts.session = lambda name: hosts._session if name == "m" else unlabelled  # type: ignore[method-assign]
    plan = plan_stack(hosts, st)
    # Only m's inventory labels say role=db: the other nodes may run the unconstrained web.
    assert plan.task_hosts == {"db": ("m",), "web": ("m", "w")}
    assert plan.warnings == ["node stray (n5): may run tasks of this stack, but Corral cannot"
                             " reach it (offline, or not in the inventory): its images are not"
                             " checked, and a task Swarm places there starts only if the node"
                             " holds its image"]
