"""Stacks as Docker Swarm services: the spec translated, and applied through a manager.

What the layers above may import (through `corral.backends.swarm`); the rest is internal.
"""

from corral.backends.swarm.services.engine import (
    Step,
    SwarmPlan,
    SwarmStack,
    apply_plan,
    find_manager,
    list_stacks,
    plan_stack,
    remove_stack,
    rollback,
    scale,
    stack_names,
)
from corral.backends.swarm.services.record import Record, read_record, record_labels
from corral.backends.swarm.services.translate import (
    SwarmService,
    Translation,
    network_name,
    service_name,
    spec_hash,
    translate,
)

__all__ = [
    "apply_plan",
    "find_manager",
    "list_stacks",
    "network_name",
    "plan_stack",
    "read_record",
    "Record",
    "record_labels",
    "remove_stack",
    "rollback",
    "scale",
    "service_name",
    "spec_hash",
    "stack_names",
    "Step",
    "SwarmPlan",
    "SwarmService",
    "SwarmStack",
    "translate",
    "Translation",
]
