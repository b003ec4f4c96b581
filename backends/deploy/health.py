"""Rancher's `health_check`, run by Corral through each host's SSH connection.

Plain Docker has no agent to probe a container from the outside, so Corral
does it from where it is: a TCP connection to the container's address is
opened through the host's SSH connection (a `direct-tcpip` channel, which
`AllowTcpForwarding local` permits), then, for a `request_line`, an HTTP
request whose status must be 2xx or 3xx. A local engine is probed directly.

`probe()` and `until_healthy()` are coroutines for the backend loop;
`wait_all()` blocks and runs them there, for worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import time
from dataclasses import dataclass

from corral.backends.errors import BackendError
from corral.backends.ssh.loop import BackendLoop
from corral.backends.ssh.session import HostSession
from corral.catalog.spec import HealthCheck

INITIALIZING = "initializing"
HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
#: Grace for a first healthy answer when the check gives no initializing_timeout.
DEFAULT_INITIALIZING_MS = 60_000


@dataclass(frozen=True)
class Target:
    """Where to probe one container: its address as seen from its host."""

    host: str
    container: str
    address: str
    check: HealthCheck

    @property
    def key(self) -> str:
        """`host/name`: names are unique per host only (a returned host's stale copy)."""
        return f"{self.host}/{self.container}"


def container_address(inspect: dict) -> str | None:
    """The address a host reaches a container at, from `docker inspect`."""
    mode = (inspect.get("HostConfig") or {}).get("NetworkMode") or ""
    if mode == "host":
        return "127.0.0.1"
    networks = (inspect.get("NetworkSettings") or {}).get("Networks") or {}
    for name in sorted(networks):
        address = networks[name].get("IPAddress")
        if address:
            return address
    return (inspect.get("NetworkSettings") or {}).get("IPAddress") or None


def gateway_address(session: HostSession, container: str) -> str | None:
    """The address the host reaches a container on an overlay at (its `docker_gwbridge`
    endpoint: the overlay's own addresses live in the swarm's namespace, not the host's)."""
    try:
        bridge = session.call(lambda client: client.api.inspect_network("docker_gwbridge"))
    except BackendError:  # no swarm on the host (NotFound), or it went away meanwhile
        return None
    endpoint = (bridge.get("Containers") or {}).get(container) or {}
    return (endpoint.get("IPv4Address") or "").partition("/")[0] or None


def request_bytes(check: HealthCheck, address: str) -> bytes | None:
    """The HTTP request of a check's `request_line` (`GET "/health" "HTTP/1.0"`), or None."""
    if not check.request_line:
        return None
    parts = shlex.split(check.request_line)
    method = parts[0] if parts else "GET"
    path = parts[1] if len(parts) > 1 else "/"
    version = parts[2] if len(parts) > 2 else "HTTP/1.0"
    return f"{method} {path} {version}\r\nHost: {address}\r\nConnection: close\r\n\r\n".encode()


async def probe(session: HostSession, target: Target) -> str | None:
    """One probe. Returns None when healthy, else why not (one line)."""
    check = target.check
    timeout = check.response_timeout / 1000
    conn = session.connection
    try:
        if conn is not None:
            opening = conn.open_connection(target.address, check.port)
        elif session.spec.is_local:
            opening = asyncio.open_connection(target.address, check.port)
        else:
            return "host offline"
        reader, writer = await asyncio.wait_for(opening, timeout)
    except TimeoutError:
        return f"no answer from port {check.port} within {timeout:g}s"
    except Exception as exc:  # asyncssh ChannelOpenError, OSError: the port is closed
        return f"cannot connect to port {check.port}: {getattr(exc, 'reason', exc)}"
    try:
        request = request_bytes(check, target.address)
        if request is None:
            return None
        writer.write(request)
        line = await asyncio.wait_for(reader.readline(), timeout)
        if isinstance(line, str):
            line = line.encode()
        fields = line.split()
        status = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
        if 200 <= status < 400:
            return None
        return f"HTTP status {status}" if status else "no HTTP status line"
    except TimeoutError:
        return f"no HTTP answer within {timeout:g}s"
    except Exception as exc:
        return f"probe failed: {exc}"
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def until_healthy(session: HostSession, target: Target,
                        timeout_ms: int | None = None) -> str | None:
    """Probe until `healthy_threshold` successes in a row, or give up.

    Args:
        session: The container's host.
        target: What to probe.
        timeout_ms: Give up after this long (default: the check's
            `initializing_timeout`, else 60 s).

    Returns:
        None once healthy, else the last failure.
    """
    check = target.check
    limit = timeout_ms or check.initializing_timeout or DEFAULT_INITIALIZING_MS
    deadline = time.monotonic() + limit / 1000
    successes, last = 0, "not probed"
    while True:
        why = await probe(session, target)
        if why is None:
            successes += 1
            if successes >= check.healthy_threshold:
                return None
        else:
            successes, last = 0, why
        if time.monotonic() >= deadline:
            return last
        # Probe quickly while initializing: a deploy is waiting on the answer.
        await asyncio.sleep(min(check.interval / 1000, 0.5))


def wait_all(backend: BackendLoop, items: list[tuple[HostSession, Target]],
             timeout_ms: int | None = None) -> dict[str, str | None]:
    """Wait for several containers at once (blocking; the probes run on the backend loop).

    Returns:
        Per container name: None when healthy, else the last failure.
    """
    if not items:
        return {}

    async def run_all() -> list[str | None]:
        return await asyncio.gather(*(until_healthy(s, t, timeout_ms) for s, t in items))

    outcomes = backend.run(run_all())
    return {target.container: why for (_, target), why in zip(items, outcomes, strict=True)}
