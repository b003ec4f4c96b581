"""A stack spec as Docker Swarm services: pure translation, no host contacted.

`translate(stack)` gives, per service, the Engine API `ServiceSpec` Swarm is
asked for (`POST /services/create`), the stack's one overlay network, the
plan warnings (what Swarm cannot keep) and the refusals (what it cannot run
at all, one line each naming the service). The README table "Rancher/compose
→ Swarm → what is lost" lists every item; the decisions in short:

- `scale` → replicated mode; `io.rancher.scheduler.global` → global mode.
- `host_label` affinity → placement constraints `node.labels.K==V` (`_ne` →
  `!=`); inventory labels are written onto the nodes before a deploy.
- Soft host rules: Swarm has no soft constraint and its only preference is to
  spread across a label's values, which does not prefer a value: dropped with
  a warning. A service's soft anti-affinity to itself (spread its replicas) is
  what Swarm's scheduler does anyway; the hard one becomes `MaxReplicas: 1`.
- Other `container` / `container_label` rules ask for tasks of two services on
  one node: Swarm cannot express that (a task is one container), so the stack
  is refused naming the service.
- A sidekick becomes a global service on the nodes its primary may use (the
  primary's constraints): every primary task then has a copy beside it, which is
  what co-location promises, plus one on each such node running none (warned:
  Swarm has no per-task pairs). A sidekick sharing volumes (`volumes_from`) or
  a network namespace with its primary needs the very same task: refused, as
  every `volumes_from` and `network_mode: service:/container:` is.
- `upgrade_strategy` → `UpdateConfig` (parallelism, delay, order) with
  `FailureAction: rollback`, and a matching `RollbackConfig`.
- compose `healthcheck` → the container health check; Rancher `health_check`
  → a probe run inside the container (`sh` and `nc`, as busybox has).
- Ports: published on the node running the task (`host` mode) and the
  service name resolving to its tasks (`dnsrr`) by default, which is what
  Rancher 1.6 did and what works without IPVS; a service label
  `io.corral.swarm.publish_mode: ingress` / `io.corral.swarm.endpoint_mode:
  vip` (or compose `deploy.endpoint_mode`) chooses Swarm's routing mesh.
- Named volumes are per node (warned); networks become one attachable
  overlay `STACK_default`.

Password answers stay where the standalone engine puts them (the task's
environment), never in labels: the spec hash label is computed with them
masked.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass, field

from corral.backends import labels as L
from corral.backends.engine.healthcheck import healthcheck_body
from corral.catalog.spec import Affinity, HealthCheck, Service, Stack, mask_secrets

#: docker stack's label: `docker stack ls` and the console's grouping read it.
NAMESPACE = "com.docker.stack.namespace"
#: Service labels choosing how ports are published and names resolve.
PUBLISH_MODE = "io.corral.swarm.publish_mode"
ENDPOINT_MODE = "io.corral.swarm.endpoint_mode"
DEFAULT_PUBLISH_MODE = "host"
DEFAULT_ENDPOINT_MODE = "dnsrr"
#: Labels of the scheduler that the translation consumes (not copied to containers).
_SCHEDULER = "io.rancher.scheduler."
_SIDEKICKS = "io.rancher.sidekicks"
_NS = 1_000_000_000
_MS = 1_000_000
#: How long Swarm watches a new task before an update counts it as done, without a health check.
DEFAULT_MONITOR_NS = 5 * _NS
#: Container options Swarm services do not have: dropped with a warning.
_LOST = (("privileged", "privileged"), ("devices", "devices"), ("pid", "pid"), ("ipc", "ipc"),
         ("domainname", "domainname"), ("retain_ip", "retain_ip"))


@dataclass(frozen=True)
class SwarmService:
    """One stack service as Swarm is asked to run it.

    Attributes:
        name: The stack's service name (`kv`).
        spec: The Engine API ServiceSpec (`Name` is `STACK_SERVICE`); the
            environment holds password answers, as a container's would.
        spec_hash: Digest of the spec with password answers masked and the
            replica count left out (scaling is compared on its own).
        replicas: Replicas wanted, or None in global mode.
    """

    name: str
    spec: dict
    spec_hash: str
    replicas: int | None

    @property
    def full_name(self) -> str:
        """The Swarm service name, `STACK_SERVICE` as docker stack names it."""
        return self.spec["Name"]


@dataclass(frozen=True)
class Translation:
    """A stack as Swarm services.

    Attributes:
        stack: The stack name.
        network: The overlay's NetworkCreate body.
        services: One per stack service, by name.
        warnings: What Swarm will not keep, one line each.
        refusals: Why Swarm cannot run the stack, one line each naming the service.
        node_labels: Node label keys the placement constraints rely on.
    """

    stack: str
    network: dict
    services: tuple[SwarmService, ...] = ()
    warnings: tuple[str, ...] = ()
    refusals: tuple[str, ...] = ()
    node_labels: frozenset[str] = field(default_factory=frozenset)

    @property
    def ok(self) -> bool:
        """Swarm can run the stack."""
        return not self.refusals


def service_name(stack: str, service: str) -> str:
    """The Swarm name of a stack service."""
    return f"{stack}_{service}"


def network_name(stack: str) -> str:
    """The stack's overlay."""
    return f"{stack}_default"


