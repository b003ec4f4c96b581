"""Moving a stack onto its overlay: which networks, and the upgrade that may not move."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from corral.backends.deploy.overlay import move_to_overlay, overlay_names
from corral.backends.errors import DeployError
from corral.backends.plan.model import Plan, Step
from tests.support.plan import stack, svc


def test_the_stack_networks_become_overlays() -> None:
    st = stack(svc("web"))
    assert overlay_names(st, {"st_default"}) == ["st_default"]


def test_an_upgrade_that_would_move_the_stack_is_refused_before_any_change() -> None:
    st = stack(svc("web"))
    step = Step("replace", "web", 1, "h1", "st-web-1", "moves onto overlay st_default",
                container="c1")
    prepared = SimpleNamespace(stack=st, plan=Plan("st", steps=(step,), overlay=("h1",)))
    untouchable = SimpleNamespace()  # any use of the fleet fails the test
    with pytest.raises(DeployError, match="deploy the running version first"):
        move_to_overlay(untouchable, prepared, {"st_default"}, lambda _: None,  # type: ignore[arg-type]
                        upgrade=True)
