"""What `corral hosts` and `corral ps` report, read from each engine.

All functions here block on docker-py: run them on worker threads (see
`Fleet.query`).
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime

from corral.backends.engine_identity import engine_id
from corral.backends.errors import BackendError
from corral.backends.labels import stack_and_service
from corral.backends.ssh.session import HostSession

LATENCY_SAMPLES = 5
#: The health part of the engine's status text (`Up 3 minutes (healthy)`); group 1 is
#: the engine's word for it (`health: starting` while the first checks run).
STATUS_HEALTH = re.compile(r"\s*\((healthy|unhealthy|health: starting)\)")
_STARTING = "health: starting"
CLOCK_SAMPLES = 3


@dataclass
class HostFacts:
    """One row of `corral hosts`.

    Attributes:
        name: Inventory name.
        address: SSH address (or `localhost`).
        state: `online` or `offline` (or `connecting`).
        error: Why it is offline.
        docker_version: Engine version, e.g. `20.10.24+dfsg1`.
        api_version: Negotiated API version.
        containers_running: Running containers.
        containers_total: All containers.
        latency_ms: Median round trip of an API ping through the tunnel.
        clock_offset_ms: Engine clock minus this machine's, corrected for
            half the round trip (merged logs depend on it).
        labels: Inventory labels.
        tunnel: `forward`, `dial-stdio` or `local`.
        engine_id: The engine's identity (`docker info` ID): two hosts with
            one ID are one engine reached twice.
    """

    name: str
    address: str
    state: str
    error: str | None = None
    docker_version: str | None = None
    api_version: str | None = None
    containers_running: int | None = None
    containers_total: int | None = None
    latency_ms: float | None = None
    clock_offset_ms: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    tunnel: str | None = None
    engine_id: str | None = None

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def host_facts(session: HostSession) -> HostFacts:
    """Read a host's facts; offline hosts get a row with their error.

    Never raises BackendError: a failure becomes the row's error.
    """
    status = session.status
    facts = HostFacts(
        name=session.name,
        address=session.spec.address,
        state=status.state.value,
        error=status.error,
        labels=dict(session.spec.labels),
        tunnel=status.tunnel,
    )
    if not session.online:
        return facts
    try:
        latencies = []
        for _ in range(LATENCY_SAMPLES):
            start = time.perf_counter()
            session.call(lambda client: client.api.ping())
            latencies.append(time.perf_counter() - start)
        # NTP's trick: of a few samples, the quickest round trip brackets
        # the engine's clock reading most tightly.
        samples = []
        for _ in range(CLOCK_SAMPLES):
            before = time.time()
            info = session.call(lambda client: client.api.info())
            samples.append((time.time() - before, before, info))
        _, before, info = min(samples, key=lambda sample: sample[0])
        rtt = min(sample[0] for sample in samples)
    except BackendError as exc:
        facts.state, facts.error = "offline", exc.message
        return facts
    facts.error = None
    facts.engine_id = session.engine_id = engine_id(info)
    facts.docker_version = session.version.get("Version") or info.get("ServerVersion")
    facts.api_version = session.version.get("ApiVersion")
    facts.containers_running = info.get("ContainersRunning")
    facts.containers_total = info.get("Containers")
    facts.latency_ms = round(statistics.median(latencies) * 1000, 2)
    remote = parse_engine_time(info.get("SystemTime", ""))
    if remote is not None:
        facts.clock_offset_ms = round((remote - (before + rtt / 2)) * 1000, 1)
    return facts


def parse_engine_time(text: str) -> float | None:
    """Parse the engine's RFC 3339 time (nanoseconds allowed) to epoch seconds."""
    if not text:
        return None
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class ContainerState:
    """What only inspecting a container tells: its restarts and how it last ended.

    Attributes:
        restart_count: Restarts by the engine's restart policy.
        exit_code: The last exit code (0 while it has never ended).
        started_at: When it last started (epoch seconds), if ever.
        finished_at: When it last ended (epoch seconds), if ever.
        oom_killed: Whether the kernel killed it for memory when it last ended.
        error: The engine's error when it last failed to start or run.
        health: The engine's health check status, if it has one.
        failing_streak: Health checks failed in a row.
    """

    restart_count: int = 0
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    oom_killed: bool = False
    error: str = ""
    health: str = ""
    failing_streak: int = 0


