"""Deploy, per host: the preflight checks and converging one host to the plan.

`HostWork.build()` turns the plan's changes into create bodies per host
(with masked passwords filled in from the stack's containers when the spec
came from a record). `preflight()` checks every host before anything changes;
`converge_host()` runs on one host's worker thread.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from corral.backends import labels as L
from corral.backends.deploy import loadbalancer
from corral.backends.deploy.body import (
    instantiate,
    replica_volumes,
    service_networks,
    unmask,
    volume_name,
)
from corral.backends.deploy.build import LOCAL_BUILD, build_all, no_engine_reason
from corral.backends.deploy.files_ship import ship
from corral.backends.deploy.health import Target, container_address, gateway_address, wait_all
from corral.backends.deploy.image_plan import (
    PUSH,
    image_sources,
    plan_images,
    transfer,
    unavailable_problems,
)
from corral.backends.deploy.objects import (
    ensure_network,
    ensure_volume,
    network_problems,
    remove_container,
    volume_problems,
    write_record,
)
from corral.backends.deploy.prepare import Prepared, Progress, ProgressCallback
from corral.backends.deploy.start_order import wait_dependencies
from corral.backends.errors import BackendError, DeployError, DockerApiError, PreflightError
from corral.backends.plan.extlinks import external_joins
from corral.backends.plan.model import CREATE, REMOVE, REPLACE, START, Step
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession
from corral.catalog.spec import MASK

#: How long a compose `healthcheck` may take to report healthy during a deploy.
COMPOSE_HEALTH_TIMEOUT = 60.0


@dataclass
class HostWork:
    """What one host must do.

    Attributes:
        host: The host.
        steps: Its changes, in plan order (dependencies first).
        bodies: Container name -> (create body, extra networks with aliases).
        networks: Engine networks the new containers join.
        volumes: (stack volume name, replica) of the volumes the new containers
            mount (`replica_volumes()`).
        images: Images the new containers run.
    """

    host: str
    steps: list[Step] = field(default_factory=list)
    bodies: dict[str, tuple[dict, list]] = field(default_factory=dict)
    networks: set[str] = field(default_factory=set)
    volumes: set[tuple[str, str]] = field(default_factory=set)
    images: set[str] = field(default_factory=set)

    @staticmethod
    def build(fleet: Fleet, prepared: Prepared) -> dict[str, HostWork]:
        """The work of every host with a change.

        Raises:
            DeployError: No container of the stack holds a masked password.
        """
        stack, plan = prepared.stack, prepared.plan
        final: dict[str, list[Step]] = defaultdict(list)
        for step in plan.final():
            final[step.host].append(step)
        work: dict[str, HostWork] = {}
        pending: list[tuple[HostWork, Step, dict, list]] = []
        joins = external_joins(stack, prepared.state.hosts, plan.steps)
        for step in plan.changes:
            item = work.setdefault(step.host, HostWork(step.host))
            item.steps.append(step)
            if step.action not in (CREATE, REPLACE):
                continue
            service = stack.service(step.service)
            name, body, extra = instantiate(stack, service, step.index,
                                            _peers(final[step.host], step.index),
                                            prepared.hashes[service.name],
                                            prepared.definition.generation,
                                            overlay=bool(plan.overlay))
            # Another stack's network: joined without aliases of ours (its
            # services' names are its own), the link alias naming its container.
            extra = [*extra, *((network, [], None, links) for network, links
                               in joins.endpoints(service.name, step.host))]
            pending.append((item, step, body, extra))
            item.networks.update(service_networks(stack, service))
            item.volumes.update(replica_volumes(stack, service, step.index))
            item.images.add(service.image or "")
        unmasker = _Unmasker(fleet, prepared)
        for item, step, body, extra in pending:
            if prepared.from_record and MASK in json.dumps(body):
                body = unmasker.fill(step.service, body)
            item.bodies[step.name] = (body, extra)
        return work


def _peers(steps: list[Step], index: int) -> dict[str, str]:
    """For each service on the host, the container a replica `index` uses (same index first)."""
    peers: dict[str, tuple[bool, int, str]] = {}
    for step in steps:
        rank = (step.index != index, step.index, step.name)
        if step.service not in peers or rank < peers[step.service]:
            peers[step.service] = rank
    return {service: rank[2] for service, rank in peers.items()}


class _Unmasker:
    """Fills masked passwords from containers of the stack that hold them.

    A replica of the same service is tried first (current configuration and
    running first); then the other services' containers, since one password
    answer often reaches several services under the same variable.
    """

    def __init__(self, fleet: Fleet, prepared: Prepared):
        self.fleet = fleet
        self.prepared = prepared
        self.configs: dict[str, dict | None] = {}

    def fill(self, service: str, body: dict) -> dict:
        """The body with its masks filled.

        Raises:
            DeployError: No container of the stack holds what is masked.
        """
        wanted = self.prepared.hashes.get(service)
        copies = sorted(
            (c.labels.get(L.SERVICE) != service, c.labels.get(L.CONFIG_HASH) != wanted,
             not c.running, host, c.id)
            for host, c in self.prepared.state.containers(self.prepared.stack.name))
        for other, *_, host, ref in copies:
            config = self._config(host, ref)
            if config is None:
                continue
            try:
                return unmask(body, config, same_service=not other)
            except ValueError:
                continue
        raise DeployError(
            f"service {service} uses a password answer that no container of the stack holds"
            " any more: deploy the stack again with its answers")

    def _config(self, host: str, ref: str) -> dict | None:
        if ref not in self.configs:
            found = self.fleet.query(lambda s: s.call(
                lambda client: client.api.inspect_container(ref)), hosts=[host])[0]
            self.configs[ref] = found.value["Config"] if found.ok else None  # type: ignore[index]
        return self.configs[ref]


def preflight(fleet: Fleet, prepared: Prepared, work: dict[str, HostWork]) -> None:
    """Check every host with work before anything changes.

    Reads how each image reaches its hosts (`image_plan.plan_images`, kept in
    `prepared.images`): an image no host has and no registry may serve stops it.

    Raises:
        PreflightError: Per host, the images unavailable, volumes or networks missing.
    """
    stack = prepared.stack

    def check(session: HostSession) -> list[str]:
        item = work[session.name]
        problems = []
        problems += volume_problems(session, stack, item.volumes)
        problems += network_problems(session, stack, item.networks)
        return problems

    problems: dict[str, list[str]] = {}
    try:
        rows = plan_images(fleet, prepared)
    except BackendError as exc:
        problems[exc.host or "?"] = [f"unreachable: {exc.message}"]
        rows = []
    unbuildable = sorted({row.image for row in rows if row.why == no_engine_reason()})
    if unbuildable:  # one line: the same for every host, and nothing else matters first
        raise PreflightError(f"stack {stack.name}: {', '.join(unbuildable)}:"
                             f" {no_engine_reason()}; nothing was changed")
    for host, lines in unavailable_problems(rows).items():
        problems.setdefault(host, []).extend(lines)
    for result in fleet.query(check, hosts=sorted(work)):
        if not result.ok:
            problems[result.host] = [f"unreachable: {result.error.message}"]  # type: ignore[union-attr]
        elif result.value:
            problems.setdefault(result.host, []).extend(result.value)
    if problems:
        raise PreflightError(f"stack {stack.name} cannot be deployed; nothing was changed",
                             dict(sorted(problems.items())))


def bring_images(fleet: Fleet, prepared: Prepared, report: ProgressCallback) -> None:
    """Pull or push the images `prepared.images` says hosts lack, before any container change.

    Images of `build:` services are built first with the local engine (`build.py`).

    Raises:
        PreflightError: An image could not be built or reach a host (named, with
            why); no container was changed (images already moved stay: a re-run
            skips them).
    """
    sources = image_sources(prepared)
    built = sorted({row.image for row in prepared.images
                    if row.action == PUSH and row.source == LOCAL_BUILD})
    try:
        builder = build_all(prepared, built, report)
    except DeployError as exc:
        raise PreflightError(f"stack {prepared.stack.name}: {exc.message}; no container was"
                             " changed", {LOCAL_BUILD: [exc.message]}) from None
    if builder is not None:
        sources[LOCAL_BUILD] = builder
    errors = transfer(fleet, prepared.images, report, sources)
    if errors:
        raise PreflightError(f"stack {prepared.stack.name}: images did not reach every host;"
                             " no container was changed",
                             {host: [error] for host, error in sorted(errors.items())})


def bring_files(fleet: Fleet, prepared: Prepared, report: ProgressCallback) -> None:
    """Ship the files beside the compose file that hosts lack, before any container change.

    Raises:
        PreflightError: A file did not reach a host (named, with why); no
            container was changed (items already shipped stay: a re-run skips them).
    """
    errors = ship(fleet, prepared.files, report)
    if errors:
        raise PreflightError(f"stack {prepared.stack.name}: files did not reach every host;"
                             " no container was changed",
                             {host: [error] for host, error in sorted(errors.items())})


def converge_host(session: HostSession, fleet: Fleet, prepared: Prepared,
                  work: HostWork | None, report: ProgressCallback,
                  health_timeout_ms: int | None) -> dict[str, str]:
    """Bring one host to the plan (blocking, on that host's worker thread).

    Returns:
        Container name -> why, for containers not healthy in time.

    Raises:
        BackendError: A step failed; the steps before it stay done.
    """
    host, stack = session.name, prepared.stack

    def step(name: str, action: str, run) -> object:
        report(Progress(host, name, action, "running"))
        try:
            value = run()
        except BackendError as exc:
            report(Progress(host, name, action, "failed", exc.message))
            raise
        report(Progress(host, name, action, "done"))
        return value

    if host in prepared.missing_records:
        step(f"record generation {prepared.definition.generation}", "record",
             lambda: write_record(session, prepared.definition))
    if work is None:
        return {}
    # On an overlay, `apply` made the stack's networks through a manager already.
    for network in sorted(work.networks) if not prepared.plan.overlay else ():
        if ensure_network(session, stack, network):
            report(Progress(host, network, "network", "done"))
    for volume, replica in sorted(work.volumes):
        if ensure_volume(session, stack, volume, replica):
            report(Progress(host, volume_name(stack, volume, replica), "volume", "done"))
    for item in work.steps:
        if item.action == REMOVE:
            step(item.name, REMOVE, lambda ref=item.container: remove_container(session, ref))
    started = []
    by_service: dict[str, list[str]] = defaultdict(list)
    timeout = health_timeout_ms / 1000 if health_timeout_ms else COMPOSE_HEALTH_TIMEOUT
    for item in work.steps:
        if item.action in (START, CREATE, REPLACE):
            service = stack.service(item.service)
            if service.depends_on_conditions:
                wait_dependencies(session, service, by_service, timeout,
                                  lambda name: _engine_health(session, name, health_timeout_ms))
        if item.action == START:
            step(item.name, START, lambda name=item.name: session.call(
                lambda client: client.api.start(name)))
            started.append(item)
            by_service[item.service].append(item.name)
        elif item.action in (CREATE, REPLACE):
            body, extra = work.bodies[item.name]
            start = stack.service(item.service).start_on_create
            balancer = stack.service(item.service).load_balancer is not None
            step(item.name, item.action,
                 lambda i=item, b=body, e=extra, s=start, lb=balancer: create_container(
                     session, i, b, e, s, (lambda: loadbalancer.seed(
                         session, fleet, stack, i.name)) if lb else None))
            if start:
                started.append(item)
                by_service[item.service].append(item.name)
    return check_health(session, fleet, prepared, started, report, health_timeout_ms)


def create_container(session: HostSession, item: Step, body: dict, extra: list,
                     start: bool, before_start: Callable[[], None] | None = None) -> None:
    """Create (after removing the container it replaces), connect and start one container.

    `before_start` runs once it is created and connected (a load balancer's
    configuration is written then).

    Raises:
        DeployError: A container outside the stack holds the name.
        BackendError: The engine refused.
    """
    if item.action == REPLACE and item.container:
        remove_container(session, item.container)
    try:
        session.call(lambda client: client.api.create_container_from_config(body, item.name))
    except DockerApiError as exc:
        if exc.status == 409:
            raise DeployError(f"cannot create {item.name}: a container of that name exists and"
                              " is not part of the stack; rename or remove it",
                              host=session.name) from exc
        raise
    for network, aliases, ipam, *links in extra:
        ipam = ipam or {}
        session.call(lambda client, n=network, a=aliases, i=ipam, k=links:
                     client.api.connect_container_to_network(
                         item.name, n, aliases=a or None, ipv4_address=i.get("IPv4Address"),
                         ipv6_address=i.get("IPv6Address"),
                         links=[tuple(x.split(":", 1)) for x in k[0]] if k and k[0] else None))
    if before_start is not None:
        before_start()
    if start:
        session.call(lambda client: client.api.start(item.name))


def check_health(session: HostSession, fleet: Fleet, prepared: Prepared, started: list[Step],
                 report: ProgressCallback, timeout_ms: int | None) -> dict[str, str]:
    """Wait for the started containers: running, then healthy by whichever check they have."""
    host, stack = session.name, prepared.stack
    unhealthy: dict[str, str] = {}
    probes = []
    for item in started:
        service = stack.service(item.service)
        inspect = session.call(lambda client, n=item.name: client.api.inspect_container(n))
        state = inspect.get("State") or {}
        if not state.get("Running") and not (service.start_once and state.get("ExitCode") == 0):
            unhealthy[item.name] = f"exited with code {state.get('ExitCode')}"
        elif service.health_check is not None and fleet.backend is not None:
            address = (gateway_address(session, inspect.get("Id", "")) if prepared.plan.overlay
                       else None) or container_address(inspect)
            if address:
                probes.append((session, Target(host, item.name, address, service.health_check)))
        elif service.healthcheck is not None and not service.healthcheck.disable:
            why = _engine_health(session, item.name, timeout_ms)
            if why:
                unhealthy[item.name] = why
    if probes:
        assert fleet.backend is not None
        for name, why in wait_all(fleet.backend, probes, timeout_ms).items():
            if why:
                unhealthy[name] = why
    for item in started:
        why = unhealthy.get(item.name)
        report(Progress(host, item.name, "health", "unhealthy" if why else "healthy", why or ""))
    return unhealthy


def _engine_health(session: HostSession, name: str, timeout_ms: int | None) -> str | None:
    """Wait for Docker's own health status (compose `healthcheck`)."""
    deadline = time.monotonic() + (timeout_ms / 1000 if timeout_ms else COMPOSE_HEALTH_TIMEOUT)
    status = "starting"
    while time.monotonic() < deadline:
        inspect = session.call(lambda client: client.api.inspect_container(name))
        status = ((inspect.get("State") or {}).get("Health") or {}).get("Status", "none")
        if status in ("healthy", "none"):
            return None
        if status == "unhealthy":
            return "the engine's health check reports unhealthy"
        time.sleep(0.5)
    return f"still {status} after the deploy's wait"
