"""The stack lease against a fake engine: atomic create, conflicts, re-entry, expiry."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from corral.backends.deploy import lease
from corral.backends.errors import DockerApiError, HostOffline, NotFound, StackBusy


class FakeApi:
    """The few Engine API calls the lease makes, with the engine's name rule (409)."""

    def __init__(self, now: float = 1_800_000_000.0, images: tuple[str, ...] = ("sha256:b",)):
        self.containers: dict[str, dict] = {}
        self.now = now
        self.image_ids = list(images)
        self.lock = threading.Lock()
        self.count = 0

    def _iso(self, epoch: float) -> str:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")

    def images(self, quiet: bool = False) -> list[str]:
        return list(self.image_ids)

    def create_container_from_config(self, body: dict, name: str) -> dict:
        with self.lock:
            if name in self.containers:
                raise DockerApiError("Conflict", status=409)
            self.count += 1
            ref = f"id{self.count}"
            self.containers[name] = {"Id": ref, "Name": f"/{name}", "Created": self._iso(self.now),
                                     "Config": {"Labels": dict(body["Labels"])}}
            return {"Id": ref}

    def inspect_container(self, ref: str) -> dict:
        for name, item in self.containers.items():
            if ref in (name, item["Id"]):
                return item
        raise NotFound("no such container")

    def remove_container(self, ref: str, force: bool = False) -> None:
        for name, item in list(self.containers.items()):
            if ref in (name, item["Id"]):
                del self.containers[name]
                return
        raise NotFound("no such container")

    def info(self) -> dict:
        return {"SystemTime": self._iso(self.now)}


class FakeSession:
    def __init__(self, name: str, api: FakeApi):
        self.name = name
        self.online = True
        self.client = SimpleNamespace(api=api)

    def call(self, method, *args, **kwargs):
        return method(self.client, *args, **kwargs)


class FakeFleet:
    def __init__(self, **apis: FakeApi):
        self.sessions = {name: FakeSession(name, api) for name, api in apis.items()}

    def session(self, name: str) -> FakeSession:
        return self.sessions[name]


def test_held_on_every_online_host_and_released_even_on_failure() -> None:
    fleet = FakeFleet(lab1=FakeApi(), lab2=FakeApi(), lab3=FakeApi())
    fleet.sessions["lab3"].online = False
    with pytest.raises(RuntimeError), lease.hold(fleet, "q3", "rm") as held:
        assert sorted(held.held) == ["lab1", "lab2"]
        labels = fleet.sessions["lab1"].client.api.containers["corral-lease.q3"]["Config"]["Labels"]
        assert labels[lease.OPERATION] == "rm" and labels[lease.TTL] == "600"
        assert "@" in labels[lease.OWNER] and labels[lease.PID].isdigit()
        raise RuntimeError("the verb failed")
    assert all(not s.client.api.containers for s in fleet.sessions.values())


def test_a_second_holder_is_refused_naming_holder_operation_host_and_since() -> None:
    fleet = FakeFleet(lab1=FakeApi(), lab2=FakeApi())
    errors: list[StackBusy] = []
    with lease.hold(fleet, "q3", "deploy"):
        def other() -> None:  # another thread: the console's pass beside an apply
            try:
                with lease.hold(fleet, "q3", "reconcile"):
                    pass
            except StackBusy as exc:
                errors.append(exc)
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        # Same thread again: re-entrant, owns nothing, the outer lease stays.
        with lease.hold(fleet, "q3", "deploy") as inner:
            assert inner.nested
        assert "corral-lease.q3" in fleet.sessions["lab1"].client.api.containers
    (error,) = errors
    message = str(error)
    assert "stack q3 is held by" in message and "for deploy on lab1 since 2027-01-15" in message
    assert "corral lease break q3" in message and "\n" not in message
    assert not fleet.sessions["lab2"].client.api.containers  # lab1 refused first: none taken


