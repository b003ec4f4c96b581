"""Telling engines apart: IDs from `docker info`, one engine under two names, the fleet's view."""

from __future__ import annotations

import asyncio

import pytest

from corral.backends.engine_identity import engine_id, engine_owner, same_engine
from corral.backends.errors import SameEngine
from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.fleet import Fleet

ID1 = "FIYK:RCOD:A4EN:ZU2D:JT4R:4T3G:2GQO:OFJS:DA7R:JHNP:UIFC:2MYX"
ID2 = "KIV5:ETNL:WXML:FYZF:3XOA:KMD3:3DJG:TEA4:C767:G4H5:KR5L:3LLJ"


def test_engine_id_is_the_info_id_else_the_swarm_node() -> None:
    assert engine_id({"ID": ID1, "Swarm": {"NodeID": "n1"}}) == ID1
    assert engine_id({"ID": "", "Swarm": {"NodeID": "n1"}}) == "swarm:n1"
    assert engine_id({"Name": "lab1"}) is None


def test_same_engine_names_the_first_host_and_the_extra_one() -> None:
    assert same_engine({"lab1": ID1, "lab2": ID2, "lab3": None}) is None
    problem = same_engine({"lab1": ID1, "lab2": ID2, "lab1b": ID1, "lab3": None})
    assert isinstance(problem, SameEngine)
    assert problem.hosts == ("lab1", "lab1b")
    assert str(problem).startswith("lab1b is the same Docker engine as lab1 (engine ID FIYK:")
    assert "changes nothing on any host" in str(problem)
    assert problem.exit_code == 2


def test_engine_owner_skips_the_candidate_itself() -> None:
    known = {"lab1": ID1, "lab2": ID2}
    assert engine_owner(ID1, known) == "lab1"
    assert engine_owner(ID1, known, skip="lab1") is None
    assert engine_owner(None, known) is None


def spec(name: str, port: int = 22) -> HostSpec:
    return HostSpec(name, SshTarget("127.0.0.1", "root", port))


def test_fleet_refuses_to_act_while_two_hosts_are_one_engine() -> None:
    fleet = Fleet(Inventory((spec("lab1"), spec("lab1b", 2222))), SshSettings())
    fleet.check_engines()  # nothing known yet
    fleet.sessions["lab1"].engine_id = ID1
    fleet.sessions["lab1b"].engine_id = ID1
    with pytest.raises(SameEngine, match="lab1b is the same Docker engine as lab1"):
        fleet.check_engines()


def test_fleet_follows_a_reloaded_inventory() -> None:
    fleet = Fleet(Inventory((spec("lab1"), spec("lab1b", 2222), spec("lab2"))), SshSettings())
    fleet.sessions["lab1"].engine_id = fleet.sessions["lab1b"].engine_id = ID1
    kept = fleet.sessions["lab1"]
    changed = HostSpec("lab2", SshTarget("127.0.0.2", "root", 22), line=7)
    new = Inventory((HostSpec("lab1", SshTarget("127.0.0.1", "root", 22), line=9), changed,
                     spec("lab3")))
    removed, added = asyncio.run(fleet.apply_inventory(new))
    assert removed == ["lab1b", "lab2"] and added == ["lab2", "lab3"]
    assert list(fleet.sessions) == ["lab1", "lab2", "lab3"]
    assert fleet.sessions["lab1"] is kept  # only moved in the file: not reconnected
    assert fleet.sessions["lab2"].spec.address == "127.0.0.2"
    assert fleet.inventory is new
    assert fleet.same_engine() is None


def test_a_query_during_a_reload_asks_the_hosts_it_read_once() -> None:
    # remove_host replaces the inventory, then the sessions: a query between the
    # two once asked the inventory for a host it had just listed, and raised.
    fleet = Fleet(Inventory((spec("lab1"), spec("lab1b", 2222))), SshSettings())
    fleet.inventory = Inventory((spec("lab1"),))
    try:
        results = fleet.query(lambda session: session.name)
    finally:
        asyncio.run(fleet.close())
    assert [result.value for result in results] == ["lab1", "lab1b"]
