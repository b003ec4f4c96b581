"""What the console screen reads from its hosts: `ConsoleData`, and the reads it wraps.

The reads block (docker-py over SSH): call them on worker threads.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from corral.backends.engine import (
    HostDetails,
    HostFacts,
    HostWatcher,
    ImageRow,
    StatsTracker,
    Update,
    df_command,
    host_details,
    host_facts,
    inspect,
    list_images,
    list_volumes,
    parse_df,
)
from corral.backends.errors import BackendError
from corral.backends.ssh import Fleet, HostSession
from corral.tui.console.model.audit import read_audit
from corral.tui.console.model.deploy_flow import DeployFlow
from corral.tui.console.model.swarm import read_nodes, read_services

if TYPE_CHECKING:
    from corral.backends.deploy import ReconcileReport


@dataclass
class HostRecord:
    """A host's facts and, once read, its details."""

    facts: HostFacts
    details: HostDetails | None = None


LISTINGS = {"volumes": list_volumes, "images": list_images}
#: Listings read through the swarms' managers (`model/swarm.py`).
SWARM_LISTINGS = {"swarm": read_services, "nodes": read_nodes}

#: The events view starts with each host's engine events of this many seconds back.
EVENTS_SINCE_SECONDS = 3600.0

#: CPU percent and memory bytes by `host/id` (None: not known yet).
Usage = dict[str, tuple[float | None, int | None]]


class Watcher(Protocol):
    """Follows one host's containers, handing every change to a listener, until stopped."""

    def start(self) -> Watcher:
        """Start following; returns self."""
        ...

    def stop(self) -> None:
        """Stop following."""
        ...


class ConsoleData:
    """Where the console screen's data comes from: the live fleet.

    The screen asks this object, never the backends, so a test can hand the
    screen a stand-in with the same methods (`tests/support/still_data.py`,
    checked against this class by `tests/unit/tui/console/test_console_data.py`).
    Reads block: call them on worker threads. A read may answer None, "nothing
    new": the view keeps what it shows. This one always reads.

    Args:
        fleet: The hosts.
        flow: The console's stack changes (the health pass shares their lock).
    """

    def __init__(self, fleet: Fleet, flow: DeployFlow):
        self.fleet = fleet
        self.flow = flow
        self.stats = StatsTracker()

    async def keep_online(self) -> None:
        """Connect every host and keep it connected; run on the backend loop."""
        await self.fleet.keep_online()

    def watch(self, session: HostSession, listener: Callable[[Update], None]) -> Watcher:
        """A watcher (not started) of one host's containers and engine events.

        Its first events are the host's history (`EVENTS_SINCE_SECONDS` back).
        """
        return HostWatcher(session, listener, history_seconds=EVENTS_SINCE_SECONDS)

    def host_records(self) -> dict[str, HostRecord] | None:
        """Every host's facts, and details for those online, by host name."""
        return read_host_records(self.fleet)

    def listing(self, view: str) -> tuple[dict[str, Any], list[BackendError]] | None:
        """Volumes or images (`view`) of every online host, keyed `host/ref`, and the failures.

        The `audit` listing is the local audit file merged with the hosts' history;
        `swarm` is the swarms' services keyed `stack/service`, `nodes` their nodes.
        """
        if view == "audit":
            return read_audit(self.fleet)
        if view in SWARM_LISTINGS:
            return SWARM_LISTINGS[view](self.fleet)
        return read_listing(self.fleet, view)

    def usage(self, keys: list[str]) -> Usage | None:
        """CPU and memory of the containers `keys` (`host/id`); failures are skipped."""
        return read_usage(self.fleet, self.stats, keys)

    def inspect(self, host: str, kind: str, ref: str) -> dict:
        """The engine's full description of a container, volume or image.

        Raises:
            BackendError: The host is offline, or the object does not exist.
        """
        return inspect(self.fleet.session(host), kind, ref)

    def health_pass(self, changed: bool = True) -> ReconcileReport | None:
        """One health pass over the managed stacks (see `DeployFlow.health_pass`).

        Args:
            changed: Whether containers or hosts changed since the last pass
                (if not, the pass reads every host only if a stack record came
                or went).

        Returns:
            What the pass did, or None when it skipped its turn.
        """
        return self.flow.health_pass(changed)


def read_host_records(fleet: Fleet) -> dict[str, HostRecord]:
    """Every host's facts, and details for those online."""

    def read(session: HostSession) -> HostRecord:
        facts = host_facts(session)
        details = None
        if facts.state == "online":
            try:
                details = host_details(session, docker_root_disk(fleet, session))
            except BackendError:
                details = None
        return HostRecord(facts, details)

    return {result.host: result.value for result in fleet.query(read) if result.value}


def docker_root_disk(fleet: Fleet, session: HostSession) -> tuple[int, int] | None:
    """(total, free) bytes of the filesystem holding the host's Docker root."""
    root = session.call(lambda client: client.api.info()).get("DockerRootDir", "/")
    if session.spec.is_local:
        usage = shutil.disk_usage(root)
        return usage.total, usage.free
    if fleet.backend is None:
        return None
    try:
        status, output = fleet.backend.run(session.run_command(df_command(root)), timeout=15)
    except BackendError:
        return None
    return parse_df(output) if status == 0 else None


def read_listing(fleet: Fleet, view: str) -> tuple[dict[str, Any], list[BackendError]]:
    """Volumes or images of every online host, keyed `host/ref`, and the failures."""
    online = [name for name, session in fleet.sessions.items() if session.online]
    results = fleet.query(LISTINGS[view], online)
    records = {
        f"{row.host}/{row.ref}": row for result in results if result.ok for row in result.value
    }
    return records, [result.error for result in results if not result.ok]


#: Stats read at once: each is a round trip to a host's engine (which, busy,
#: takes most of a second), and the rows on screen want theirs together; more
#: at once cost more CPU here (measured: 8 readers took 1.4x the CPU of 2).
STATS_READERS = 4


def read_usage(fleet: Fleet, tracker: StatsTracker, keys: list[str]) -> Usage:
    """CPU and memory of the containers `keys` (`host/id`); failures are skipped."""

    def sample(key: str) -> tuple[str, tuple[float | None, int | None]] | None:
        host, _, container_id = key.partition("/")
        try:
            figures = tracker.sample(fleet.session(host), container_id)
        except BackendError:
            return None
        return key, (figures.cpu_percent, figures.memory)

    if not keys:
        return {}
    with ThreadPoolExecutor(min(STATS_READERS, len(keys)),
                            thread_name_prefix="corral-stats") as pool:
        return dict(result for result in pool.map(sample, keys) if result is not None)


def display_name(record: Any) -> str:
    """How a container, volume or image is named to the user."""
    if isinstance(record, ImageRow):
        return ", ".join(record.tags) or record.id
    return record.name
