"""One engine's resources: facts, containers, volumes, images, stats, actions, live events.

What the layers above may import; everything else in this package is internal.
"""

from corral.backends.engine.actions import ACTIONS, act
from corral.backends.engine.facts import (
    ContainerRow,
    ContainerState,
    HostFacts,
    container_state,
    host_facts,
    list_containers,
)
from corral.backends.engine.resources import (
    HostDetails,
    ImageRow,
    VolumeRow,
    df_command,
    host_details,
    inspect,
    list_images,
    list_volumes,
    parse_df,
)
from corral.backends.engine.stats import StatsTracker
from corral.backends.engine.watch import (
    HISTORY_LIMIT,
    EngineEvent,
    History,
    HostWatcher,
    Removed,
    Snapshot,
    Stale,
    Update,
    Upsert,
)

__all__ = [
    "act",
    "ACTIONS",
    "ContainerRow",
    "ContainerState",
    "container_state",
    "df_command",
    "EngineEvent",
    "host_details",
    "host_facts",
    "HostDetails",
    "HISTORY_LIMIT",
    "History",
    "HostFacts",
    "HostWatcher",
    "ImageRow",
    "inspect",
    "list_containers",
    "list_images",
    "list_volumes",
    "parse_df",
    "Removed",
    "Snapshot",
    "Stale",
    "StatsTracker",
    "Update",
    "Upsert",
    "VolumeRow",
]
