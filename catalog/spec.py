"""The backend-neutral stack spec a rendered catalog version becomes.

Everything here is plain, frozen data: strings, ints, bools, tuples and
dicts, in a deterministic order (services, volumes and networks by name; dict
keys sorted), so a deploy planner can diff two renders and `to_dict()` gives
stable `--json`. Durations from Rancher are kept in its milliseconds.

Answers to password questions end up inside values (environment, command…);
`repr()` and `to_dict()` mask them unless asked to reveal them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from corral.catalog.problems import Problem

#: Field metadata: the value never leaves the process (`to_dict()`, records, JSON).
PRIVATE = "corral.private"

MASK = "********"


def mask_secrets(value: object, secrets: frozenset[str]) -> object:
    """Replace every occurrence of each secret inside `value` (plain data) by a mask."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {k: mask_secrets(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_secrets(v, secrets) for v in value]
    return value


class _Masked:
    """A repr that hides the answers to password questions."""

    secrets: frozenset[str]

    def __repr__(self) -> str:
        body = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.repr
        )
        return mask_secrets(f"{type(self).__name__}({body})", self.secrets)  # type: ignore[return-value]


@dataclass(frozen=True)
class Port:
    """A port of a service.

    Attributes:
        container_port: The port inside the container.
        protocol: `tcp` or `udp`.
        host_port: The published host port; None when not published, or
            published on a port the engine picks (see `published`).
        host_ip: The host address to bind, or None for all addresses.
        published: True when the port is published on the host at all.
    """

    container_port: int
    protocol: str = "tcp"
    host_port: int | None = None
    host_ip: str | None = None
    published: bool = False


@dataclass(frozen=True)
class Mount:
    """A volume mount of a service.

    Attributes:
        kind: `named` (a stack or external volume), `bind` (a host path),
            `local` (a relative bind: a file or folder beside the compose file
            on the operator's machine, which the deploy ships to the hosts),
            `anonymous` (a fresh volume at `target`) or `tmpfs` (a memory
            file system at `target`; `options` hold `size=`/`mode=`).
        source: The volume name, host path (for `local` the absolute path on
            this machine); None for anonymous and tmpfs mounts.
        target: The path inside the container.
        mode: `rw` or `ro`.
        options: Other flags after the mode (`z`, `Z`, `nocopy`…), in order.
    """

    kind: str
    source: str | None
    target: str
    mode: str = "rw"
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Link:
    """A link to another service (`links`) or to outside it (`external_links`).

    Attributes:
        target: The service name, or for external links `stack/service` or a container.
        alias: The host name the linking container sees.
    """

    target: str
    alias: str


@dataclass(frozen=True)
class VolumesFrom:
    """`volumes_from`: mount every volume of `source` (`kind` service or container)."""

    kind: str
    source: str
    mode: str = "rw"


@dataclass(frozen=True)
class ServiceNetwork:
    """A v2 network the service joins, with its aliases and fixed addresses there."""

    name: str
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    ipv6_address: str | None = None


@dataclass(frozen=True)
class FileRef:
    """A compose `secrets` / `configs` item of a service (long or short syntax).

    The deploy ships its content to the hosts like a relative bind
    (`backends/deploy/files.py`) and bind-mounts it read-only at `target`;
    the content itself never reaches a label, the environment, the plan or
    the record.

    Attributes:
        kind: `secret` or `config`.
        name: The top-level secret or config it refers to.
        target: The path inside the container.
        origin: Where its content comes from (`file ./x`, `environment X`,
            `content`), for messages.
        uid, gid: The file's owner in the container (None: 0).
        mode: The file's permission bits (None: 0400 for a secret, 0444 for
            a config).
        source: For `file:`, the absolute path on this machine.
        data: For `environment:` / `content:`, the content; never in
            `to_dict()`, `repr` or comparisons.
    """

    kind: str
    name: str
    target: str
    origin: str = ""
    uid: int | None = None
    gid: int | None = None
    mode: int | None = None
    source: str | None = None
    data: str | None = field(default=None, repr=False, compare=False,
                             metadata={PRIVATE: True})

    @property
    def file_mode(self) -> int:
        """The permission bits the file gets (`mode`, or the kind's default)."""
        if self.mode is not None:
            return self.mode
        return 0o400 if self.kind == "secret" else 0o444


