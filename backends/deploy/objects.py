"""Per-host objects of a deploy besides containers: preflight, networks, volumes, records.

Every function blocks on docker-py through `HostSession.call` (BackendErrors
out) and is idempotent: it creates what is missing and leaves what is there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Collection

from corral.backends import labels as L
from corral.backends.deploy.body import network_name, volume_name
from corral.backends.deploy.record import Definition, encode, record_name
from corral.backends.errors import DockerApiError, NotFound
from corral.backends.ssh.session import HostSession
from corral.catalog.spec import Network, Stack


def object_labels(stack: Stack, config: dict) -> dict[str, str]:
    """Labels of a stack network or volume: stack, catalog entry/version, config hash."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    return {L.STACK: stack.name, L.ENTRY: stack.entry, L.VERSION: stack.version,
            L.CONFIG_HASH: digest}


def network_settings(spec: Network | None) -> dict:
    """`create_network` keyword arguments for a network's `ipam`, `internal`, `enable_ipv6`.

    Empty for a network without them, so its labels' hash is what it was.
    """
    if spec is None:
        return {}
    settings: dict = {}
    if spec.ipam is not None:
        ipam: dict = {"Driver": spec.ipam.driver or "default", "Config": [
            {key: value for key, value in (("Subnet", pool.subnet), ("Gateway", pool.gateway),
                                           ("IPRange", pool.ip_range),
                                           ("AuxiliaryAddresses", pool.aux_addresses or None))
             if value} for pool in spec.ipam.pools]}
        if spec.ipam.options:
            ipam["Options"] = dict(spec.ipam.options)
        settings["ipam"] = ipam
    if spec.internal:
        settings["internal"] = True
    if spec.enable_ipv6:
        settings["enable_ipv6"] = True
    return settings


def volume_problems(session: HostSession, stack: Stack,
                    volumes: set[tuple[str, str]]) -> list[str]:
    """Why the host cannot provide the named volumes `volumes`, if at all.

    Args:
        session: The host.
        stack: The stack.
        volumes: (stack volume name, replica) pairs, as `replica_volumes()` gives.
    """
    problems = []
    declared = {v.name: v for v in stack.volumes}
    for name, replica in sorted(volumes):
        spec = declared.get(name)
        engine_name = volume_name(stack, name, replica)
        try:
            found = session.call(lambda client, n=engine_name: client.api.inspect_volume(n))
        except NotFound:
            if spec is None or spec.external:
                problems.append(f"external volume {engine_name} does not exist")
            continue
        if spec is not None and not spec.external and spec.driver \
                and found.get("Driver") != spec.driver:
            problems.append(f"volume {engine_name} exists with driver {found.get('Driver')},"
                            f" not {spec.driver}")
    return problems


def network_problems(session: HostSession, stack: Stack, networks: set[str]) -> list[str]:
    """External networks among `networks` (engine names) that the host lacks."""
    external = {n.external_name or n.name for n in stack.networks if n.external}
    problems = []
    for name in sorted(networks & external):
        if _find_network(session, name) is None:
            problems.append(f"external network {name} does not exist")
    return problems


def _find_network(session: HostSession, name: str) -> dict | None:
    # The engine's name filter matches substrings: keep the exact name only.
    found = session.call(lambda client: client.api.networks(names=[name]))
    return next((n for n in found if n.get("Name") == name), None)


def ensure_network(session: HostSession, stack: Stack, engine_name: str) -> bool:
    """Create a stack network on the host unless it exists; True when created."""
    if _find_network(session, engine_name) is not None:
        return False
    spec = next((n for n in stack.networks
                 if network_name(stack.name, n.name) == engine_name), None)
    if spec is not None and spec.external:
        return False
    driver = (spec.driver if spec else None) or "bridge"
    options = dict(spec.driver_opts) if spec else {}
    settings = network_settings(spec)
    labels = object_labels(stack, {"driver": driver, "options": options, **settings})
    session.call(lambda client: client.api.create_network(
        engine_name, driver=driver, options=options or None, labels=labels,
        check_duplicate=True, **settings))
    return True