def container_state(document: dict) -> ContainerState:
    """The state details of a container from its inspect document."""
    state = document.get("State") or {}
    health = state.get("Health") or {}
    return ContainerState(
        restart_count=int(document.get("RestartCount") or 0),
        exit_code=state.get("ExitCode"),
        started_at=_moment(state.get("StartedAt", "")),
        finished_at=_moment(state.get("FinishedAt", "")),
        oom_killed=bool(state.get("OOMKilled")),
        error=state.get("Error") or "",
        health=health.get("Status") or "",
        failing_streak=int(health.get("FailingStreak") or 0),
    )


def _moment(text: str) -> float | None:
    """An engine time, or None for the engine's "never" (year 1)."""
    moment = parse_engine_time(text)
    return moment if moment is not None and moment > 0 else None


def read_container_state(session: HostSession, ref: str) -> ContainerState:
    """Inspect one container for its state details.

    Raises:
        BackendError: The host is offline, or the container is gone.
    """
    return container_state(session.call(lambda client: client.api.inspect_container(ref)))


@dataclass
class ContainerRow:
    """One row of `corral ps`."""

    host: str
    id: str
    name: str
    image: str
    state: str
    status: str
    ports: list[str]
    stack: str | None
    service: str | None
    created: int
    labels: dict[str, str]
    #: When this row was read (`time.time()`): `status` ages from here.
    listed_at: float = field(default=0.0, compare=False)
    #: Restarts, exit and times from inspecting it, once read (the listing lacks them).
    detail: ContainerState | None = None

    @property
    def ref(self) -> str:
        """What the engine knows it by."""
        return self.id

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        data = asdict(self)
        del data["listed_at"], data["detail"]
        return data


def list_containers(session: HostSession, all: bool = False) -> list[ContainerRow]:
    """The host's containers, sorted by name (one API call, no inspects).

    Raises:
        BackendError: The host is offline or the engine failed.
    """
    if session.has_client:
        raw = session.call(lambda client: client.api.containers(all=all))
    else:  # without docker-py: `corral ps` then never imports it
        raw = session.get_json("/containers/json", all=int(all), limit=-1, size=0, trunc_cmd=0)
    rows = [container_row(session.name, item) for item in raw]
    return sorted(rows, key=lambda row: row.name)


def status_health(status: str) -> str:
    """`healthy`, `unhealthy`, `starting` or empty: the health the engine's status text says."""
    match = STATUS_HEALTH.search(status)
    if match is None:
        return ""
    return "starting" if match.group(1) == _STARTING else match.group(1)


def with_health(status: str, verdict: str) -> str | None:
    """`status` with its health part saying `verdict` (a `health_status` event's word),
    as the engine's listing would, or None where the listing would say otherwise
    (a container not up, a verdict the status text has no words for)."""
    verdict = verdict.strip()
    if verdict not in ("healthy", "unhealthy", "starting") or not status.startswith("Up "):
        return None
    text = _STARTING if verdict == "starting" else verdict
    return f"{STATUS_HEALTH.sub('', status)} ({text})"


def container_row(host: str, item: dict) -> ContainerRow:
    """Turn one entry of the engine's container list into a row."""
    labels = item.get("Labels") or {}
    stack, service = stack_and_service(labels)
    names = item.get("Names") or [""]
    return ContainerRow(
        host=host,
        id=item.get("Id", "")[:12],
        name=names[0].lstrip("/"),
        image=item.get("Image", ""),
        state=item.get("State", ""),
        status=item.get("Status", ""),
        ports=format_ports(item.get("Ports") or []),
        stack=stack,
        service=service,
        created=item.get("Created", 0),
        labels=labels,
        listed_at=time.time(),
    )


def format_ports(ports: list[dict]) -> list[str]:
    """`0.0.0.0:8080->80/tcp` style strings, published ones first, no duplicates."""
    published, exposed = [], []
    for port in ports:
        inner = f"{port.get('PrivatePort')}/{port.get('Type', 'tcp')}"
        if port.get("PublicPort"):
            published.append(f"{port.get('IP') or '0.0.0.0'}:{port['PublicPort']}->{inner}")
        else:
            exposed.append(inner)
    return list(dict.fromkeys(sorted(published) + sorted(exposed)))
