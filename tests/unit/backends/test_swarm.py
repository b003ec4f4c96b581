"""Swarm membership from `docker info`, the cluster view, and planning init/join/leave (pure)."""

from __future__ import annotations

import pytest

from corral.backends.errors import SwarmError
from corral.backends.swarm import Cluster, member_of, plan_init, plan_join, plan_leave
from corral.backends.swarm.cluster import node_of


def info(node: str = "", manager: bool = False, managers: tuple[str, ...] = (),
         state: str = "active") -> dict:
    swarm = {"NodeID": node, "NodeAddr": f"10.0.0.{len(node)}", "LocalNodeState": state,
             "ControlAvailable": manager, "Error": "",
             "RemoteManagers": [{"NodeID": m, "Addr": f"{m}:2377"} for m in managers] or None}
    if manager:
        swarm |= {"Cluster": {"ID": "c1"}, "Nodes": 3, "Managers": len(managers)}
    return {"Swarm": swarm}


def node(node_id: str, hostname: str, role: str = "worker", reachable: bool = True,
         leader: bool = False) -> dict:
    attrs = {"ID": node_id, "Description": {"Hostname": hostname},
             "Spec": {"Role": role, "Availability": "active"},
             "Status": {"State": "ready", "Addr": "10.0.0.1"}}
    if role == "manager":
        attrs["ManagerStatus"] = {"Leader": leader,
                                  "Reachability": "reachable" if reachable else "unreachable"}
    return attrs


def cluster(managers: dict[str, bool], workers: list[str], outside: list[str] = ()) -> Cluster:
    """Hosts named like their nodes: `managers` host -> reachable."""
    ids = tuple(sorted(f"id-{h}" for h in managers))
    found = Cluster()
    for host in managers:
        found.members[host] = member_of(host, info(f"id-{host}", True, ids))
    for host in workers:
        found.members[host] = member_of(host, info(f"id-{host}", False, ids))
    for host in outside:
        found.members[host] = member_of(host, {"Swarm": {"LocalNodeState": "inactive"}})
    by_node = {m.node_id: h for h, m in found.members.items() if m.active}
    key = min(ids)
    found.nodes[key] = [node_of(node(f"id-{h}", h, "manager", ok, i == 0), by_node)
                        for i, (h, ok) in enumerate(managers.items())]
    found.nodes[key] += [node_of(node(f"id-{h}", h), by_node) for h in workers]
    return found


def test_members_of_one_swarm_share_a_key_whatever_their_role() -> None:
    manager = member_of("lab1", info("id-a", True, ("id-a",)))
    worker = member_of("lab2", info("id-b", False, ("id-a",)))
    alone = member_of("lab3", {"Swarm": {"NodeID": "", "LocalNodeState": "inactive"}})
    assert manager.swarm_key == worker.swarm_key == "id-a"
    assert manager.manager and manager.cluster_id == "c1" and not worker.cluster_id
    assert alone.swarm_key is None and not alone.active


def test_cluster_maps_hosts_to_nodes_and_counts_quorum() -> None:
    found = cluster({"lab1": True, "lab2": True, "lab3": False}, ["lab4"], ["lab5"])
    key = found.swarms[0]
    assert found.hosts_in(key) == ["lab1", "lab2", "lab3", "lab4"]
    assert found.outside() == ["lab5"]
    assert found.managers(key)[0] == "lab1"  # the leader first
    assert found.node("lab4").role == "worker" and found.node("lab4").host == "lab4"
    quorum = found.quorum(key)
    assert (quorum.managers, quorum.reachable, quorum.needed, quorum.held) == (3, 2, 2, True)
    assert quorum.tolerates == 0
    assert found.to_dict()["swarms"][0]["quorum"]["held"] is True


def test_init_splits_managers_and_workers_and_refuses_a_member() -> None:
    found = cluster({"lab1": True}, [], ["lab2", "lab3", "lab4"])
    init = plan_init(found, ["lab2", "lab3", "lab4"], managers=3)
    assert (init.first, init.managers, init.workers) == ("lab2", ("lab3", "lab4"), ())
    assert not init.warnings
    assert "odd number" in plan_init(found, ["lab2", "lab3"], managers=2).warnings[0]
    with pytest.raises(SwarmError, match="already in a swarm") as caught:
        plan_init(found, ["lab2", "lab1"])
    assert caught.value.host == "lab1"
    with pytest.raises(SwarmError, match="--managers 4"):
        plan_init(found, ["lab2", "lab3"], managers=4)


def test_join_goes_through_a_manager_and_warns_without_quorum() -> None:
    found = cluster({"lab1": False, "lab2": False, "lab3": True}, [], ["lab4"])
    join = plan_join(found, "lab4", manager=True)
    assert join.via == "lab1" and join.manager
    assert any("no quorum" in w for w in join.warnings)
    assert any("odd number" in w for w in join.warnings)
    with pytest.raises(SwarmError, match="already in a swarm"):
        plan_join(found, "lab1")


def test_leave_warns_when_quorum_would_be_lost() -> None:
    found = cluster({"lab1": True, "lab2": True, "lab3": False}, ["lab4"])
    leave = plan_leave(found, "lab2")
    assert leave.manager and leave.via == "lab1" and not leave.last
    assert leave.warnings == ("quorum would be lost: 1 of 2 managers would answer, 2 needed",)
    worker = plan_leave(found, "lab4")
    assert not worker.manager and worker.via == "lab1" and not worker.warnings


def test_the_last_manager_leaves_only_with_force() -> None:
    found = cluster({"lab1": True}, ["lab2", "lab3"])
    with pytest.raises(SwarmError, match="last manager.*--force") as caught:
        plan_leave(found, "lab1")
    assert caught.value.host == "lab1"
    leave = plan_leave(found, "lab1", force=True)
    assert leave.last and leave.warnings == (
        "lab1 is the last manager: the swarm ends: lab2, lab3 lose it too",)
