"""Text of a Swarm engine plan, shared by the command line and the console."""

from __future__ import annotations

from corral.backends.swarm import SwarmPlan
from corral.tui.present.deploy import image_lines


def plan_text(plan: SwarmPlan) -> str:
    """The plan as an operator reads it: what Swarm is asked, per service, with the diff,
    then how each node that may run a task gets its image."""
    stack = plan.stack
    lines = [f"Stack {stack.name} on the swarm (manager {plan.manager}): {stack.entry}"
             f" {stack.version}, generation {plan.generation}"]
    net = plan.translation.network["Name"]
    lines.append(f"  network {net}: {'exists' if plan.network else 'create'}"
                 " (overlay, attachable)")
    for host, labels in sorted(plan.node_labels.values()):
        lines.append(f"  node {host}: add labels "
                     + ", ".join(f"{k}={v}" for k, v in labels.items()))
    for step in plan.steps:
        count = "global" if step.replicas is None and step.action != "remove" else (
            f"replicas {step.replicas}" if step.replicas is not None else "")
        lines.append(f"  {step.action:<7} {step.full_name}  {count}".rstrip())
        lines += [f"      {change}" for change in step.changes]
    lines += image_lines(plan.images)
    lines += [f"warning: {w}" for w in plan.warnings]
    if plan.no_op:
        lines.append("Nothing to do: the swarm runs this stack as planned.")
    return "\n".join(lines)