def test_an_expired_or_dead_lease_is_taken_over_a_live_one_is_not() -> None:
    api = FakeApi()
    fleet = FakeFleet(lab1=api)
    api.containers["corral-lease.q3"] = {
        "Id": "old", "Name": "/corral-lease.q3", "Created": api._iso(api.now - 700),
        "Config": {"Labels": {lease.STACK: "q3", lease.OWNER: "bob@far", lease.PID: "7",
                              lease.BOOT: "elsewhere", lease.OPERATION: "rm",
                              lease.TTL: "600"}}}
    with lease.hold(fleet, "q3", "deploy") as held:
        assert held.held == {"lab1": "id1"}
    _, _, boot = lease.whoami()
    api.containers["corral-lease.q3"] = {
        "Id": "dead", "Name": "/corral-lease.q3", "Created": api._iso(api.now),
        "Config": {"Labels": {lease.STACK: "q3", lease.OWNER: "me@here", lease.PID: "999999999",
                              lease.BOOT: boot, lease.OPERATION: "deploy", lease.TTL: "1800"}}}
    with lease.hold(fleet, "q3", "rm"):
        pass
    api.containers["corral-lease.q3"] = {
        "Id": "live", "Name": "/corral-lease.q3", "Created": api._iso(api.now - 10),
        "Config": {"Labels": {lease.STACK: "q3", lease.OWNER: "bob@far", lease.PID: "7",
                              lease.BOOT: "elsewhere", lease.OPERATION: "upgrade",
                              lease.TTL: "1800"}}}
    with pytest.raises(StackBusy, match="bob@far .pid 7. for upgrade on lab1"), \
            lease.hold(fleet, "q3", "rm"):
        pass


def test_a_host_without_images_is_skipped_and_a_broken_lease_is_noticed() -> None:
    fleet = FakeFleet(lab1=FakeApi(images=()), lab2=FakeApi())
    with lease.hold(fleet, "q3", "deploy") as held:
        assert held.held == {"lab2": "id1"}
        fleet.sessions["lab2"].client.api.containers.clear()  # `corral lease break` elsewhere
        with pytest.raises(StackBusy, match="broken on lab2 while this deploy waited"), \
                lease.hold(fleet, "q3", "deploy"):
            pass


def test_a_read_only_process_writes_no_lease() -> None:
    from corral.backends import guard

    guard.enter_readonly("--readonly")
    fleet = FakeFleet(lab1=FakeApi())
    with lease.hold(fleet, "q3", "deploy") as held:
        assert held.held == {}
    assert not fleet.sessions["lab1"].client.api.containers


def test_one_engine_under_two_host_names_is_named_not_taken_for_a_rival() -> None:
    from corral.backends.errors import SameEngine

    api = FakeApi()
    fleet = FakeFleet(lab1=api, lab1b=api)

    def read_engine_ids() -> None:
        for session in fleet.sessions.values():
            session.engine_id = "ENGINE-X"

    def check_engines() -> None:
        raise SameEngine("lab1b is the same Docker engine as lab1", hosts=("lab1", "lab1b"))

    fleet.read_engine_ids, fleet.check_engines = read_engine_ids, check_engines
    with pytest.raises(SameEngine), lease.hold(fleet, "q3", "deploy"):
        pass
    assert not api.containers


def test_a_lease_left_on_a_host_offline_at_release_is_this_process_s_to_take_again() -> None:
    """The console applies, a host drops mid-apply (its lease cannot be removed), the host
    comes back, the operator applies again: the same process must not be busy with itself,
    while another of its threads holding the lease still excludes."""
    lab1, lab2 = FakeApi(), FakeApi()
    fleet = FakeFleet(lab1=lab1, lab2=lab2)
    with lease.hold(fleet, "q3", "deploy"):
        fleet.sessions["lab2"].call = _offline  # the release cannot reach lab2
    assert "corral-lease.q3" in lab2.containers and not lab1.containers
    fleet.sessions["lab2"].call = FakeSession("lab2", lab2).call  # back
    with lease.hold(fleet, "q3", "deploy") as held:
        assert sorted(held.held) == ["lab1", "lab2"]
        errors: list[StackBusy] = []

        def other() -> None:  # the console's health pass beside the apply
            try:
                with lease.hold(fleet, "q3", "reconcile"):
                    pass
            except StackBusy as exc:
                errors.append(exc)
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert len(errors) == 1
    assert not lab1.containers and not lab2.containers


def _offline(method, *args, **kwargs):
    raise HostOffline("not connected", host="lab2")
