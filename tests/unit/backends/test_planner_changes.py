"""The planner against a stack that is already deployed: keep, replace, move, remove."""

from __future__ import annotations

import dataclasses

from corral.backends import labels as L
from corral.backends.plan.model import CREATE, KEEP, REMOVE, REPLACE, START
from corral.backends.plan.planner import plan
from corral.catalog.spec import VolumesFrom
from tests.support.plan import apply_on_paper, deployed, host, other, stack, svc, where

HASHES = {"web": "h1", "db": "h1", "rec": "h1", "agent": "h1", "media": "h1", "data": "h1"}


def actions(result) -> list[tuple[str, str, int, str]]:
    return [(s.action, s.service, s.index, s.host) for s in result.steps]


def test_reapplying_the_applied_plan_changes_nothing() -> None:
    st = stack(svc("web", scale=3, ports=(80,)), svc("db"),
               svc("agent", is_global=True, sidekicks=("rec",)), svc("rec"))
    hosts = [host("h1", {"r": "x"}), host("h2"), host("h3")]
    first = plan(st, hosts, HASHES)
    second = plan(st, apply_on_paper(st, first, hosts, HASHES), HASHES)
    assert second.no_op
    assert {(s.service, s.index, s.host) for s in second.steps} == {
        (s.service, s.index, s.host) for s in first.steps}
    assert all(s.reason == "up to date" for s in second.steps)


def test_changed_hash_replaces_in_place() -> None:
    st = stack(svc("web", scale=2))
    hosts = [host("h1", containers=(deployed(st, "web", 1),)),
             host("h2", containers=(deployed(st, "web", 2),))]
    result = plan(st, hosts, {"web": "h2"})
    assert actions(result) == [(REPLACE, "web", 1, "h1"), (REPLACE, "web", 2, "h2")]
    assert result.steps[0].container == "id-st-web-1"
    assert result.steps[0].config_hash == "h2"
    assert result.steps[0].reason == "configuration changed"


def test_unknown_hash_keeps_what_runs() -> None:
    st = stack(svc("web"))
    hosts = [host("h1", containers=(deployed(st, "web", 1, config_hash="zz"),))]
    assert actions(plan(st, hosts, {})) == [(KEEP, "web", 1, "h1")]


def test_stopped_replica_is_started_unless_it_runs_once() -> None:
    st = stack(svc("web"), svc("job", start_once=True))
    hosts = [host("h1", containers=(deployed(st, "web", 1, running=False),
                                    deployed(st, "job", 1, running=False)))]
    result = plan(st, hosts, {"web": "h1", "job": "h1"})
    assert sorted(actions(result)) == [(KEEP, "job", 1, "h1"), (START, "web", 1, "h1")]


def test_scale_down_removes_the_highest_indexes() -> None:
    st3 = stack(svc("web", scale=3))
    hosts = [host("h1", containers=(deployed(st3, "web", 1), deployed(st3, "web", 3))),
             host("h2", containers=(deployed(st3, "web", 2),))]
    result = plan(stack(svc("web", scale=1)), hosts, HASHES)
    assert actions(result) == [(REMOVE, "web", 2, "h2"), (REMOVE, "web", 3, "h1"),
                               (KEEP, "web", 1, "h1")]
    assert result.steps[0].reason == "scale is 1"


def test_scale_up_adds_replicas_where_spread_says() -> None:
    st = stack(svc("web", scale=3))
    hosts = [host("h1", containers=(deployed(st, "web", 1),)), host("h2"), host("h3")]
    result = plan(st, hosts, HASHES)
    assert actions(result) == [(KEEP, "web", 1, "h1"), (CREATE, "web", 2, "h2"),
                               (CREATE, "web", 3, "h3")]


def test_services_that_left_the_stack_are_removed() -> None:
    old = stack(svc("web"), svc("cache"))
    hosts = [host("h1", containers=(deployed(old, "web", 1), deployed(old, "cache", 1)))]
    result = plan(stack(svc("web")), hosts, HASHES)
    assert actions(result) == [(REMOVE, "cache", 1, "h1"), (KEEP, "web", 1, "h1")]
    assert result.steps[0].reason == "service cache is no longer in the stack"


def test_other_stacks_and_previous_copies_are_not_touched() -> None:
    st = stack(svc("web"))
    theirs = deployed(stack(svc("web"), name="other"), "web", 1)
    previous = dataclasses.replace(deployed(st, "web", 1, suffix="-old"),
                                   name=f"st-web-1{L.PREVIOUS_SUFFIX}")
    result = plan(st, [host("h1", containers=(theirs, previous))], HASHES)
    assert actions(result) == [(CREATE, "web", 1, "h1")]


def test_unlabelled_replica_is_removed() -> None:
    st = stack(svc("web"))
    broken = deployed(st, "web", 1)
    broken = dataclasses.replace(broken, labels={k: v for k, v in broken.labels.items()
                                                 if k != L.REPLICA})
    result = plan(st, [host("h1", containers=(broken,))], HASHES)
    assert actions(result) == [(REMOVE, "web", 0, "h1"), (CREATE, "web", 1, "h1")]


