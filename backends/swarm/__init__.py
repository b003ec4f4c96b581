"""Docker Swarm under the hosts: who is in which swarm, and making, joining, leaving one.

What the layers above may import; everything else in this package is internal.
"""

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
