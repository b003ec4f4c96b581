"""What the doctor gathered on one host, and running steps on it with a time limit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from corral.backends.doctor.host_script import HostFacts
from corral.backends.doctor.model import HostReport
from corral.backends.errors import BackendError
from corral.backends.inventory import HostSpec
from corral.backends.sshlib import asyncssh

T = TypeVar("T")


@dataclass
class Gathered:
    """What was gathered on one host before the fleet-wide checks."""

    spec: HostSpec
    report: HostReport
    conn: asyncssh.SSHClientConnection | None = None
    info: dict[str, Any] = field(default_factory=dict)
    facts: HostFacts | None = None
    clock_ms: float | None = None
    engine_id: str | None = None
    address: str = ""


async def timed(step: Awaitable[T], timeout: float) -> T:
    """`step`, or TimeoutError after `timeout` seconds."""
    return await asyncio.wait_for(step, timeout)


def one_line(exc: BaseException) -> str:
    """An exception as one line for a report (never a traceback)."""
    if isinstance(exc, BackendError):
        return exc.message.splitlines()[0] if exc.message else type(exc).__name__
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return (str(exc).splitlines() or [type(exc).__name__])[0] or type(exc).__name__


async def run_on(host: Gathered, cmd: str) -> str:
    """Run a command on the host (locally for the local engine); its standard output."""
    if host.conn is None:
        proc = await asyncio.create_subprocess_exec(
            "sh", "-c", cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        out, _ = await proc.communicate()
        return out.decode(errors="replace")
    result = await host.conn.run(cmd, check=False)
    return result.stdout if isinstance(result.stdout, str) else ""