def spec_hash(spec: dict, secrets: frozenset[str] = frozenset()) -> str:
    """The digest a service carries in `io.corral.config-hash`.

    Password answers are masked first (a digest of a password on a label could
    be cracked offline) and the replica count is left out: `scale` changes it
    without changing what runs.
    """
    body = json.loads(json.dumps(mask_secrets(spec, secrets)))
    body.get("Labels", {}).pop(L.CONFIG_HASH, None)
    for key in (L.DEFINITION, L.GENERATION, L.ENTRY, L.VERSION):
        body.get("Labels", {}).pop(key, None)
    if "Replicated" in body.get("Mode", {}):
        body["Mode"] = {"Replicated": {}}
    raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


class _Collect:
    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.refusals: list[str] = []
        self.node_labels: set[str] = set()


def translate(stack: Stack, encrypted: bool = False) -> Translation:
    """The Swarm services, overlay, warnings and refusals of `stack`.

    Args:
        stack: The rendered stack.
        encrypted: Ask for an encrypted overlay (IPsec between nodes); a stack network's
            `encrypted` driver option asks too.
    """
    out = _Collect()
    network = network_name(stack.name)
    aliases = _link_aliases(stack, out)
    services = []
    by_name = {service.name: service for service in stack.services}
    for service in stack.services:
        primary = by_name.get(service.sidekick_of or "")
        spec = _service_spec(stack, service, network, aliases.get(service.name, ()), out,
                             primary)
        if spec is None:
            continue
        is_global = primary is not None or service.scheduling.is_global
        replicas = None if is_global else service.scale
        digest = spec_hash(spec, stack.secrets)
        spec["Labels"][L.CONFIG_HASH] = digest
        services.append(SwarmService(service.name, spec, digest, replicas))
    if any(not n.external for n in stack.networks) and stack.networks:
        out.warnings.append(f"networks {', '.join(n.name for n in stack.networks)}: every"
                            f" service joins the one overlay {network}")
    # `driver_opts: {encrypted: ...}` on a stack network asks for IPsec, as on the standalone
    # engine's overlay.
    encrypted = encrypted or any("encrypted" in n.driver_opts for n in stack.networks
                                 if not n.external)
    body = {"Name": network, "Driver": "overlay", "Attachable": True,
            "Labels": {L.STACK: stack.name, NAMESPACE: stack.name},
            "Options": {"encrypted": ""} if encrypted else {}}
    return Translation(stack.name, body, tuple(services), tuple(out.warnings),
                       tuple(out.refusals), frozenset(out.node_labels))


def _link_aliases(stack: Stack, out: _Collect) -> dict[str, tuple[str, ...]]:
    """Target service -> the other names links give it (an alias on the overlay)."""
    found: dict[str, set[str]] = {}
    for service in stack.services:
        for link in service.links:
            if link.alias != link.target:
                found.setdefault(link.target, set()).add(link.alias)
        if service.external_links:
            out.warnings.append(f"{service.name}: external_links"
                                f" {', '.join(x.target for x in service.external_links)}"
                                " are not resolved on the overlay")
    return {k: tuple(sorted(v)) for k, v in found.items()}


def _refuse(out: _Collect, service: Service, why: str) -> None:
    out.refusals.append(f"{service.name}: {why}")


