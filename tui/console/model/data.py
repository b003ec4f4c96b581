"""Reading what the console's views show, on worker threads (blocking docker-py)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any

from corral.backends.engine import (
    HostDetails,
    HostFacts,
    ImageRow,
    StatsTracker,
    df_command,
    host_details,
    host_facts,
    list_images,
    list_volumes,
    parse_df,
)
from corral.backends.errors import BackendError
from corral.backends.ssh import Fleet, HostSession


@dataclass
class HostRecord:
    """A host's facts and, once read, its details."""

    facts: HostFacts
    details: HostDetails | None = None


LISTINGS = {"volumes": list_volumes, "images": list_images}


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


def read_usage(
    fleet: Fleet, tracker: StatsTracker, keys: list[str]
) -> dict[str, tuple[float | None, int | None]]:
    """CPU and memory of the containers `keys` (`host/id`); failures are skipped."""
    usage = {}
    for key in keys:
        host, _, container_id = key.partition("/")
        try:
            sample = tracker.sample(fleet.session(host), container_id)
        except BackendError:
            continue
        usage[key] = (sample.cpu_percent, sample.memory)
    tracker.forget_except(set(keys))
    return usage


def display_name(record: Any) -> str:
    """How a container, volume or image is named to the user."""
    if isinstance(record, ImageRow):
        return ", ".join(record.tags) or record.id
    return record.name
