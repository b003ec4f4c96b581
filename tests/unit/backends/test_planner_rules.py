"""The planner's placement rules, one at a time and combined, on empty hosts."""

from __future__ import annotations

import pytest

from corral.backends.errors import PlanError
from corral.backends.plan.model import CREATE
from corral.backends.plan.planner import plan
from corral.catalog.problems import Problem
from corral.catalog.spec import Link, Stack, VolumesFrom
from tests.support.plan import host, other, stack, svc, where

THREE = [host("h1", {"zone": "a", "role": "media"}), host("h2", {"zone": "b", "role": "media"}),
         host("h3", {"zone": "a", "role": "edge"})]


def test_scale_creates_named_replicas() -> None:
    result = plan(stack(svc("web", scale=2)), THREE)
    steps = result.steps
    assert [(s.action, s.service, s.index, s.name) for s in steps] == [
        (CREATE, "web", 1, "st-web-1"), (CREATE, "web", 2, "st-web-2")]
    assert result.hosts == ("h1", "h2", "h3")


def test_spread_puts_one_replica_per_host_before_doubling_up() -> None:
    result = plan(stack(svc("web", scale=5)), THREE)
    assert where(result, "web") == ["h1", "h2", "h3", "h1", "h2"]


def test_spread_prefers_the_least_loaded_host() -> None:
    hosts = [host("h1", containers=(other("a"), other("b"))), host("h2", containers=(other("c"),)),
             host("h3", containers=(other("d"), other("e"), other("f")))]
    result = plan(stack(svc("web", scale=1)), hosts)
    assert where(result, "web") == ["h2"]
    rejected = dict(result.steps[0].rejected)
    assert rejected["h1"].startswith("more loaded: 2 containers per CPU")
    assert rejected["h3"].startswith("more loaded: 3")


def test_load_counts_per_cpu_and_ignores_stopped_containers() -> None:
    hosts = [host("h1", containers=(other("a"), other("b")), cpus=4),
             host("h2", containers=(other("c"), other("d", running=False)), cpus=1)]
    assert where(plan(stack(svc("web")), hosts), "web") == ["h1"]


def test_fewest_of_the_service_beats_load() -> None:
    st = stack(svc("web", scale=2), svc("db"))
    hosts = [host("h1"), host("h2", containers=(other("x"), other("y"), other("z")))]
    result = plan(st, hosts)
    assert where(result, "db") == ["h1"]
    assert where(result, "web") == ["h1", "h2"]


@pytest.mark.parametrize(("rules", "expected"), [
    (("host_label role=media",), ["h1", "h2", "h1"]),
    (("host_label_ne role=media",), ["h3", "h3", "h3"]),
    (("host_label zone=a", "host_label role=media"), ["h1", "h1", "h1"]),
])
def test_host_label_rules(rules: tuple[str, ...], expected: list[str]) -> None:
    assert where(plan(stack(svc("w", scale=3, rules=rules)), THREE), "w") == expected


def test_engine_labels_count_and_inventory_labels_win() -> None:
    hosts = [host("h1", {"role": "edge"}, engine_labels={"role": "media"}),
             host("h2", engine_labels={"role": "media"})]
    assert where(plan(stack(svc("w", rules=("host_label role=media",))), hosts), "w") == ["h2"]


def test_container_label_rules_follow_and_avoid_other_containers() -> None:
    hosts = [host("h1"), host("h2", containers=(other("db", {"app": "db"}),)), host("h3")]
    near = plan(stack(svc("w", scale=2, rules=("container_label app=db",))), hosts)
    assert where(near, "w") == ["h2", "h2"]
    away = plan(stack(svc("w", scale=2, rules=("container_label_ne app=db",))), hosts)
    assert where(away, "w") == ["h1", "h3"]
    assert dict(away.steps[0].rejected)["h2"] == "container_label_ne app=db: runs db"


def test_container_rule_matches_container_names() -> None:
    hosts = [host("h1", containers=(other("cache"),)), host("h2")]
    assert where(plan(stack(svc("w", rules=("container cache",))), hosts), "w") == ["h1"]
    assert where(plan(stack(svc("w", rules=("container_ne cache",))), hosts), "w") == ["h2"]


def test_rules_see_this_stacks_own_placements() -> None:
    st = stack(svc("db"), svc("app", rules=("container_label io.corral.service=db",)))
    result = plan(st, THREE)
    assert where(result, "app") == where(result, "db") == ["h1"]


