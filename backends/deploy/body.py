"""A service of the stack spec as the Engine API's container-create body.

Pure. A service first becomes a *template*: the body every replica shares,
with references to other services left symbolic (`volumes_from` a service,
`network_mode: service:x`, links). Its hash is the configuration hash the
planner compares. `instantiate()` then makes one replica's body on one host,
naming the peer containers there.

Password answers are masked before hashing, and for a service that uses one
a random token from the stack record is mixed in instead (`secret_tokens`):
a second Corral process holding only the stored (masked) definition
computes the same hash, and nothing in the hash derives from a password.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re

from corral.backends import labels as L
from corral.backends.engine.healthcheck import healthcheck_body
from corral.backends.plan.board import memory_request
from corral.backends.plan.rules import replica_labels, replica_name
from corral.catalog.spec import MASK, Service, Stack, mask_secrets

_NS = 1_000_000_000
# Compose keys kept in `Service.extra` that map one to one onto HostConfig.
_HOST_CONFIG_EXTRA = {
    "mem_limit": ("Memory", "bytes"), "mem_reservation": ("MemoryReservation", "bytes"),
    "memswap_limit": ("MemorySwap", "bytes"), "shm_size": ("ShmSize", "bytes"),
    "cpu_shares": ("CpuShares", "int"), "cpuset": ("CpusetCpus", "str"),
    "security_opt": ("SecurityOpt", "list"), "sysctls": ("Sysctls", "dict"),
    "tmpfs": ("Tmpfs", "tmpfs"), "init": ("Init", "bool"), "oom_score_adj": ("OomScoreAdj", "int"),
    "cpus": ("NanoCpus", "nanocpus"), "pids_limit": ("PidsLimit", "int"),
}
# Labels that say where a container came from, not what it runs: a new
# catalog version that changes nothing else must not recreate containers.
_UNHASHED_LABELS = (L.ENTRY, L.VERSION, L.REPLICA)


def network_name(stack: str, network: str) -> str:
    """The engine's name of a stack network (`default` is the one every service joins)."""
    return f"{stack}_{network}"


#: Stands for `service-index` in a `per_container` volume's name until `instantiate()`.
REPLICA = "{replica}"


def volume_name(stack: Stack, volume: str, replica: str = "") -> str:
    """The engine's name of a named volume the stack uses.

    Args:
        stack: The stack.
        volume: The name its services use.
        replica: `service-index` of the container mounting it: a Rancher
            `per_container` volume is one volume per container.
    """
    for spec in stack.volumes:
        if spec.name == volume:
            if spec.external:
                return spec.external_name or volume
            if spec.per_container and replica:
                return f"{stack.name}_{volume}_{replica}"
            return f"{stack.name}_{volume}"
    return volume  # undeclared in a v2 file: an existing volume of that name


def _replica_tag(service: Service, index: int) -> str:
    """`service-index`: what tells one replica's `per_container` volume from another's."""
    return f"{service.name}-{index}"


def replica_volumes(stack: Stack, service: Service, index: int) -> set[tuple[str, str]]:
    """(volume, replica) of the stack's named volumes one replica mounts.

    `replica` is empty for a volume its service's containers share, and the
    replica's `service-index` for a `per_container` one.
    """
    per_container = {v.name for v in stack.volumes if v.per_container and not v.external}
    return {(m.source, _replica_tag(service, index) if m.source in per_container else "")
            for m in service.volumes if m.kind == "named" and m.source}


def service_networks(stack: Stack, service: Service) -> list[str]:
    """The engine networks a service's containers join, first one at creation."""
    mode = service.network_mode or ""
    if mode and mode not in ("managed", "default"):
        return []
    if not service.networks:
        return [network_name(stack.name, "default")]
    external = {n.name: (n.external_name or n.name) for n in stack.networks if n.external}
    return [external.get(n.name) or network_name(stack.name, n.name) for n in service.networks]


