"""Which containers' CPU and memory to read on a stats tick.

The containers view shows figures for the running containers on screen only,
and one read is one API call through the host's tunnel. An idle container's
figures barely move, yet each new figure repaints the whole table: so a
container whose last two reads showed it quiet (under `QUIET_CPU` percent,
memory within `QUIET_MEMORY` of the read before) is read again only after
`quiet_seconds`; a busy one, or one not read yet, at every tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

#: CPU percent (of one CPU) under which a container counts as quiet.
QUIET_CPU = 1.0
#: Relative memory change under which a container counts as quiet.
QUIET_MEMORY = 0.05
#: Seconds between reads of a quiet container's figures. Each read costs the
#: console ~3.5 ms of CPU (the tunnel's SSH work, HTTP, JSON): at 30 s, the reads
#: of a screenful of quiet containers were ~0.45% of a core, nearly half of an
#: idle console's (bench/idle.py: 1.25–1.37% at 30 s, 0.87–0.92% at 60 s).
QUIET_SECONDS = 60.0


class StatsSchedule:
    """Remembers when each container's figures are due again.

    Args:
        quiet_seconds: How long a quiet container's figures are kept before reading again.
        clock: Seconds, monotonic (tests pass their own).
    """

    def __init__(self, quiet_seconds: float = QUIET_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.quiet_seconds = quiet_seconds
        self.clock = clock
        #: key -> (when its figures are next due, its last memory figure).
        self._next: dict[str, tuple[float, int | None]] = {}

    def due(self, keys: Iterable[str]) -> list[str]:
        """The keys among `keys` (the running containers on screen) to read now."""
        now = self.clock()
        return [key for key in keys if self._next.get(key, (0.0, None))[0] <= now]

    def read(self, usage: Mapping[str, tuple[float | None, int | None]]) -> None:
        """Note fresh figures (key -> (CPU percent or None, memory bytes or None))."""
        now = self.clock()
        for key, (cpu, memory) in usage.items():
            _, before = self._next.get(key, (0.0, None))
            quiet = (cpu is not None and cpu < QUIET_CPU and memory is not None
                     and before is not None
                     and abs(memory - before) <= QUIET_MEMORY * max(before, 1))
            self._next[key] = (now + self.quiet_seconds if quiet else now, memory)

    def forget_except(self, keys: set[str]) -> None:
        """Drop what is known of containers that are gone."""
        for key in set(self._next) - keys:
            del self._next[key]