def test_rancher_service_label_keeps_replicas_apart() -> None:
    # The idiom of the built-in catalog: hard anti-affinity with itself.
    anti = ("container_label_ne io.rancher.stack_service.name=st/w",)
    assert where(plan(stack(svc("w", scale=3, rules=anti)), THREE), "w") == ["h1", "h2", "h3"]
    with pytest.raises(PlanError) as caught:
        plan(stack(svc("w", scale=4, rules=anti)), THREE)
    assert caught.value.reasons["w #4"] == {
        "h1": "container_label_ne io.rancher.stack_service.name=st/w: runs st-w-1",
        "h2": "container_label_ne io.rancher.stack_service.name=st/w: runs st-w-2",
        "h3": "container_label_ne io.rancher.stack_service.name=st/w: runs st-w-3",
    }


def test_soft_rule_is_a_preference() -> None:
    result = plan(stack(svc("w", rules=("host_label_soft role=edge",))), THREE)
    assert where(result, "w") == ["h3"]
    assert dict(result.steps[0].rejected)["h1"] == (
        "soft rule host_label_soft role=edge: role is media")
    assert result.steps[0].dropped == ()


def test_soft_rule_that_fits_no_host_is_dropped_and_named() -> None:
    result = plan(stack(svc("w", rules=("host_label_soft role=gpu",))), THREE)
    step = result.steps[0]
    assert step.host == "h1"
    assert step.dropped == ("host_label_soft role=gpu",)
    assert "dropped soft rules: host_label_soft role=gpu" in step.reason


def test_soft_ne_spreads_then_gives_way() -> None:
    anti = ("container_label_soft_ne io.rancher.stack_service.name=st/w",)
    result = plan(stack(svc("w", scale=4, rules=anti)), THREE)
    assert where(result, "w") == ["h1", "h2", "h3", "h1"]
    dropped = [s.dropped for s in result.steps]
    assert dropped == [(), (), (), anti]


def test_soft_rules_are_dropped_in_priority_order_one_by_one() -> None:
    # zone=b only on h2, role=edge only on h3: both cannot hold at once. The
    # earlier rule stays, the later one goes.
    first = plan(stack(svc("w", rules=("host_label_soft zone=b", "host_label_soft role=edge"))),
                 THREE)
    assert (first.steps[0].host, first.steps[0].dropped) == ("h2", ("host_label_soft role=edge",))
    second = plan(stack(svc("w", rules=("host_label_soft role=edge", "host_label_soft zone=b"))),
                  THREE)
    assert (second.steps[0].host, second.steps[0].dropped) == ("h3", ("host_label_soft zone=b",))


def test_an_unfitting_soft_rule_does_not_cost_the_later_ones() -> None:
    rules = ("host_label_soft role=gpu", "host_label_soft zone=b")
    step = plan(stack(svc("w", rules=rules)), THREE).steps[0]
    assert (step.host, step.dropped) == ("h2", ("host_label_soft role=gpu",))


def test_hard_rules_filter_before_soft_ones() -> None:
    rules = ("host_label role=media", "host_label_soft role=edge")
    step = plan(stack(svc("w", rules=rules)), THREE).steps[0]
    assert step.host == "h1" and step.dropped == ("host_label_soft role=edge",)
    assert dict(step.rejected)["h3"] == "host_label role=media: role is edge"


def test_soft_host_label_ne_combined_with_hard_container_label() -> None:
    hosts = [host("h1", {"zone": "a"}, containers=(other("db", {"app": "db"}),)),
             host("h2", {"zone": "b"}, containers=(other("db2", {"app": "db"}),)),
             host("h3", {"zone": "c"})]
    rules = ("container_label app=db", "host_label_soft_ne zone=a")
    assert where(plan(stack(svc("w", scale=2, rules=rules)), hosts), "w") == ["h2", "h2"]


def test_global_runs_one_per_eligible_host() -> None:
    result = plan(stack(svc("agent", is_global=True, rules=("host_label role=media",))), THREE)
    assert where(result, "agent") == ["h1", "h2"]
    assert dict(result.steps[0].rejected) == {"h3": "host_label role=media: role is edge"}


def test_global_ignores_scale_and_skips_offline_and_busy_hosts() -> None:
    hosts = [host("h1"), host("h2", online=False, error="link down"),
             host("h3", containers=(other("busy", ports=(80,)),))]
    result = plan(stack(svc("agent", is_global=True, scale=7, ports=(80,))), hosts)
    assert where(result, "agent") == ["h1"]
    assert dict(result.steps[0].rejected) == {
        "h2": "offline (link down)", "h3": "port 80/tcp is taken by busy"}
    assert result.offline == (("h2", "link down"),)


def test_global_with_no_eligible_host_is_an_error() -> None:
    with pytest.raises(PlanError) as caught:
        plan(stack(svc("agent", is_global=True, rules=("host_label role=gpu",))), THREE)
    assert set(caught.value.reasons["agent (global)"]) == {"h1", "h2", "h3"}


