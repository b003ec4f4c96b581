"""Deploying `external_links` to another stack: the endpoint made, the hash that notices."""

from __future__ import annotations

from types import SimpleNamespace

from corral.backends.deploy.body import config_hash, instantiate
from corral.backends.deploy.host import create_container
from corral.backends.deploy.objects import remove_network, remove_overlay
from corral.backends.deploy.stacks import _network_gone
from corral.backends.errors import DockerApiError
from corral.backends.plan.model import CREATE, Step
from corral.catalog.spec import Link
from tests.support.plan import stack, svc


class _Api:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def create_container_from_config(self, body: dict, name: str) -> None:
        self.calls.append(("create", name))

    def connect_container_to_network(self, container: str, network: str, **kwargs) -> None:
        self.calls.append(("connect", container, network, kwargs))


class _Session:
    name = "h1"

    def __init__(self) -> None:
        self.client = SimpleNamespace(api=_Api())

    def call(self, fn):
        return fn(self.client)


def test_the_other_stacks_network_is_joined_with_the_link_alias_and_no_alias_of_ours() -> None:
    session = _Session()
    step = Step(CREATE, "web", 1, "h1", "b-web-1", "new")
    create_container(session, step, {}, [("shop_default", [], None, ["shop-db-1:database"])],
                     start=False)
    assert session.client.api.calls == [
        ("create", "b-web-1"),
        ("connect", "b-web-1", "shop_default",
         {"aliases": None, "ipv4_address": None, "ipv6_address": None,
          "links": [("shop-db-1", "database")]})]


def test_external_links_count_in_the_hash_but_not_in_the_body() -> None:
    plain = stack(svc("web"), name="b")
    linked = stack(svc("web", external_links=(Link("shop/db", "database"),)), name="b")
    assert config_hash(plain, plain.service("web")) != config_hash(linked, linked.service("web"))
    _, body, extra = instantiate(linked, linked.service("web"), 1, {}, "h")
    assert "_external" not in body and extra == []


class _NetApi:
    def __init__(self, containers: dict, refuse: bool = False) -> None:
        self.containers, self.refuse, self.removed = containers, refuse, []

    def inspect_network(self, name: str) -> dict:
        return {"Name": name, "Containers": self.containers}

    def remove_network(self, name: str) -> None:
        if self.refuse:
            raise DockerApiError("network has active endpoints", status=403)
        self.removed.append(name)


def _net_session(api: _NetApi) -> _Session:
    session = _Session()
    session.client = SimpleNamespace(api=api)
    return session


def test_a_network_another_stack_still_joins_is_kept_not_a_failure_half_way() -> None:
    api = _NetApi({"abc": {"Name": "b-web-1"}})
    assert remove_network(_net_session(api), "shop_default") == ["b-web-1"]
    assert api.removed == []
    line = _network_gone("h1", "shop", "shop_default", ["b-web-1"])
    assert line.detail == ("kept: b-web-1 still join it (another stack's external_links);"
                           " deploying shop again reuses it, or `docker network rm"
                           " shop_default` on h1 once they left")
    refused = _NetApi({}, refuse=True)  # an overlay joined on another host
    assert remove_network(_net_session(refused), "shop_default") == ["containers on other hosts"]
    free = _NetApi({})
    assert remove_network(_net_session(free), "shop_default") == [] and free.removed


def test_an_overlays_own_endpoints_and_the_containers_just_removed_do_not_keep_it() -> None:
    api = _NetApi({"lb-shop_default": {"Name": "shop_default-endpoint"},
                   "ep-0a1b2c": {"Name": "shop-web-2"}})
    assert remove_network(_net_session(api), "shop_default", gone={"shop-web-2"}) == []
    assert api.removed == ["shop_default"]


def test_an_overlay_refused_for_endpoints_elsewhere_is_removed_once_the_swarm_learnt(
        monkeypatch) -> None:
    class _Settling(_NetApi):
        """Refuses once (the other host's endpoint not yet released), then removes."""

        def remove_network(self, name: str) -> None:
            try:
                super().remove_network(name)
            finally:
                self.refuse = False

    monkeypatch.setattr("corral.backends.deploy.objects.time.sleep", lambda _: None)
    api = _Settling({}, refuse=True)
    assert remove_overlay(_net_session(api), "shop_default") == []
    assert api.removed == ["shop_default"]
    stuck = _NetApi({}, refuse=True)
    assert remove_overlay(_net_session(stuck), "shop_default", settle=0) == [
        "containers on other hosts"]