def _service_spec(stack: Stack, service: Service, network: str, link_aliases: tuple[str, ...],
                  out: _Collect, primary: Service | None = None) -> dict | None:
    """The ServiceSpec of `service`, or None when refused (`primary`: the service
    whose sidekick it is)."""
    refused = len(out.refusals)
    if service.sidekick_of and primary is None:
        _refuse(out, service, f"sidekick of {service.sidekick_of}, which the stack lacks")
    if service.load_balancer is not None:
        _refuse(out, service, "a Rancher load balancer: publish the target service's ports"
                " instead (Swarm routes to its tasks)")
    if service.build is not None:
        _refuse(out, service, "has `build:`: Swarm nodes pull images; build and push it first")
    mode = service.network_mode or ""
    if mode and mode not in ("managed", "default", "bridge"):
        _refuse(out, service, f"network_mode {mode}: a Swarm task joins overlays only")
    if service.volumes_from:
        _refuse(out, service, "volumes_from: Swarm cannot share another task's volumes")
    if not service.image:
        _refuse(out, service, "no image")
    if primary is None:
        placement = _placement(service, out)
    else:
        # The primary's own rules are warned about (or refused) with the primary;
        # its hard host constraints say which nodes its tasks may use.
        scratch = _Collect()
        constraints = _placement(primary, scratch).get("Constraints")
        placement = {"Constraints": constraints} if constraints else {}
        out.node_labels |= scratch.node_labels
        out.warnings.append(f"{service.name}: sidekick of {primary.name}: a global service on"
                            f" the nodes {primary.name} may use, so one runs beside each of its"
                            " tasks (and on such nodes running none: Swarm has no per-task"
                            " pairs)")
    if len(out.refusals) > refused:
        return None

    container: dict = {"Image": service.image,
                       "Labels": _container_labels(stack, service)}
    if service.entrypoint is not None:
        container["Command"] = list(service.entrypoint)
    if service.command is not None:
        container["Args"] = list(service.command)
    env = [f"{k}={v}" for k, v in sorted(service.environment.items()) if v is not None]
    if env:
        container["Env"] = env
    for key, attr in (("TTY", "tty"), ("OpenStdin", "stdin_open"), ("User", "user"),
                      ("Dir", "working_dir"), ("Hostname", "hostname"),
                      ("StopSignal", "stop_signal"), ("ReadOnly", "read_only")):
        value = getattr(service, attr)
        if value:
            container[key] = value
    for key, attr in (("CapabilityAdd", "cap_add"), ("CapabilityDrop", "cap_drop")):
        if getattr(service, attr):
            container[key] = list(getattr(service, attr))
    if service.dns or service.dns_search:
        container["DNSConfig"] = {"Nameservers": list(service.dns),
                                  "Search": list(service.dns_search)}
    if service.extra_hosts:
        container["Hosts"] = [_host_line(h) for h in service.extra_hosts]
    if service.ulimits:
        container["Ulimits"] = [{"Name": u.name, "Soft": u.soft, "Hard": u.hard}
                                for u in service.ulimits]
    health = _healthcheck(service, out)
    if health is not None:
        container["Healthcheck"] = health
    mounts = _mounts(stack, service, out)
    if mounts:
        container["Mounts"] = mounts
    lost = [name for name, attr in _LOST if getattr(service, attr)]
    if lost:
        out.warnings.append(f"{service.name}: {', '.join(lost)} dropped: Swarm services"
                            " have no such option")
    if service.files:
        out.warnings.append(f"{service.name}: compose secrets/configs are not delivered")

    task: dict = {"ContainerSpec": container, "RestartPolicy": _restart(service),
                  "Networks": [{"Target": network,
                                "Aliases": sorted({service.name, *link_aliases,
                                                   *([service.container_name]
                                                     if service.container_name else [])})}]}
    if placement:
        task["Placement"] = placement
    if service.logging is not None and service.logging.driver:
        task["LogDriver"] = {"Name": service.logging.driver,
                             "Options": dict(service.logging.options)}
    update = _update_config(service, health)
    spec: dict = {
        "Name": service_name(stack.name, service.name),
        "Labels": {L.STACK: stack.name, L.SERVICE: service.name, NAMESPACE: stack.name},
        "TaskTemplate": task,
        "Mode": ({"Global": {}} if service.scheduling.is_global or primary is not None
                 else {"Replicated": {"Replicas": service.scale}}),
        "UpdateConfig": update,
        "RollbackConfig": {**update, "FailureAction": "pause"},
        "EndpointSpec": _endpoint(service, out),
    }
    return spec


def _container_labels(stack: Stack, service: Service) -> dict[str, str]:
    labels = {k: v for k, v in service.labels.items()
              if not k.startswith(_SCHEDULER) and k != _SIDEKICKS
              and k not in (PUBLISH_MODE, ENDPOINT_MODE)}
    labels.update({L.STACK: stack.name, L.SERVICE: service.name, NAMESPACE: stack.name,
                   L.RANCHER_STACK: stack.name,
                   L.RANCHER_SERVICE: f"{stack.name}/{service.name}"})
    return dict(sorted(labels.items()))