def test_global_soft_rules_are_reported_as_not_choosing() -> None:
    result = plan(stack(svc("agent", is_global=True, rules=("host_label_soft role=edge",))),
                  THREE)
    assert where(result, "agent") == ["h1", "h2", "h3"]
    assert any("agent is global" in w for w in result.warnings)


def test_sidekicks_follow_their_primary_with_the_same_scale() -> None:
    st = stack(svc("media", scale=2, rules=("host_label role=media",), sidekicks=("rec",)),
               svc("rec"))
    result = plan(st, THREE)
    assert where(result, "rec") == where(result, "media") == ["h1", "h2"]
    rec = [s for s in result.steps if s.service == "rec"]
    assert [s.reason for s in rec] == ["sidekick of media replica 1", "sidekick of media replica 2"]


def test_sidekick_ports_and_rules_constrain_the_whole_group() -> None:
    hosts = [host("h1", containers=(other("x", ports=(9000,)),)), host("h2")]
    st = stack(svc("app", sidekicks=("metrics",)), svc("metrics", ports=(9000,)))
    result = plan(st, hosts)
    assert where(result, "app") == where(result, "metrics") == ["h2"]
    assert dict(result.steps[0].rejected) == {"h1": "port 9000/tcp is taken by x"}


def test_global_sidekicks() -> None:
    st = stack(svc("agent", is_global=True, sidekicks=("helper",)), svc("helper"))
    result = plan(st, THREE)
    assert where(result, "helper") == where(result, "agent") == ["h1", "h2", "h3"]


def test_published_ports_never_collide_on_a_host() -> None:
    result = plan(stack(svc("web", scale=3, ports=(8080,))), THREE)
    assert sorted(where(result, "web")) == ["h1", "h2", "h3"]
    with pytest.raises(PlanError) as caught:
        plan(stack(svc("web", scale=4, ports=(8080,))), THREE)
    assert caught.value.reasons == {"web #4": {
        "h1": "port 8080/tcp is taken by st-web-1", "h2": "port 8080/tcp is taken by st-web-2",
        "h3": "port 8080/tcp is taken by st-web-3"}}


def test_ports_of_other_containers_and_protocols() -> None:
    from corral.backends.plan.model import PortUse

    udp = other("dns", ports=())
    udp = type(udp)(name="dns", labels={}, ports=(PortUse(53, "udp"),), id="id-dns")
    hosts = [host("h1", containers=(udp,)), host("h2", containers=(other("web", ports=(53,)),))]
    assert where(plan(stack(svc("w", ports=(53,))), hosts), "w") == ["h1"]


def test_ports_bound_to_different_addresses_do_not_collide() -> None:
    from corral.backends.plan.model import PortUse

    assert not PortUse(80, "tcp", "10.0.0.1").collides(PortUse(80, "tcp", "10.0.0.2"))
    assert PortUse(80, "tcp", "10.0.0.1").collides(PortUse(80, "tcp", None))
    assert PortUse(80).collides(PortUse(80, "tcp", "0.0.0.0"))


def test_stopped_containers_hold_no_port() -> None:
    hosts = [host("h1", containers=(other("old", ports=(80,), running=False),))]
    assert where(plan(stack(svc("w", ports=(80,))), hosts), "w") == ["h1"]


def test_memory_reservation_excludes_full_hosts() -> None:
    hosts = [host("h1", memory=2**30, containers=(other("big", memory=900 * 2**20),)),
             host("h2", memory=2**30)]
    st = stack(svc("a", extra={"mem_reservation": "512m"}), svc("b", extra={"mem_limit": "100m"}))
    result = plan(st, hosts)
    assert where(result, "a") == ["h2"]
    with pytest.raises(PlanError) as caught:
        plan(stack(svc("a", scale=2, extra={"mem_reservation": "700m"})), hosts)
    assert caught.value.reasons["a #2"]["h2"] == "needs 700 MiB of memory, 324 MiB unreserved"


def test_unsatisfiable_hard_rules_list_every_host_and_rule() -> None:
    hosts = [*THREE, host("h4", online=False, error="ssh refused")]
    st = stack(svc("db", rules=("host_label role=db",)), svc("web", ports=(80,)))
    with pytest.raises(PlanError) as caught:
        plan(st, hosts)
    error = caught.value
    assert error.reasons == {"db #1": {
        "h1": "host_label role=db: role is media", "h2": "host_label role=db: role is media",
        "h3": "host_label role=db: role is edge", "h4": "offline (ssh refused)"}}
    text = str(error)
    assert "cannot place 1 replica of stack st; nothing was changed" in text
    assert "    h3: host_label role=db: role is edge" in text