def test_replicas_of_an_offline_host_are_placed_elsewhere() -> None:
    st = stack(svc("web", scale=2, ports=(80,)))
    hosts = [host("h1", containers=(deployed(st, "web", 1),)),
             host("h2", online=False, error="gone"), host("h3")]
    result = plan(st, hosts, HASHES)
    assert actions(result) == [(KEEP, "web", 1, "h1"), (CREATE, "web", 2, "h3")]
    assert dict(result.steps[1].rejected) == {
        "h1": "port 80/tcp is taken by st-web-1", "h2": "offline (gone)"}


def test_returning_host_loses_its_stale_copies() -> None:
    st = stack(svc("web", scale=2))
    stale = deployed(st, "web", 2, created=1.0)
    fresh = deployed(st, "web", 2, created=50.0)
    hosts = [host("h1", containers=(deployed(st, "web", 1),)), host("h2", containers=(stale,)),
             host("h3", containers=(fresh,))]
    result = plan(st, hosts, HASHES)
    assert actions(result) == [(REMOVE, "web", 2, "h2"), (KEEP, "web", 1, "h1"),
                               (KEEP, "web", 2, "h3")]
    assert result.steps[0].reason == "duplicate: replica 2 is kept on h3"


def test_duplicates_prefer_the_current_configuration_then_running() -> None:
    st = stack(svc("web"))
    old_hash = deployed(st, "web", 1, config_hash="h0", created=90.0)
    stopped = deployed(st, "web", 1, running=False, created=80.0)
    running = deployed(st, "web", 1, created=10.0)
    hosts = [host("h1", containers=(old_hash,)), host("h2", containers=(stopped,)),
             host("h3", containers=(running,))]
    kept = [s for s in plan(st, hosts, HASHES).steps if s.action != REMOVE]
    assert [(s.action, s.host) for s in kept] == [(KEEP, "h3")]


def test_global_duplicates_on_one_host_are_removed() -> None:
    st = stack(svc("agent", is_global=True))
    hosts = [host("h1", containers=(deployed(st, "agent", 1, created=5.0),
                                    dataclasses.replace(deployed(st, "agent", 4), name="x",
                                                        created=1.0)))]
    result = plan(st, hosts, HASHES)
    assert actions(result) == [(REMOVE, "agent", 4, "h1"), (KEEP, "agent", 1, "h1")]


def test_global_fills_a_new_host_with_a_free_index() -> None:
    st = stack(svc("agent", is_global=True))
    hosts = [host("h1", containers=(deployed(st, "agent", 2),)), host("h2"), host("h3")]
    result = plan(st, hosts, HASHES)
    assert actions(result) == [(CREATE, "agent", 1, "h2"), (KEEP, "agent", 2, "h1"),
                               (CREATE, "agent", 3, "h3")]


def test_host_that_no_longer_fits_loses_its_replica() -> None:
    st = stack(svc("web", rules=("host_label role=web",)))
    hosts = [host("h1", {"role": "db"}, containers=(deployed(st, "web", 1),)),
             host("h2", {"role": "web"})]
    result = plan(st, hosts, HASHES)
    assert actions(result) == [(REMOVE, "web", 1, "h1"), (CREATE, "web", 1, "h2")]
    assert result.steps[0].reason == "h1 no longer fits: host_label role=web: role is db"


def test_kept_replica_keeps_its_port_and_a_new_one_avoids_it() -> None:
    st = stack(svc("web", scale=2, ports=(80,)))
    hosts = [host("h1"), host("h2", containers=(deployed(st, "web", 1),))]
    result = plan(st, hosts, HASHES)
    assert actions(result) == [(KEEP, "web", 1, "h2"), (CREATE, "web", 2, "h1")]


def test_sidekick_is_moved_to_its_primary() -> None:
    st = stack(svc("media", sidekicks=("rec",)), svc("rec"))
    hosts = [host("h1", containers=(deployed(st, "media", 1),)),
             host("h2", containers=(deployed(st, "rec", 1),))]
    result = plan(st, hosts, HASHES)
    assert actions(result) == [(KEEP, "media", 1, "h1"), (REMOVE, "rec", 1, "h2"),
                               (CREATE, "rec", 1, "h1")]
    assert result.steps[2].reason == "joins media replica 1"


def test_sidekick_sharing_volumes_is_recreated_with_its_primary() -> None:
    st = stack(svc("media", sidekicks=("rec",)),
               svc("rec", volumes_from=(VolumesFrom("service", "media"),)))
    hosts = [host("h1", containers=(deployed(st, "media", 1), deployed(st, "rec", 1)))]
    result = plan(st, hosts, {"media": "h2", "rec": "h1"})
    assert actions(result) == [(REPLACE, "media", 1, "h1"), (REPLACE, "rec", 1, "h1")]
    assert result.steps[1].reason == "shares volumes or network with media, which is recreated"


def test_removed_replicas_free_their_ports_for_new_ones() -> None:
    st = stack(svc("web", ports=(80,), rules=("host_label role=web",)))
    hosts = [host("h1", {"role": "web"}, containers=(other("squatter", ports=(80,)),)),
             host("h2", {"role": "web"}, containers=(deployed(st, "web", 1),))]
    assert where(plan(st, hosts, HASHES), "web") == ["h2"]
