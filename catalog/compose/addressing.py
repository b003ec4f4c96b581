"""Network addressing: a network's `ipam`, and services' fixed addresses on it.

`ipam:` (driver, `config:` pools with `subnet`, `gateway`, `ip_range`,
`aux_addresses`; `options`) is given to the engine's network create, as
`docker compose` does. A service's `ipv4_address` / `ipv6_address` on a
network is the address its container gets there: the engine gives fixed
addresses only on a network created with a subnet, so each is checked here
against the network's pools (an error naming the line, as the engine would
only fail at apply), and a service with a fixed address must run one container.
"""

from __future__ import annotations

import ipaddress

from corral.catalog.compose import values as cv
from corral.catalog.excerpt import quoted
from corral.catalog.problems import Report, Source
from corral.catalog.spec import Ipam, IpamPool, Network, Service

_IPAM_KEYS = {"driver", "config", "options"}
_POOL_KEYS = {"subnet", "gateway", "ip_range", "aux_addresses"}


def read_ipam(raw: object, where: str, source: Source, line: int | None,
              report: Report) -> Ipam:
    """A network's `ipam:` mapping as an `Ipam` (unknown keys are warnings).

    Raises:
        ValueError: Malformed, or a subnet, range or address that is not one
            (or lies outside its subnet).
    """
    if not isinstance(raw, dict):
        raise ValueError("ipam must be a mapping")
    for key in raw:
        if key not in _IPAM_KEYS:
            report.warn(f"{where}: ipam: unknown key {quoted(key)}", source.file, line)
    pools = raw.get("config") or []
    if not isinstance(pools, list):
        raise ValueError("ipam config must be a list")
    options = raw.get("options") or {}
    if not isinstance(options, dict):
        raise ValueError("ipam options must be a mapping")
    return Ipam(cv.text(raw["driver"]) if raw.get("driver") else None,
                tuple(_pool(item, where, source, line, report) for item in pools),
                {str(k): cv.text(v) for k, v in sorted(options.items())})


def _pool(raw: object, where: str, source: Source, line: int | None,
          report: Report) -> IpamPool:
    if not isinstance(raw, dict) or raw.get("subnet") is None:
        raise ValueError("each ipam config item needs a subnet")
    for key in raw:
        if key not in _POOL_KEYS:
            report.warn(f"{where}: ipam config: unknown key {quoted(key)}", source.file, line)
    subnet = cv.text(raw["subnet"])
    try:
        network = ipaddress.ip_network(subnet)
    except ValueError:
        raise ValueError(f"subnet {quoted(subnet)} is not a network (e.g. 10.5.0.0/24)") \
            from None
    gateway = cv.text(raw["gateway"]) if raw.get("gateway") is not None else None
    if gateway is not None:
        _inside(gateway, network, "gateway")
    ip_range = cv.text(raw["ip_range"]) if raw.get("ip_range") is not None else None
    if ip_range is not None:
        try:
            inner = ipaddress.ip_network(ip_range)
        except ValueError:
            raise ValueError(f"ip_range {quoted(ip_range)} is not a network") from None
        if inner.version != network.version or not inner.subnet_of(network):  # type: ignore[arg-type]
            raise ValueError(f"ip_range {ip_range} is not inside subnet {subnet}")
    aux = raw.get("aux_addresses") or {}
    if not isinstance(aux, dict):
        raise ValueError("aux_addresses must be a mapping")
    for value in aux.values():
        _inside(cv.text(value), network, "aux_addresses")
    return IpamPool(subnet, gateway, ip_range,
                    {str(k): cv.text(v) for k, v in sorted(aux.items())})


def _inside(address: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network,
            what: str) -> None:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"{what} {quoted(address)} is not an IP address") from None
    if parsed not in network:
        raise ValueError(f"{what} {address} is not inside subnet {network}")


def check_addresses(services: dict[str, Service], networks: tuple[Network, ...],
                    services_doc: dict, source: Source, report: Report) -> None:
    """Each fixed address must be in a subnet of its network, on one container.

    Errors name the service's `networks:` line.
    """
    by_name = {n.name: n for n in networks}
    for name, service in sorted(services.items()):
        config = services_doc.get(name)
        line = source.line(config.line_of("networks")) if hasattr(config, "line_of") \
            and "networks" in config else None
        for attached in service.networks:
            for version, address in ((4, attached.ipv4_address), (6, attached.ipv6_address)):
                if address is None:
                    continue
                where = f"service {name}: networks: {attached.name}: ipv{version}_address"
                problem = _address_problem(address, version, by_name.get(attached.name))
                if problem is None and (service.scale != 1 or service.scheduling.is_global):
                    problem = ("a fixed address is one container's: the service must run"
                               f" one (its scale is {service.scale}"
                               f"{', global' if service.scheduling.is_global else ''})")
                if problem is not None:
                    report.error(f"{where} {address}: {problem}", source.file, line)


def _address_problem(address: str, version: int, network: Network | None) -> str | None:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return "not an IP address"
    if parsed.version != version:
        return f"not an IPv{version} address"
    if network is None:
        return ("a fixed address needs a network declared under networks: with an ipam"
                " subnet (the engine gives none on the default network)")
    if network.external:
        return None  # its subnet is the engine's to check
    if version == 6 and not network.enable_ipv6:
        return f"network {network.name} needs enable_ipv6: true"
    subnets = [ipaddress.ip_network(p.subnet) for p in (network.ipam.pools
                                                         if network.ipam else ())]
    if not subnets:
        return (f"network {network.name} has no ipam subnet; the engine gives fixed"
                " addresses only on a network created with one")
    if not any(parsed in subnet for subnet in subnets):
        return f"not inside network {network.name}'s subnets ({', '.join(map(str, subnets))})"
    return None
