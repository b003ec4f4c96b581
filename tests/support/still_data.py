"""A stand-in for `ConsoleData` that never reaches a host, for byte-stable pictures.

Nothing connects, nothing is watched, the periodic reads answer "nothing new"
and the health pass always skips its turn, so what the console shows is only
what the test feeds it through the doors the live code uses: host status
messages, container store updates and the screen's `Loaded` / `StatsRead`
messages. Inspecting answers from the documents it was given.
`tests/unit/tui/console/test_console_data.py` checks that its methods are
those of `ConsoleData`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from corral.backends.deploy import ReconcileReport
from corral.backends.engine import Update
from corral.backends.errors import BackendError
from corral.backends.ssh import HostSession
from corral.tui.console.model.data import HostRecord, Usage


class InertWatcher:
    """Stands in for `HostWatcher`: the test, not an engine, supplies containers."""

    def start(self) -> InertWatcher:
        return self

    def stop(self) -> None:
        pass


class StillData:
    """Reads that change nothing; see the module docstring.

    Args:
        documents: What inspecting an object answers, by its ref (a container's id…).
    """

    def __init__(self, documents: Mapping[str, dict] | None = None):
        self.documents = dict(documents or {})

    async def keep_online(self) -> None:
        """No SSH: host statuses come from the test."""

    def watch(self, session: HostSession, listener: Callable[[Update], None]) -> InertWatcher:
        return InertWatcher()

    def host_records(self) -> dict[str, HostRecord] | None:
        return None

    def listing(self, view: str) -> tuple[dict[str, Any], list[BackendError]] | None:
        return None

    def usage(self, keys: list[str]) -> Usage | None:
        return None

    def inspect(self, host: str, kind: str, ref: str) -> dict:
        return self.documents[ref]

    def health_pass(self, changed: bool = True) -> ReconcileReport | None:
        return None