@dataclass(frozen=True)
class Build:
    """Compose `build:`: the image is built with the operator's local engine, then pushed.

    Attributes:
        context: The build context, an absolute folder on the operator's machine.
        dockerfile: The Dockerfile, relative to the context (None: `Dockerfile`).
        args: Build arguments.
        target: The build stage to stop at, or None.
    """

    context: str
    dockerfile: str | None = None
    args: dict[str, str] = field(default_factory=dict)
    target: str | None = None


@dataclass(frozen=True)
class Ulimit:
    """A ulimit: `soft` and `hard` are equal when compose gives a single number."""

    name: str
    soft: int
    hard: int


@dataclass(frozen=True)
class Logging:
    """The log driver and its options (v2 `logging`, v1 `log_driver` / `log_opt`)."""

    driver: str | None = None
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ComposeHealthcheck:
    """docker-compose's own `healthcheck` (run by the engine). Durations in seconds.

    Attributes:
        test: The command, first item `CMD`, `CMD-SHELL` or `NONE`.
        interval, timeout, start_period: Seconds, or None for the engine default.
        retries: Consecutive failures before unhealthy, or None.
        disable: True when compose disables an image's health check.
    """

    test: tuple[str, ...] = ()
    interval: float | None = None
    timeout: float | None = None
    retries: int | None = None
    start_period: float | None = None
    disable: bool = False


@dataclass(frozen=True)
class HealthCheck:
    """Rancher's `health_check` from rancher-compose.yml. Times in milliseconds.

    Attributes:
        port: The container port probed.
        request_line: An HTTP request such as `GET "/health" "HTTP/1.0"`, or
            None for a plain TCP connect.
        path: The path of `request_line` (`/health`), or None.
        interval, response_timeout: Between probes; for one probe to answer.
        initializing_timeout, reinitializing_timeout: Grace after (re)start, or None.
        healthy_threshold, unhealthy_threshold: Successes / failures that flip the state.
        strategy: What to do with unhealthy containers: `none`, `recreate` or
            `recreateOnQuorum`.
        quorum: With `recreateOnQuorum`, how many healthy containers must remain.
    """

    port: int
    request_line: str | None = None
    path: str | None = None
    interval: int = 2000
    response_timeout: int = 2000
    initializing_timeout: int | None = None
    reinitializing_timeout: int | None = None
    healthy_threshold: int = 2
    unhealthy_threshold: int = 3
    strategy: str = "recreate"
    quorum: int | None = None


@dataclass(frozen=True)
class UpgradeStrategy:
    """Rancher's `upgrade_strategy`: start new containers before stopping old ones
    (`start_first`), `batch_size` containers at a time, `interval` ms apart."""

    start_first: bool = False
    batch_size: int = 1
    interval: int = 2000


@dataclass(frozen=True)
class Affinity:
    """One scheduling rule from an `io.rancher.scheduler.affinity:*` label.

    Attributes:
        kind: `host_label` (match host labels), `container_label` (hosts running
            containers with this label) or `container` (hosts running this container).
        key: The label key; None for `container` rules.
        value: The label value, or the container name.
        negated: `_ne`: the host must NOT match.
        soft: `_soft`: a preference, not a requirement.
    """

    kind: str
    key: str | None
    value: str
    negated: bool = False
    soft: bool = False


@dataclass(frozen=True)
class Scheduling:
    """Where a service's containers may run.

    Attributes:
        is_global: `io.rancher.scheduler.global`: one container on every
            eligible host; `scale` is then ignored.
        rules: Affinity rules, by label key, then in the order each label lists them.
    """

    is_global: bool = False
    rules: tuple[Affinity, ...] = ()


@dataclass(frozen=True)
class PortRule:
    """One rule of a load balancer (`lb_config.port_rules`, or a legacy LB's ports/links).

    Attributes:
        source_port: The port the load balancer listens on.
        target_port: The port of the target service's containers.
        service: The target service of this stack (a `STACK/SERVICE` naming
            this stack is kept as `SERVICE`).
        hostname: Match on the HTTP Host header (`*.example.com` allowed), or "".
        path: Match on the request path prefix, or "".
        protocol: `http`, `https`, `tcp` or `tls`.
        priority: Lower first; rules without one come after, in file order.
        line: The line of the rule in its file, for problems.
    """

    source_port: int
    target_port: int
    service: str
    hostname: str = ""
    path: str = ""
    protocol: str = "http"
    priority: int | None = None
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Stickiness:
    """`lb_config.stickiness_policy`: an HAProxy cookie that pins a client to a backend."""

    cookie: str = "lb"
    mode: str = "insert"
    indirect: bool = False
    nocache: bool = False
    postonly: bool = False
    domain: str = ""


