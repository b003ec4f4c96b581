"""Service questions naming another stack: resolved in the plan, or a plan error naming them."""

from __future__ import annotations

import dataclasses

import pytest

from corral.backends import labels as L
from corral.backends.errors import PlanError
from corral.backends.plan.planner import plan
from tests.support.plan import host, other, stack, svc

REF = (("DB", "shop", "mysql"),)


def test_a_deployed_service_resolves_and_the_plan_names_its_containers() -> None:
    mysql = other("shop-mysql-1", {L.STACK: "shop", L.SERVICE: "mysql", L.REPLICA: "1"})
    st = dataclasses.replace(stack(svc("app")), service_refs=REF)
    result = plan(st, [host("h1", containers=(mysql,)), host("h2")])
    assert "question DB: shop/mysql is shop-mysql-1 on h1" in result.warnings


@pytest.mark.parametrize(("containers", "why"), [
    ((), "no stack shop is deployed"),
    ((other("shop-web-1", {L.STACK: "shop", L.SERVICE: "web"}),), "stack shop has no service"
     " mysql"),
])
def test_a_missing_service_is_a_plan_error_naming_the_question(containers, why) -> None:
    st = dataclasses.replace(stack(svc("app")), service_refs=REF)
    with pytest.raises(PlanError) as caught:
        plan(st, [host("h1", containers=containers), host("h2", online=False)])
    assert f"question DB names service shop/mysql: {why} on the online hosts (h2 offline)" \
        in str(caught.value)