def ensure_volume(session: HostSession, stack: Stack, name: str, replica: str = "") -> bool:
    """Create a stack's named volume on the host unless it exists; True when created.

    Args:
        session: The host.
        stack: The stack.
        name: The volume's name in the stack.
        replica: `service-index` for a `per_container` volume (see `volume_name`).
    """
    spec = next((v for v in stack.volumes if v.name == name), None)
    if spec is None or spec.external:
        return False
    engine_name = volume_name(stack, name, replica)
    try:
        session.call(lambda client: client.api.inspect_volume(engine_name))
        return False
    except NotFound:
        pass
    labels = object_labels(stack, {"driver": spec.driver, "options": spec.driver_opts})
    session.call(lambda client: client.api.create_volume(
        engine_name, driver=spec.driver or "local", driver_opts=dict(spec.driver_opts) or None,
        labels=labels))
    return True


def write_record(session: HostSession, definition: Definition) -> str:
    """Create the record volume of `definition` on the host (idempotent)."""
    name = record_name(definition.name, definition.generation)
    try:
        session.call(lambda client: client.api.inspect_volume(name))
    except NotFound:
        session.call(lambda client: client.api.create_volume(name, labels=encode(definition)))
    return name


def remove_volume(session: HostSession, name: str) -> None:
    """Remove a volume; one already gone is fine."""
    with contextlib.suppress(NotFound):
        session.call(lambda client: client.api.remove_volume(name))


def remove_container(session: HostSession, ref: str, timeout: int = 10) -> None:
    """Stop and remove a container with its anonymous volumes; one already gone is fine."""
    try:
        session.call(lambda client: client.api.stop(ref, timeout=timeout))
        session.call(lambda client: client.api.remove_container(ref, v=True, force=True))
    except NotFound:
        pass


OTHER_HOSTS = "containers on other hosts"


def remove_network(session: HostSession, name: str, gone: Collection[str] = ()) -> list[str]:
    """Remove a stack network unless containers of other stacks still join it.

    Another stack's `external_links` join this network: removing it would
    fail (the engine refuses a network with endpoints) and leave the rest of
    the removal undone, and disconnecting them would break that stack's link
    silently. It is kept instead (deploying the stack again reuses it).

    Args:
        session: The host.
        name: The network.
        gone: Names of containers just removed: an overlay may still list them
            (as remote endpoints) until the swarm has spread their removal.

    Returns:
        The containers still joined (the network is kept), or [] (removed).
    """
    found = session.call(lambda client: client.api.inspect_network(name))
    # An overlay lists the node's own load-balancer endpoint (`lb-NETWORK`) among
    # its containers until the engine tears it down, a moment after the last
    # container left: it is the network's, not another stack's.
    joined = sorted(e.get("Name") or cid[:12] for cid, e in (found.get("Containers") or {}).items()
                    if not cid.startswith("lb-") and e.get("Name") not in gone)
    if joined:
        return joined
    try:
        session.call(lambda client: client.api.remove_network(name))
    except DockerApiError as exc:
        if exc.status != 403:  # 403: endpoints joined on another host of the overlay
            raise
        return [OTHER_HOSTS]
    return []


def remove_overlay(session: HostSession, name: str, gone: Collection[str] = (),
                   settle: float = 30.0) -> list[str]:
    """Remove a stack's overlay through a manager once the swarm learnt its containers left.

    A container removed on another host leaves the overlay a moment later on
    the manager (its network attachment is released through the swarm), so a
    refusal for endpoints elsewhere is retried for `settle` seconds before the
    network is kept.

    Args:
        session: A manager of the swarm.
        name: The overlay.
        gone: As `remove_network`.
        settle: Seconds to keep retrying a refusal.

    Returns:
        As `remove_network`.
    """
    deadline = time.monotonic() + settle
    while True:
        joined = remove_network(session, name, gone)
        if joined != [OTHER_HOSTS] or time.monotonic() > deadline:
            return joined
        time.sleep(0.5)


def stack_networks(session: HostSession, stack: str, scope: str | None = None) -> list[str]:
    """Names of the networks Corral created for `stack` on the host.

    Args:
        session: The host.
        stack: The stack.
        scope: Only `local` networks (bridges) or only `swarm` ones (an overlay
            a manager lists); default both.
    """
    filters = {"label": f"{L.STACK}={stack}", **({"scope": scope} if scope else {})}
    found = session.call(lambda client: client.api.networks(filters=filters))
    return sorted(n["Name"] for n in found)


def stack_volumes(session: HostSession, stack: str) -> list[str]:
    """Names of the named volumes Corral created for `stack` on the host."""
    found = session.call(lambda client: client.api.volumes(
        filters={"label": f"{L.STACK}={stack}"}))
    return sorted(v["Name"] for v in (found or {}).get("Volumes") or [])