def test_every_unplaceable_replica_is_reported() -> None:
    st = stack(svc("a", rules=("host_label x=1",)), svc("b", scale=2, rules=("host_label y=1",)))
    with pytest.raises(PlanError) as caught:
        plan(st, THREE)
    assert list(caught.value.reasons) == ["a #1", "b #1", "b #2"]


def test_no_online_host() -> None:
    with pytest.raises(PlanError, match="no host is online"):
        plan(stack(svc("a")), [host("h1", online=False)])


def test_stack_needing_rancher_is_refused() -> None:
    st = Stack("st", "e", "1", services=(svc("a"),),
               warnings=(Problem("lb_config needs Rancher", severity="unsupported"),))
    with pytest.raises(PlanError, match="cannot be deployed: lb_config"):
        plan(st, THREE)


def test_links_across_hosts_are_warned_about() -> None:
    st = stack(svc("kv", rules=("host_label role=edge",)),
               svc("web", scale=2, rules=("host_label role=media",),
                   links=(Link("kv", "kv"),)))
    result = plan(st, THREE)
    assert result.warnings == ("web links to kv, which does not run on h1, h2: plain Docker has"
                               " no network across hosts, so the link resolves only where both"
                               " run; `corral swarm init --hosts h1,h2,h3` makes them one"
                               " swarm, and the stack's network an overlay across them",)
    assert result.overlay == () and result.notes == ()
    together = stack(svc("kv"), svc("web", links=(Link("kv", "kv"),),
                                    rules=("container_label io.corral.service=kv",)))
    assert plan(together, THREE).warnings == ()


def test_external_links_to_a_container_name_are_warned_about_not_dropped_silently() -> None:
    st = stack(svc("web", external_links=(Link("legacy-db", "db"),)))
    assert plan(st, THREE).warnings == (
        "web's external link to legacy-db (as db) is not made: it names no service of another"
        " Corral stack (STACK/SERVICE); reach it by a published port or an external network"
        " both stacks declare",)


def test_volumes_from_another_service_needs_it_on_the_host() -> None:
    st = stack(svc("data", rules=("host_label role=edge",)),
               svc("app", volumes_from=(VolumesFrom("service", "data"),)))
    result = plan(st, THREE)
    assert where(result, "app") == ["h3"]
    assert dict(next(s for s in result.steps if s.service == "app").rejected)["h1"] == (
        "volumes_from data (needs a data container here): no such container")


def test_dependencies_start_first() -> None:
    st = stack(svc("a", depends_on=("z",)), svc("z", links=(Link("m", "m"),)), svc("m"))
    assert [s.service for s in plan(st, THREE).steps] == ["m", "z", "a"]


SWARM = [host(h.name, dict(h.labels), swarm="m1", swarm_manager=h.name == "h1") for h in THREE]


def test_links_across_one_swarm_resolve_on_an_overlay() -> None:
    st = stack(svc("kv", rules=("host_label role=edge",)),
               svc("web", scale=2, rules=("host_label role=media",),
                   links=(Link("kv", "kv"),)))
    result = plan(st, SWARM, overlay=True)
    assert result.warnings == ()
    assert result.overlay == ("h1", "h2", "h3")
    assert result.notes == ("overlay st_default spans h1, h2, h3",)
    assert result.to_dict()["network"] == {"driver": "overlay", "name": "st_default",
                                           "hosts": ["h1", "h2", "h3"]}


@pytest.mark.parametrize("hosts", [
    [host("h1", {"role": "media"}, swarm="m1", swarm_manager=True),
     host("h2", {"role": "media"}), host("h3", {"role": "edge"}, swarm="m1")],
    [host("h1", {"role": "media"}, swarm="m1"), host("h2", {"role": "media"}, swarm="m1"),
     host("h3", {"role": "edge"}, swarm="m1")],  # no manager among the hosts
    [host("h1", {"role": "media"}, swarm="m1", swarm_manager=True),
     host("h2", {"role": "media"}, swarm="m2", swarm_manager=True),
     host("h3", {"role": "edge"}, swarm="m1")],
], ids=["one-host-outside", "no-manager", "two-swarms"])
def test_hosts_not_in_one_managed_swarm_keep_the_warning(hosts) -> None:
    st = stack(svc("kv", rules=("host_label role=edge",)),
               svc("web", scale=2, rules=("host_label role=media",),
                   links=(Link("kv", "kv"),)))
    result = plan(st, hosts, overlay=True)
    assert result.overlay == () and result.notes == ()
    assert "plain Docker has no network across hosts" in result.warnings[0]
