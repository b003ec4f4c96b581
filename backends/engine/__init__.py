"""One engine's resources: facts, containers, volumes, images, stats, actions, live events.

What the layers above may import; everything else in this package is internal.
"""

from typing import TYPE_CHECKING

from corral.catalog.lazy import lazy_names

#: Each public name -> the module defining it. Names load on first use (PEP 562):
#: `corral ps` loads `facts` alone, not every resource, action and watcher.
_HOMES = {
    "act": "actions",
    "ACTIONS": "actions",
    "container_state": "facts",
    "ContainerRow": "facts",
    "ContainerState": "facts",
    "df_command": "resources",
    "EngineEvent": "watch",
    "History": "watch",
    "HISTORY_LIMIT": "watch",
    "host_details": "resources",
    "host_facts": "facts",
    "HostDetails": "resources",
    "HostFacts": "facts",
    "HostWatcher": "watch",
    "ImageRow": "resources",
    "inspect": "resources",
    "list_containers": "facts",
    "status_health": "facts",
    "STATUS_HEALTH": "facts",
    "with_health": "facts",
    "list_images": "resources",
    "list_volumes": "resources",
    "parse_df": "resources",
    "Removed": "watch",
    "Snapshot": "watch",
    "Stale": "watch",
    "StatsTracker": "stats",
    "Update": "watch",
    "Upsert": "watch",
    "VolumeRow": "resources",
}

if TYPE_CHECKING:
    from corral.backends.engine.actions import ACTIONS, act
    from corral.backends.engine.facts import (
        STATUS_HEALTH,
        ContainerRow,
        ContainerState,
        HostFacts,
        container_state,
        host_facts,
        list_containers,
        status_health,
        with_health,
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
    "status_health",
    "STATUS_HEALTH",
    "Update",
    "Upsert",
    "VolumeRow",
    "with_health",
]


__getattr__ = lazy_names(__name__, _HOMES)