def network_endpoints(stack: Stack, service: Service) -> dict[str, dict]:
    """Engine network -> its endpoint settings (`Aliases`, `IPAMConfig`), for the networks
    where the service gives aliases or a fixed address (none: {}, so the configuration
    hash of a service without them is what it was)."""
    names = service_networks(stack, service)
    if not service.networks or not names:
        return {}
    endpoints = {}
    for engine_name, attached in zip(names, service.networks, strict=True):
        endpoint: dict = {}
        if attached.aliases:
            endpoint["Aliases"] = list(attached.aliases)
        ipam = {key: value for key, value in (("IPv4Address", attached.ipv4_address),
                                              ("IPv6Address", attached.ipv6_address)) if value}
        if ipam:
            endpoint["IPAMConfig"] = ipam
        if endpoint:
            endpoints[engine_name] = endpoint
    return endpoints


def template(stack: Stack, service: Service) -> dict:
    """The create body shared by every replica, with symbolic references.

    Keys starting with `_` are Corral's own and are resolved by `instantiate()`.
    """
    config: dict = {"Image": service.image}
    if service.command is not None:
        config["Cmd"] = list(service.command)
    if service.entrypoint is not None:
        config["Entrypoint"] = list(service.entrypoint)
    # A None value would come from the caller's own environment in compose;
    # Corral runs far from the operator's shell, so such variables are left out.
    config["Env"] = [f"{k}={v}" for k, v in sorted(service.environment.items()) if v is not None]
    config["Labels"] = {k: v for k, v in replica_labels(stack, service, 0).items()
                        if k not in _UNHASHED_LABELS}
    exposed = {f"{p.container_port}/{p.protocol}": {} for p in (*service.ports, *service.expose)}
    if exposed:
        config["ExposedPorts"] = dict(sorted(exposed.items()))
    for key, attr in (("Tty", "tty"), ("OpenStdin", "stdin_open"), ("User", "user"),
                      ("WorkingDir", "working_dir"), ("Hostname", "hostname"),
                      ("Domainname", "domainname"), ("StopSignal", "stop_signal")):
        value = getattr(service, attr)
        if value:
            config[key] = value
    if service.healthcheck is not None:
        config["Healthcheck"] = healthcheck_body(service.healthcheck)
    if "stop_grace_period" in service.extra:
        config["StopTimeout"] = int(service.extra["stop_grace_period"])  # type: ignore[call-overload]
    anonymous = {m.target: {} for m in service.volumes if m.kind == "anonymous"}
    if anonymous:
        config["Volumes"] = anonymous
    config["HostConfig"] = _host_config(stack, service)
    config["_networks"] = service_networks(stack, service)
    config["_aliases"] = [service.name] + ([service.container_name]
                                           if service.container_name else [])
    config["_links"] = [[link.target, link.alias] for link in service.links]
    if service.external_links:  # joined per host (`extlinks`); here only for the hash
        config["_external"] = [[link.target, link.alias] for link in service.external_links]
    endpoints = network_endpoints(stack, service)
    if endpoints:
        config["_endpoints"] = endpoints
    return config


def _host_config(stack: Stack, service: Service) -> dict:
    host: dict = {}
    bindings: dict[str, list] = {}
    for port in service.ports:
        if port.published:
            bindings.setdefault(f"{port.container_port}/{port.protocol}", []).append(
                {"HostIp": port.host_ip or "", "HostPort": str(port.host_port or "")})
    if bindings:
        host["PortBindings"] = dict(sorted(bindings.items()))
    binds = []
    for mount in service.volumes:
        if mount.kind in ("anonymous", "tmpfs"):
            continue
        source = (volume_name(stack, mount.source or "", REPLICA) if mount.kind == "named"
                  else mount.source)
        binds.append(":".join([source or "", mount.target, ",".join([mount.mode,
                                                                     *mount.options])]))
    if binds:
        host["Binds"] = binds
    if service.volumes_from:
        host["_volumes_from"] = [[v.kind, v.source, v.mode] for v in service.volumes_from]
    mode = service.network_mode or ""
    if mode.startswith(("service:", "container:")):
        host["_network_mode"] = mode.split(":", 1)
    elif mode and mode not in ("managed", "default"):
        host["NetworkMode"] = mode
    else:
        host["NetworkMode"] = service_networks(stack, service)[0]
    restart = service.restart or ("no" if service.start_once else "unless-stopped")
    name, _, retries = restart.partition(":")
    host["RestartPolicy"] = {"Name": name, **({"MaximumRetryCount": int(retries)}
                                               if retries else {})}
    for key, attr in (("CapAdd", "cap_add"), ("CapDrop", "cap_drop"), ("Dns", "dns"),
                      ("DnsSearch", "dns_search"), ("ExtraHosts", "extra_hosts"),
                      ("Privileged", "privileged"), ("ReadonlyRootfs", "read_only"),
                      ("PidMode", "pid"), ("IpcMode", "ipc")):
        value = getattr(service, attr)
        if value:
            host[key] = list(value) if isinstance(value, tuple) else value
    if service.devices:
        host["Devices"] = [_device(text) for text in service.devices]
    if service.logging is not None and service.logging.driver:
        host["LogConfig"] = {"Type": service.logging.driver,
                             "Config": dict(service.logging.options)}
    if service.ulimits:
        host["Ulimits"] = [{"Name": u.name, "Soft": u.soft, "Hard": u.hard}
                           for u in service.ulimits]
    for key, (field, kind) in _HOST_CONFIG_EXTRA.items():
        if key in service.extra:
            host[field] = _convert(service.extra[key], kind)
    tmpfs = {m.target: ",".join(m.options) for m in service.volumes if m.kind == "tmpfs"}
    if tmpfs:
        host["Tmpfs"] = {**host.get("Tmpfs", {}), **tmpfs}
    return host


