"""Docker Swarm under the hosts: who is in which swarm, and making, joining, leaving one.

What the layers above may import; everything else in this package is internal.
"""

from typing import TYPE_CHECKING

from corral.catalog.lazy import lazy_names

#: Each public name -> the module defining it (`module:name` where the package renames
#: it). Names load on first use (PEP 562): the console reads the swarm's nodes and
#: services from its first listing on, but Swarm stacks (`services/`, which load the
#: deploy steps they share) only when one is planned or changed.
_HOMES = {
    "advertise_address": "verbs",
    "apply_plan": "services",
    "AVAILABILITIES": "listing",
    "Cluster": "cluster",
    "Init": "verbs",
    "Join": "verbs",
    "Leave": "verbs",
    "list_stacks": "services",
    "Member": "state",
    "member_of": "state",
    "Node": "cluster",
    "plan_init": "verbs",
    "plan_join": "verbs",
    "plan_leave": "verbs",
    "plan_stack": "services",
    "Quorum": "cluster",
    "read_cluster": "cluster",
    "read_member": "cluster",
    "read_services": "listing",
    "read_swarm_services": "listing",
    "remove_stack": "services",
    "run_init": "verbs",
    "run_join": "verbs",
    "run_leave": "verbs",
    "Service": "listing",
    "set_availability": "listing",
    "stack_names": "services",
    "swarm_key": "state",
    "swarm_network_name": "services:network_name",
    "swarm_rollback": "services:rollback",
    "swarm_scale": "services:scale",
    "SwarmPlan": "services",
    "SwarmStack": "services",
    "Task": "listing",
    "tasks_on": "listing",
    "tie_offline_hosts": "listing",
    "translate": "services",
}

if TYPE_CHECKING:
    from corral.backends.swarm.cluster import Cluster, Node, Quorum, read_cluster, read_member
    from corral.backends.swarm.listing import (
        AVAILABILITIES,
        Service,
        Task,
        read_services,
        read_swarm_services,
        set_availability,
        tasks_on,
        tie_offline_hosts,
    )
    from corral.backends.swarm.services import (
        SwarmPlan,
        SwarmStack,
        apply_plan,
        list_stacks,
        plan_stack,
        remove_stack,
        stack_names,
        translate,
    )
    from corral.backends.swarm.services import network_name as swarm_network_name
    from corral.backends.swarm.services import rollback as swarm_rollback
    from corral.backends.swarm.services import scale as swarm_scale
    from corral.backends.swarm.state import Member, member_of, swarm_key
    from corral.backends.swarm.verbs import (
        Init,
        Join,
        Leave,
        advertise_address,
        plan_init,
        plan_join,
        plan_leave,
        run_init,
        run_join,
        run_leave,
    )

__all__ = [
    # Stacks as Swarm services (`services/`).
    "apply_plan",
    "list_stacks",
    "plan_stack",
    "remove_stack",
    "stack_names",
    "swarm_network_name",
    "swarm_rollback",
    "swarm_scale",
    "SwarmPlan",
    "SwarmStack",
    "translate",
    "AVAILABILITIES",
    "advertise_address",
    "Cluster",
    "Init",
    "Join",
    "Leave",
    "Member",
    "member_of",
    "Node",
    "plan_init",
    "plan_join",
    "plan_leave",
    "Quorum",
    "read_cluster",
    "read_member",
    "run_init",
    "run_join",
    "run_leave",
    "Service",
    "set_availability",
    "read_services",
    "read_swarm_services",
    "Task",
    "tasks_on",
    "tie_offline_hosts",
    "swarm_key",
]


__getattr__ = lazy_names(__name__, _HOMES)