def _host_line(text: str) -> str:
    """compose `host:ip` → Swarm's `ip host` (the hosts-file order)."""
    name, _, address = text.partition(":")
    return f"{address} {name}"


def _own(service: Service, rule: Affinity) -> bool:
    """The rule names the service's own containers (spread or keep one per node)."""
    if rule.kind != "container_label" or not rule.negated:
        return False
    return (rule.key in (L.RANCHER_SERVICE, L.SERVICE)
            and rule.value.split("/")[-1] == service.name)


def _placement(service: Service, out: _Collect) -> dict:
    constraints: list[str] = []
    placement: dict = {}
    for rule in service.scheduling.rules:
        shown = f"{rule.kind}{'_soft' if rule.soft else ''}{'_ne' if rule.negated else ''}"
        if rule.kind == "host_label" and rule.key:
            if rule.soft:
                out.warnings.append(f"{service.name}: soft rule {shown} {rule.key}={rule.value}"
                                    " dropped: Swarm has no soft constraints (its preferences"
                                    " only spread across a label's values)")
                continue
            op = "!=" if rule.negated else "=="
            constraints.append(f"node.labels.{rule.key}{op}{rule.value}")
            out.node_labels.add(rule.key)
        elif _own(service, rule):
            if not rule.soft:
                placement["MaxReplicas"] = 1  # one task of the service per node
            # soft: Swarm spreads a service's tasks across nodes by itself
        elif rule.soft:
            out.warnings.append(f"{service.name}: soft rule {shown} {rule.key or ''}"
                                f"{'=' if rule.key else ''}{rule.value} dropped: Swarm cannot"
                                " place by other services' tasks")
        else:
            _refuse(out, service, f"{shown} {rule.key or ''}{'=' if rule.key else ''}"
                    f"{rule.value}: Swarm cannot place a task by where other tasks run")
    if constraints:
        placement["Constraints"] = constraints
    return placement


def _restart(service: Service) -> dict:
    restart = service.restart or ("no" if service.start_once else "always")
    name, _, retries = restart.partition(":")
    if name == "no":
        return {"Condition": "none"}
    if name == "on-failure":
        return {"Condition": "on-failure", **({"MaxAttempts": int(retries)} if retries else {})}
    return {"Condition": "any"}


def _healthcheck(service: Service, out: _Collect) -> dict | None:
    if service.healthcheck is not None:
        return healthcheck_body(service.healthcheck)
    if service.health_check is None:
        return None
    rancher = service.health_check
    if rancher.strategy != "recreate":
        out.warnings.append(f"{service.name}: health_check strategy {rancher.strategy}:"
                            " Swarm always replaces an unhealthy task")
    out.warnings.append(f"{service.name}: health_check runs inside the container (needs sh"
                        " and nc in the image)")
    return {"Test": ["CMD-SHELL", probe_command(rancher)],
            "Interval": rancher.interval * _MS, "Timeout": rancher.response_timeout * _MS,
            "Retries": rancher.unhealthy_threshold,
            "StartPeriod": (rancher.initializing_timeout or 0) * _MS}


