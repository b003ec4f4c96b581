"""Networks with `ipam` and services' fixed addresses and aliases on them: read with
their lines checked, carried into the network create and the container's endpoints,
and a fixed subnet spread over several hosts warned of in the plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.backends.deploy.body import config_hash, instantiate, template
from corral.backends.deploy.objects import network_settings
from corral.backends.plan.finish import subnet_warnings
from corral.backends.plan.model import CREATE, Step
from corral.catalog.answers import resolve_answers
from corral.catalog.errors import RenderError
from corral.catalog.loader import Version
from corral.catalog.render import render

COMPOSE = """\
services:
  web:
    image: busybox
    networks:
      front:
        ipv4_address: 10.77.0.10
        aliases: [www]
      back:
        ipv4_address: 10.78.0.10
        ipv6_address: fd00:78::10
  plain:
    image: busybox
networks:
  front:
    internal: true
    ipam:
      driver: default
      config:
        - subnet: 10.77.0.0/24
          gateway: 10.77.0.1
          ip_range: 10.77.0.128/25
  back:
    enable_ipv6: true
    ipam:
      config: [{subnet: 10.78.0.0/24}, {subnet: "fd00:78::/64"}]
"""


def stack_of(folder: Path, text: str = COMPOSE):
    (folder / "docker-compose.yml").write_text(text)
    version = Version(entry_id="t", folder=folder, revision="t",
                      compose_file=folder / "docker-compose.yml", standalone=True)
    return render(version, resolve_answers(()), stack_name="st")


def errors_of(folder: Path, text: str) -> list[str]:
    with pytest.raises(RenderError) as info:
        stack_of(folder, text)
    return info.value.diagnostics()


def test_ipam_and_fixed_addresses_are_read_not_warned(tmp_path: Path) -> None:
    """Before: `ipam` and `ipv4_address` were warnings "not carried out"."""
    stack = stack_of(tmp_path)
    front = next(n for n in stack.networks if n.name == "front")
    assert front.internal and front.ipam.driver == "default"
    assert [(p.subnet, p.gateway, p.ip_range) for p in front.ipam.pools] == [
        ("10.77.0.0/24", "10.77.0.1", "10.77.0.128/25")]
    web = stack.service("web")
    assert [(n.name, n.aliases, n.ipv4_address, n.ipv6_address) for n in web.networks] == [
        ("back", (), "10.78.0.10", "fd00:78::10"), ("front", ("www",), "10.77.0.10", None)]
    assert not [w for w in stack.warnings if "not carried out" in str(w)]


@pytest.mark.parametrize("change, text", [
    (("ipv4_address: 10.77.0.10", "ipv4_address: 10.99.0.10"),
     "docker-compose.yml:4: error: service web: networks: front: ipv4_address 10.99.0.10: not"
     " inside network front's subnets (10.77.0.0/24)"),
    (("ipv4_address: 10.77.0.10", "ipv4_address: nowhere"), "not an IP address"),
    (("    enable_ipv6: true\n", ""), "network back needs enable_ipv6: true"),
    (("  plain:\n    image: busybox\n", "  plain:\n    image: busybox\n    networks:\n"
      "      default: {ipv4_address: 10.0.0.5}\n"),
     "a fixed address needs a network declared under networks: with an ipam subnet"),
    (("  web:\n    image: busybox\n", "  web:\n    image: busybox\n    scale: 2\n"),
     "a fixed address is one container's: the service must run one (its scale is 2)"),
    (("subnet: 10.77.0.0/24", "subnet: 10.77.0.0/33"),
     "network front: subnet '10.77.0.0/33' is not a network"),
    (("gateway: 10.77.0.1", "gateway: 10.1.0.1"),
     "network front: gateway 10.1.0.1 is not inside subnet 10.77.0.0/24"),
])
def test_an_address_the_engine_would_refuse_is_an_error_at_its_line(
        tmp_path: Path, change: tuple[str, str], text: str) -> None:
    errors = errors_of(tmp_path, COMPOSE.replace(*change))
    assert any(text in line for line in errors), errors


def test_endpoints_carry_aliases_and_addresses(tmp_path: Path) -> None:
    stack = stack_of(tmp_path)
    _, body, extra = instantiate(stack, stack.service("web"), 1, {}, "h")
    assert body["NetworkingConfig"]["EndpointsConfig"] == {"st_back": {
        "Aliases": ["web"], "IPAMConfig": {"IPv4Address": "10.78.0.10",
                                           "IPv6Address": "fd00:78::10"}}}
    assert extra == [("st_front", ["web", "www"], {"IPv4Address": "10.77.0.10"})]
    _, plain, none = instantiate(stack, stack.service("plain"), 1, {}, "h")
    assert none == [] and "IPAMConfig" not in plain["NetworkingConfig"]["EndpointsConfig"][
        "st_default"]
    # A service without aliases or addresses keeps the template (and hash) it had.
    assert "_endpoints" not in template(stack, stack.service("plain"))
    moved = stack_of(tmp_path, COMPOSE.replace("10.77.0.10", "10.77.0.11"))
    assert config_hash(moved, moved.service("web")) != config_hash(stack, stack.service("web"))


def test_network_create_gets_ipam_internal_and_ipv6(tmp_path: Path) -> None:
    stack = stack_of(tmp_path)
    front, back = (next(n for n in stack.networks if n.name == name)
                   for name in ("front", "back"))
    assert network_settings(front) == {"internal": True, "ipam": {
        "Driver": "default", "Config": [{"Subnet": "10.77.0.0/24", "Gateway": "10.77.0.1",
                                         "IPRange": "10.77.0.128/25"}]}}
    assert network_settings(back) == {"enable_ipv6": True, "ipam": {
        "Driver": "default", "Config": [{"Subnet": "10.78.0.0/24"}, {"Subnet": "fd00:78::/64"}]}}
    assert network_settings(None) == {}


def test_a_fixed_subnet_over_several_hosts_is_a_plan_warning_saying_why(
        tmp_path: Path) -> None:
    stack = stack_of(tmp_path, COMPOSE.replace(
        "  plain:\n    image: busybox\n", "  plain:\n    image: busybox\n    networks: [front]\n"))
    steps = [Step(CREATE, "web", 1, "lab1", "st-web-1", "new"),
             Step(CREATE, "plain", 1, "lab2", "st-plain-1", "new")]
    warnings = subnet_warnings(stack, steps)
    assert len(warnings) == 1 and warnings[0].startswith(
        "network front has a fixed subnet (10.77.0.0/24) and its services run on lab1, lab2:"
        " plain Docker has no network across hosts"), warnings
    assert subnet_warnings(stack, steps, across=True) == []
    assert subnet_warnings(stack, steps[:1]) == []
