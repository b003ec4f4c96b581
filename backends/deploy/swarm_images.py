"""The Swarm engine's images: every node that may run a task holds the image first.

Swarm asks each node's engine to run a task from the image named in the
service; in a room without a registry that works only on a node already
holding it. So a Swarm plan (`corral.backends.swarm.plan_stack`) gets the
image rows of a standalone plan (`image_plan`: present · pull · push ·
unavailable, a bundle first) for every host its `task_hosts` names, and the
apply carries the pulls and pushes out before any service is created or
updated. Blocking: call from a worker thread or the command line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from corral.backends.deploy.image_plan import (
    ImageRow,
    decide_on_hosts,
    transfer,
    unavailable_problems,
)
from corral.backends.deploy.prepare import Progress, ProgressCallback
from corral.backends.errors import PreflightError
from corral.backends.images import BundleSource
from corral.backends.ssh.fleet import Fleet
from corral.backends.swarm import SwarmPlan, apply_plan, plan_stack
from corral.catalog.answers import Answers
from corral.catalog.spec import Stack


def swarm_needs(plan: SwarmPlan) -> dict[str, list[str]]:
    """Host -> the images of the services whose tasks it may run, sorted."""
    needs: dict[str, set[str]] = defaultdict(set)
    for service in plan.translation.services:
        image = service.spec["TaskTemplate"]["ContainerSpec"]["Image"]
        for host in plan.task_hosts.get(service.name, ()):
            needs[host].add(image)
    return {host: sorted(images) for host, images in sorted(needs.items())}


def plan_swarm(fleet: Fleet, stack: Stack, answers: Answers | None = None,
               pull: str = "missing", bundle: BundleSource | None = None) -> SwarmPlan:
    """What deploying `stack` asks of the swarm, with how each node gets each image.

    Args:
        fleet: The connected fleet.
        stack: The rendered stack.
        answers: Its answers (the record keeps them, passwords left out).
        pull: `never`, `missing` or `always`, as for a standalone deploy.
        bundle: The deploy's bundle: the source of the images it holds.

    Raises:
        SwarmError: No usable swarm, or the stack cannot run on Swarm.
        BackendError: A host that may run a task could not be read (named).
    """
    plan = plan_stack(fleet, stack, answers)
    online = [name for name, session in fleet.sessions.items() if session.online]
    plan.images = decide_on_hosts(fleet, swarm_needs(plan), online, pull, bundle)
    plan.image_sources = {bundle.name: bundle} if bundle is not None else {}
    return plan


def progress_lines(progress: Callable[[str], None]) -> ProgressCallback:
    """A transfer progress callback writing finished steps and byte counts as lines."""
    def report(event: Progress) -> None:
        if event.state != "running":
            detail = f": {event.detail}" if event.detail else ""
            progress(f"node {event.host}: image {event.name} {event.action}"
                     f" {event.state}{detail}")
    return report


def bring_swarm_images(fleet: Fleet, plan: SwarmPlan, report: ProgressCallback) -> None:
    """Pull or push what `plan.images` says the nodes lack; nothing else changes.

    Raises:
        PreflightError: An image is unavailable for a node, or did not reach
            it (named, with why); no service was changed (images already
            moved stay: a re-run skips them).
    """
    rows: list[ImageRow] = plan.images
    unavailable = unavailable_problems(rows)
    if unavailable:
        raise PreflightError(f"swarm stack {plan.stack.name} cannot be deployed; nothing was"
                             " changed", dict(sorted(unavailable.items())))
    errors = transfer(fleet, rows, report, plan.image_sources)  # type: ignore[arg-type]
    if errors:
        raise PreflightError(f"swarm stack {plan.stack.name}: images did not reach every node;"
                             " no service was changed",
                             {host: [error] for host, error in sorted(errors.items())})


def apply_swarm(fleet: Fleet, plan: SwarmPlan, progress: Callable[[str], None],
                verb: str = "stack.deploy", timeout: float = 120.0,
                on_images: ProgressCallback | None = None) -> dict[str, str]:
    """Bring the images to the nodes, then ask the swarm for the plan and wait.

    Args:
        fleet: The connected fleet.
        plan: From `plan_swarm`.
        progress: Told each step of the services, one line each.
        verb: The gate's verb: `stack.deploy` or `stack.upgrade`.
        timeout: Seconds to wait for the services' tasks.
        on_images: Told each transfer's steps and bytes (default: lines to `progress`).

    Returns:
        Service -> why it did not converge; empty when all did.

    Raises:
        PreflightError: An image could not reach a node; no service changed.
        ActionRefused: Read-only; nothing changed.
        BackendError: The manager refused a change.
    """
    bring_swarm_images(fleet, plan, on_images or progress_lines(progress))
    if all(step.action == "keep" for step in plan.steps) and plan.network \
            and not plan.node_labels:
        return {}  # only images moved: nothing to ask Swarm
    return apply_plan(fleet, plan, progress, verb=verb, timeout=timeout)
