"""CPU and memory of running containers, from the engine's stats API.

One-shot samples (`one-shot=true`) return at once instead of waiting a
second for the engine's own second sample; CPU use is the change between
this sample and the previous one of the same container.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from corral.backends.ssh.session import HostSession


@dataclass(frozen=True)
class Usage:
    """A container's resource use: CPU percent (of one CPU) and memory bytes."""

    cpu_percent: float | None
    memory: int | None


#: Containers whose last sample is remembered (the least recently read go first).
REMEMBERED = 4096


class StatsTracker:
    """Remembers each container's last sample to turn counters into rates.

    Callers read any subset of containers at a time (a quiet one less often),
    so samples are not forgotten per read; the oldest go past `REMEMBERED`.
    """

    def __init__(self) -> None:
        self._previous: dict[str, tuple[int, int, int]] = {}
        self._lock = threading.Lock()  # samples are read on several threads at once

    def sample(self, session: HostSession, container_id: str) -> Usage:
        """Read one sample of `container_id` and compute its usage.

        Raises:
            BackendError: The host is offline or the container is gone.
        """
        # A plain GET on a kept connection: docker-py took ~2.5 ms of CPU more
        # a read, and a new connection is a new SSH channel through the tunnel.
        raw = session.get_json(f"/containers/{container_id}/stats",
                               stream="false", **{"one-shot": "true"})
        key = f"{session.name}/{container_id}"
        return self.usage(key, raw)

    def usage(self, key: str, raw: dict) -> Usage:
        """Usage from a raw stats document, given the previous one for `key`."""
        cpu = raw.get("cpu_stats") or {}
        counters = cpu.get("cpu_usage") or {}
        total = counters.get("total_usage")
        system = cpu.get("system_cpu_usage")
        cpus = cpu.get("online_cpus") or len(counters.get("percpu_usage") or [1])
        percent = None
        if total is not None and system is not None:
            with self._lock:
                previous = self._previous.pop(key, None)
                self._previous[key] = (total, system, cpus)
                while len(self._previous) > REMEMBERED:
                    del self._previous[next(iter(self._previous))]
            if previous is not None and system > previous[1]:
                percent = (total - previous[0]) / (system - previous[1]) * cpus * 100.0
        memory = raw.get("memory_stats") or {}
        usage = memory.get("usage")
        if usage is not None:
            details = memory.get("stats") or {}
            usage -= details.get("inactive_file", details.get("cache", 0)) or 0
        return Usage(percent, max(usage, 0) if usage is not None else None)