def _device(text: str) -> dict:
    parts = text.split(":")
    inside = parts[1] if len(parts) > 1 else parts[0]
    return {"PathOnHost": parts[0], "PathInContainer": inside,
            "CgroupPermissions": parts[2] if len(parts) > 2 else "rwm"}


def _convert(value: object, kind: str) -> object:
    if kind == "bytes":
        return memory_request(Service("x", extra={"mem_limit": value}))
    if kind == "list":
        return list(value) if isinstance(value, list | tuple) else [str(value)]
    if kind == "tmpfs":
        items = value if isinstance(value, list | tuple) else [value]
        return {str(i).split(":", 1)[0]: (str(i).split(":", 1) + [""])[1] for i in items}
    if kind == "dict":
        return {str(k): str(v) for k, v in dict(value).items()}  # type: ignore[call-overload]
    if kind == "int":
        return int(value)  # type: ignore[call-overload]
    if kind == "nanocpus":
        return int(float(value) * _NS)  # type: ignore[arg-type]
    return bool(value) if kind == "bool" else str(value)


def config_hash(stack: Stack, service: Service, token: str = "", overlay: bool = False) -> str:
    """The configuration hash a service's containers carry.

    Args:
        stack: The stack; its `secrets` (when known) are masked first.
        service: The service.
        token: For a service that uses a password answer, the random token
            that stands for the passwords its containers hold
            (`secret_tokens.tokens_for()`); never anything computed from them.
        overlay: The stack's network is an overlay across hosts (a container
            on a per-host bridge then differs, and moves on the next apply).

    Returns:
        16 hex digits.
    """
    text = masked_text(stack, service)
    if MASK in text:
        text += "\0" + token
    if overlay:
        text += "\0overlay"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def masked_text(stack: Stack, service: Service) -> str:
    """The service's shared create body, passwords masked, as canonical JSON."""
    body = mask_secrets(template(stack, service), stack.secrets)
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def uses_secret(stack: Stack, service: Service) -> bool:
    """Whether the service's containers hold a password answer (or a kept, masked one)."""
    return MASK in masked_text(stack, service)


