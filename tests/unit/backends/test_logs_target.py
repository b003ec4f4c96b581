"""Log targets: host/container vs stack/service, and which containers match."""

from __future__ import annotations

import pytest

from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
from corral.backends.logs.target import BadTarget, LogTarget, parse_target

INVENTORY = Inventory(
    hosts=(HostSpec("lab1", SshTarget("10.0.0.1")), HostSpec("lab2", SshTarget("10.0.0.2")))
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lab1/web-1", LogTarget("container", name="web-1", host="lab1")),
        ("shop/cart", LogTarget("service", name="shop", service="cart")),
        ("shop", LogTarget("stack", name="shop")),
        ("service:lab1/cart", LogTarget("service", name="lab1", service="cart")),
        ("container:lab2/0123abcd", LogTarget("container", name="0123abcd", host="lab2")),
        ("stack:lab1", LogTarget("stack", name="lab1")),
    ],
)
def test_targets_parse(text: str, expected: LogTarget) -> None:
    assert parse_target(text, INVENTORY) == expected


@pytest.mark.parametrize(
    "text", ["a/b/c", "", "/x", "container:nohost/x", "stack:a/b", "service:a"]
)
def test_bad_targets_are_refused(text: str) -> None:
    with pytest.raises(BadTarget):
        parse_target(text, INVENTORY)


def test_service_and_stack_match_every_label_scheme() -> None:
    service = LogTarget("service", name="shop", service="cart")
    stack = LogTarget("stack", name="shop")
    compose = {"com.docker.compose.project": "shop", "com.docker.compose.service": "cart"}
    corral = {"io.corral.stack": "shop", "io.corral.service": "cart"}
    other = {"com.docker.compose.project": "shop", "com.docker.compose.service": "db"}
    assert service.matches(compose) and service.matches(corral)
    assert not service.matches(other) and stack.matches(other)
    assert not stack.matches({}) and not LogTarget.container("lab1", "x").matches(compose)
    assert str(service) == "shop/cart" and str(LogTarget.container("lab1", "x")) == "lab1/x"