@dataclass(frozen=True)
class LoadBalancer:
    """A Rancher load balancer service, run by Corral as an HAProxy container.

    Attributes:
        rules: The port rules, in file order.
        stickiness: The cookie stickiness policy, or None.
        certs: Certificate names (`default_cert:` first, then `certs:`).
        cert_files: The PEM files (certificate and key) found for them beside the
            compose file, default first, as absolute paths on the operator's
            machine: only the paths are data; the files go into the LB container.
        legacy: True for `rancher/load-balancer-service` (ports + links).
    """

    rules: tuple[PortRule, ...] = ()
    stickiness: Stickiness | None = None
    certs: tuple[str, ...] = ()
    cert_files: tuple[str, ...] = ()
    legacy: bool = False


@dataclass(frozen=True, repr=False)
class Service(_Masked):
    """One service of the stack: the docker-compose keys, then Rancher's.

    Attributes:
        name: The service name.
        image: The image reference.
        command, entrypoint: Argument lists (strings are split like a shell), or None.
        environment: Variables; a None value passes the engine's own through.
        ports, expose: Published and exposed-only ports.
        volumes: Mounts, in compose order.
        volumes_from: Services or containers whose volumes are shared.
        links, external_links: Links within the stack / to elsewhere.
        labels: Container labels, including Rancher's own `io.rancher.*`.
        network_mode: `bridge`, `host`, `none`, `container:x`, `service:x`,
            Rancher's `managed`, or None for the default (v1 `net`).
        networks: v2 networks the service joins.
        restart, tty, stdin_open, user, working_dir, hostname, domainname,
            cap_add, cap_drop, privileged, read_only, dns, dns_search,
            extra_hosts, devices, pid, ipc, stop_signal: As in docker-compose.
        depends_on: Services to start first.
        depends_on_conditions: For each of `depends_on`, what it must reach
            first: `service_started`, `service_healthy` or
            `service_completed_successfully` (Compose Specification).
        container_name: Compose's `container_name`: Corral names containers
            `STACK-SERVICE-N` and gives this name as a network alias.
        files: Compose `secrets` and `configs` the service asks for.
        build: Compose `build:`, or None; `image` then names the result (given,
            or `STACK-SERVICE:corral`).
        healthcheck: docker-compose's engine health check, or None.
        logging: Log driver and options, or None.
        ulimits: Ulimits by name order.
        extra: Other valid compose keys Corral does not model, as written.
        scale: How many containers (rancher-compose `scale`, default 1).
        health_check: Rancher's health check, or None.
        upgrade_strategy: Rancher's upgrade strategy, or None.
        retain_ip: Keep the container IP across recreation.
        start_on_create: Start containers once created (default True).
        metadata: Rancher metadata served to the containers, as written.
        sidekicks: Services scheduled with each container of this one.
        sidekick_of: The primary service when this is a sidekick, else None.
        scheduling: Global flag and affinity rules.
        pull_image: `always` when `io.rancher.container.pull_image` asks for a
            pull before each start, else None.
        start_once: `io.rancher.container.start_once`: run to completion, never restart.
        load_balancer: For a Rancher load balancer service, its rules (Corral runs
            HAProxy with a configuration generated from them); None otherwise.
        secrets: Password answers to mask in repr (not data).
    """

    name: str
    image: str | None = None
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: dict[str, str | None] = field(default_factory=dict)
    ports: tuple[Port, ...] = ()
    expose: tuple[Port, ...] = ()
    volumes: tuple[Mount, ...] = ()
    volumes_from: tuple[VolumesFrom, ...] = ()
    links: tuple[Link, ...] = ()
    external_links: tuple[Link, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    network_mode: str | None = None
    networks: tuple[ServiceNetwork, ...] = ()
    restart: str | None = None
    tty: bool = False
    stdin_open: bool = False
    user: str | None = None
    working_dir: str | None = None
    hostname: str | None = None
    domainname: str | None = None
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    read_only: bool = False
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    pid: str | None = None
    ipc: str | None = None
    stop_signal: str | None = None
    depends_on: tuple[str, ...] = ()
    depends_on_conditions: dict[str, str] = field(default_factory=dict)
    container_name: str | None = None
    files: tuple[FileRef, ...] = ()
    build: Build | None = None
    healthcheck: ComposeHealthcheck | None = None
    logging: Logging | None = None
    ulimits: tuple[Ulimit, ...] = ()
    extra: dict[str, object] = field(default_factory=dict)
    scale: int = 1
    health_check: HealthCheck | None = None
    upgrade_strategy: UpgradeStrategy | None = None
    retain_ip: bool = False
    start_on_create: bool = True
    metadata: dict[str, object] = field(default_factory=dict)
    sidekicks: tuple[str, ...] = ()
    sidekick_of: str | None = None
    scheduling: Scheduling = field(default_factory=Scheduling)
    pull_image: str | None = None
    start_once: bool = False
    load_balancer: LoadBalancer | None = None
    secrets: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def to_dict(self, reveal_secrets: bool = False) -> dict:
        """Plain data for JSON; password answers masked unless `reveal_secrets`."""
        data = _plain(self)
        return data if reveal_secrets else mask_secrets(data, self.secrets)  # type: ignore[return-value]


@dataclass(frozen=True)
class Volume:
    """A stack volume (v2 `volumes:` or a named volume a v1 service uses).

    Attributes:
        name: The name services refer to.
        driver: The volume driver, or None for the engine default.
        driver_opts: Driver options.
        external: The volume exists outside the stack; `external_name` is its real name.
        per_container: Rancher's `per_container`: one volume per container.
        declared: False when only used by a service, never declared (v1 files).
    """

    name: str
    driver: str | None = None
    driver_opts: dict[str, str] = field(default_factory=dict)
    external: bool = False
    external_name: str | None = None
    per_container: bool = False
    declared: bool = True


@dataclass(frozen=True)
class IpamPool:
    """One `ipam.config` item: a subnet, and optionally its gateway and allocation range."""

    subnet: str
    gateway: str | None = None
    ip_range: str | None = None
    aux_addresses: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Ipam:
    """A network's `ipam`: its driver (None: the engine's), address pools, options."""

    driver: str | None = None
    pools: tuple[IpamPool, ...] = ()
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Network:
    """A v2 stack network: driver, options, whether it is external; `ipam`,
    `internal` and `enable_ipv6` as the engine's network create takes them."""

    name: str
    driver: str | None = None
    driver_opts: dict[str, str] = field(default_factory=dict)
    external: bool = False
    external_name: str | None = None
    ipam: Ipam | None = None
    internal: bool = False
    enable_ipv6: bool = False


@dataclass(frozen=True, repr=False)
class Stack(_Masked):
    """A rendered catalog version, ready for a deploy planner.

    Attributes:
        name: The stack name chosen at render time.
        entry: The catalog entry id.
        version: The catalog version string (`catalog: version:`).
        services: Services sorted by name.
        volumes: Volumes sorted by name.
        networks: Networks sorted by name.
        warnings: Non-fatal problems: `warning` and `unsupported` severities.
        rancher_only: Items only a Rancher server provides that
            `--without-rancher-features` would drop (agent roles, Rancher
            storage drivers…), each described; they block the deploy.
        dropped: The same items, dropped from this render on request.
        service_refs: Answers of `service` questions naming another stack's
            service, as (variable, stack, service): the plan resolves each
            against the stacks deployed on the hosts.
        secrets: Password answers to mask in repr and `to_dict()` (not data).
    """

    name: str
    entry: str
    version: str
    services: tuple[Service, ...] = ()
    volumes: tuple[Volume, ...] = ()
    networks: tuple[Network, ...] = ()
    warnings: tuple[Problem, ...] = ()
    rancher_only: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    service_refs: tuple[tuple[str, str, str], ...] = ()
    secrets: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    @property
    def deployable(self) -> bool:
        """False when something in the stack only a Rancher server provides."""
        return not any(p.severity == "unsupported" for p in self.warnings)

    def service(self, name: str) -> Service:
        """The service called `name`.

        Raises:
            KeyError: No such service.
        """
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    def to_dict(self, reveal_secrets: bool = False) -> dict:
        """Plain data for `--json`; password answers masked unless `reveal_secrets`."""
        data = _plain(self)
        return data if reveal_secrets else mask_secrets(data, self.secrets)  # type: ignore[return-value]


def _plain(value: object) -> object:
    """dataclasses.asdict without the `secrets` fields, tuples as lists."""
    if dataclasses.is_dataclass(value):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "secrets" and not f.metadata.get(PRIVATE)
        }
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)  # type: ignore[type-var]
    return value