def instantiate(stack: Stack, service: Service, index: int, peers: dict[str, str],
                config_hash_: str, generation: int = 0, overlay: bool = False
                ) -> tuple[str, dict, list[tuple[str, list[str]]]]:
    """One replica's create body on one host.

    Args:
        stack: The stack.
        service: The service.
        index: The replica index.
        peers: For each service with a container on the same host, the name
            of the one this replica uses (`volumes_from`, links, network mode).
        config_hash_: The hash label to write.
        generation: The definition generation that creates it (a rollback
            removes the containers of the generation it undoes).
        overlay: The stack's network spans the hosts: the container also
            answers to every alias other services link to it by, so a link
            resolves from a host where the target does not run.

    Returns:
        The container name, the body, and the extra networks to connect after
        creation, each with its aliases and fixed addresses (`IPAMConfig`, or
        None) (the engine takes one network at creation).
    """
    body = copy.deepcopy(template(stack, service))
    networks, aliases, links = body.pop("_networks"), body.pop("_aliases"), body.pop("_links")
    endpoints = body.pop("_endpoints", {})
    body.pop("_external", None)
    if overlay:
        aliases += sorted({link.alias for other in stack.services for link in other.links
                           if link.target == service.name and link.alias not in aliases})
    host = body["HostConfig"]
    body["Labels"] = {**replica_labels(stack, service, index), L.CONFIG_HASH: config_hash_}
    if generation:
        body["Labels"][L.GENERATION] = str(generation)
    if "Binds" in host:
        replica = _replica_tag(service, index)
        host["Binds"] = [bind.replace(REPLICA, replica) for bind in host["Binds"]]
    volumes_from = host.pop("_volumes_from", [])
    if volumes_from:
        host["VolumesFrom"] = [f"{peers.get(source, source) if kind == 'service' else source}"
                               f":{mode}" for kind, source, mode in volumes_from]
    mode = host.pop("_network_mode", None)
    if mode is not None:
        kind, target = mode
        target = peers.get(target, target) if kind == "service" else target
        host["NetworkMode"] = f"container:{target}"
    def on(network: str) -> tuple[list[str], dict | None]:
        """The aliases and fixed addresses of the container on `network`."""
        own = endpoints.get(network, {})
        more = [a for a in own.get("Aliases", []) if a not in aliases]
        return aliases + more, own.get("IPAMConfig")

    if networks:
        first, ipam = on(networks[0])
        endpoint: dict = {"Aliases": first}
        if ipam:
            endpoint["IPAMConfig"] = ipam
        resolved = [f"{peers[target]}:{alias}" for target, alias in links if target in peers]
        if resolved:
            endpoint["Links"] = resolved
        body["NetworkingConfig"] = {"EndpointsConfig": {networks[0]: endpoint}}
    return replica_name(stack.name, service.name, index), body, \
        [(network, *on(network)) for network in networks[1:]]


def fits(masked: str, value: str | None) -> bool:
    """Whether `value` is `masked` with each mask standing for a password.

    The rest must be equal: a sibling created from other answers (an upgrade
    changed the text around the password) must not lend its whole value.
    """
    if value is None:
        return False
    pattern = "(.+)".join(re.escape(part) for part in masked.split(MASK))
    return re.fullmatch(pattern, value, re.DOTALL) is not None


def unmask(body: dict, sibling: dict, same_service: bool = True) -> dict:
    """Fill masked values of `body` from the config of a running sibling replica.

    A Corral process that only read the stored definition has the password
    answers masked; a sibling container created from the same answers holds
    them. Environment variables and labels are matched by key, command and
    entrypoint as a whole.

    Args:
        body: A create body built from a masked spec.
        sibling: The `Config` of a container holding the passwords.
        same_service: Whether `sibling` is of the body's own service; only
            then are a masked command, entrypoint or label copied (another
            service's environment variable of the same name is trusted).

    Returns:
        The body with every mask replaced.

    Raises:
        ValueError: A masked value has no counterpart in the sibling.
    """
    body = copy.deepcopy(body)
    theirs_env = dict(item.split("=", 1) for item in sibling.get("Env") or [] if "=" in item)
    env = []
    for item in body.get("Env", []):
        key, _, value = item.partition("=")
        if MASK in value:
            if not fits(value, theirs_env.get(key)):
                raise ValueError(f"environment {key} is a password the sibling does not hold")
            value = theirs_env[key]
        env.append(f"{key}={value}")
    body["Env"] = env
    if same_service:
        for key in ("Cmd", "Entrypoint"):
            ours, theirs = body.get(key) or [], sibling.get(key) or []
            if any(MASK in part for part in ours) and len(ours) == len(theirs) \
                    and all(fits(a, b) for a, b in zip(ours, theirs, strict=True)):
                body[key] = list(theirs)
        for key, value in list(body.get("Labels", {}).items()):
            theirs_label = (sibling.get("Labels") or {}).get(key)
            if MASK in value and fits(value, theirs_label):
                body["Labels"][key] = theirs_label
    if MASK in json.dumps(body):
        raise ValueError("a password answer is used where Corral cannot recover it")
    return body