def probe_command(check: HealthCheck) -> str:
    """The shell probe for a Rancher health check: a TCP connect, or an HTTP request
    whose status must be 2xx or 3xx (as Rancher judges it)."""
    wait = max(1, check.response_timeout // 1000)
    target = f"nc -w {wait} 127.0.0.1 {check.port}"
    if not check.request_line:
        return f"{target} </dev/null"
    method = check.request_line.split()[0].strip('"') if check.request_line.split() else "GET"
    path = check.path or "/"
    request = shlex.quote(f"{method} {path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n")
    return f"printf {request} | {target} | head -n 1 | grep -q ' [23][0-9][0-9]'"


def _update_config(service: Service, health: dict | None) -> dict:
    strategy = service.upgrade_strategy
    batch, interval, first = ((strategy.batch_size, strategy.interval, strategy.start_first)
                              if strategy else (1, 2000, False))
    monitor = DEFAULT_MONITOR_NS
    if health and health.get("Test") != ["NONE"]:
        # Long enough for a new task to be judged by its health check.
        budget = (health.get("StartPeriod", 0) + (health.get("Retries") or 3)
                  * (health.get("Interval") or 30 * _NS) + (health.get("Timeout") or 0))
        monitor = max(monitor, budget)
    return {"Parallelism": max(batch, 1), "Delay": interval * _MS,
            "FailureAction": "rollback", "Monitor": monitor, "MaxFailureRatio": 0,
            "Order": "start-first" if first else "stop-first"}


def _endpoint(service: Service, out: _Collect) -> dict:
    deploy = service.extra.get("deploy") if isinstance(service.extra.get("deploy"), dict) else {}
    endpoint = str(service.labels.get(ENDPOINT_MODE) or (deploy or {}).get("endpoint_mode")
                   or "")
    publish = str(service.labels.get(PUBLISH_MODE) or "")
    if publish not in ("", "host", "ingress"):
        _refuse(out, service, f"{PUBLISH_MODE}={publish}: host or ingress")
    if endpoint not in ("", "vip", "dnsrr"):
        _refuse(out, service, f"endpoint_mode {endpoint}: vip or dnsrr")
    publish = publish or ("ingress" if endpoint == "vip" else DEFAULT_PUBLISH_MODE)
    endpoint = endpoint or ("vip" if publish == "ingress" else DEFAULT_ENDPOINT_MODE)
    ports = []
    for port in service.ports:
        if not port.published:
            continue
        entry = {"Protocol": port.protocol, "TargetPort": port.container_port,
                 "PublishMode": publish}
        if port.host_port:
            entry["PublishedPort"] = port.host_port
        if port.host_ip:
            out.warnings.append(f"{service.name}: port {port.container_port} bound to"
                                f" {port.host_ip} in the file: Swarm publishes on every address")
        ports.append(entry)
    if ports and publish == "ingress" and endpoint == "dnsrr":
        _refuse(out, service, "ingress ports need endpoint_mode vip (dnsrr: publish in host"
                " mode)")
    if ports and publish == "host" and not service.scheduling.is_global and service.scale > 1 \
            and any("PublishedPort" in p for p in ports):
        out.warnings.append(f"{service.name}: {service.scale} replicas publish host port"
                            f" {ports[0].get('PublishedPort')}: one task per node, so it needs"
                            f" {service.scale} eligible nodes")
    if ports and publish == "host" and (service.upgrade_strategy
                                        and service.upgrade_strategy.start_first):
        out.warnings.append(f"{service.name}: start_first with host ports: the new task"
                            " needs another node while the old one holds the port")
    body: dict = {"Mode": endpoint}
    if ports:
        body["Ports"] = ports
    return body


def _mounts(stack: Stack, service: Service, out: _Collect) -> list[dict]:
    declared = {v.name: v for v in stack.volumes}
    mounts = []
    per_node = []
    for mount in service.volumes:
        read_only = mount.mode == "ro"
        if mount.kind == "named":
            volume = declared.get(mount.source or "")
            if volume is not None and volume.external:
                source = volume.external_name or volume.name
            elif volume is not None or stack.volumes:
                source = f"{stack.name}_{mount.source}"
                per_node.append(mount.source or "")
            else:
                source = mount.source or ""
            body: dict = {"Type": "volume", "Source": source, "Target": mount.target,
                          "ReadOnly": read_only}
            if volume is not None and not volume.external:
                options: dict = {"Labels": {L.STACK: stack.name, NAMESPACE: stack.name}}
                if volume.driver:
                    options["DriverConfig"] = {"Name": volume.driver,
                                               "Options": dict(volume.driver_opts)}
                body["VolumeOptions"] = options
            mounts.append(body)
        elif mount.kind == "bind":
            out.warnings.append(f"{service.name}: bind mount {mount.source} must exist on"
                                " every node a task may run on")
            mounts.append({"Type": "bind", "Source": mount.source, "Target": mount.target,
                           "ReadOnly": read_only})
        elif mount.kind == "anonymous":
            mounts.append({"Type": "volume", "Target": mount.target, "ReadOnly": read_only})
        elif mount.kind == "tmpfs":
            mounts.append({"Type": "tmpfs", "Target": mount.target})
        else:  # local: files beside the compose file, shipped by the standalone engine
            _refuse(out, service, f"mounts {mount.source} from beside the compose file: the"
                    " swarm engine does not ship files to nodes")
    if per_node:
        out.warnings.append(f"{service.name}: volume{'s' if len(per_node) > 1 else ''}"
                            f" {', '.join(per_node)} are per node: a task moved to another"
                            " node starts with an empty one")
    return mounts
