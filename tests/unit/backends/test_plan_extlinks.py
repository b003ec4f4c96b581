"""`external_links` naming another Corral stack's service: the plan's joins, notes, errors."""

from __future__ import annotations

import pytest

from corral.backends.errors import PlanError
from corral.backends.plan.extlinks import external_joins
from corral.backends.plan.planner import plan
from corral.catalog.spec import Link
from tests.support.plan import deployed, host, stack, svc

SHOP = stack(svc("db"), name="shop")


def web(*links: Link, rules: tuple[str, ...] = ()):
    return stack(svc("web", external_links=links, rules=rules), name="b")


def test_a_link_to_another_stacks_service_joins_its_network_with_a_link_alias() -> None:
    hosts = [host("h1", containers=(deployed(SHOP, "db", 1),))]
    result = plan(web(Link("shop/db", "database")), hosts)
    assert result.notes == ("web on h1 joins shop_default (shop/db as database)",)
    assert result.warnings == ()
    joins = external_joins(web(Link("shop/db", "database")), hosts, result.steps)
    assert joins.endpoints("web", "h1") == [("shop_default", ["shop-db-1:database"])]


def test_a_stack_not_deployed_is_a_plan_error_naming_the_line() -> None:
    with pytest.raises(PlanError) as caught:
        plan(web(Link("shop/db", "database")), [host("h1")])
    assert caught.value.message == ("cannot plan stack b: service web: external_links"
                                    " shop/db:database: no stack shop is deployed")
    hosts = [host("h1", containers=(deployed(SHOP, "db", 1),))]
    with pytest.raises(PlanError, match="stack shop has no service cache"):
        plan(web(Link("shop/cache", "cache")), hosts)


def test_a_host_without_the_other_stacks_network_is_warned_of_with_the_fix() -> None:
    hosts = [host("h1", {"role": "db"}, containers=(deployed(SHOP, "db", 1),)),
             host("h2", {"role": "web"})]
    result = plan(web(Link("shop/db", "database"), rules=("host_label role=web",)), hosts)
    assert result.notes == ()
    assert result.warnings == (
        "web's external link to shop/db (as database) is not made on h2: network shop_default"
        " is not there (stack shop runs on h1); `corral swarm init --hosts h1,h2` makes them"
        " one swarm, and the stack's network an overlay across them (deploy shop again)",)
    st = web(Link("shop/db", "database"), rules=("host_label role=web",))
    joins = external_joins(st, hosts, result.steps)
    assert joins.endpoints("web", "h2") == []


def test_in_one_swarm_the_overlay_is_joined_and_only_the_service_name_resolves() -> None:
    hosts = [host("h1", {"role": "db"}, containers=(deployed(SHOP, "db", 1),), swarm="s"),
             host("h2", {"role": "web"}, swarm="s", swarm_manager=True)]
    st = web(Link("shop/db", "database"), rules=("host_label role=web",))
    result = plan(st, hosts)
    assert result.notes == ("web on h2 joins shop_default (shop/db as database)",)
    assert result.warnings == (
        "web's external link to shop/db: on h2 only the name db resolves, not database"
        " (no container of shop/db runs there to link to)",)
    assert external_joins(st, hosts, result.steps).endpoints("web", "h2") == [
        ("shop_default", [])]
