"""Text for the deploy commands: the plan table, progress lines, the stacks table."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

from corral.backends.deploy import (
    ApplyResult,
    FieldChange,
    ImageRow,
    Prepared,
    Progress,
    ProgressCallback,
    StackSummary,
    describe_load_balancer,
    human_bytes,
)
from corral.backends.plan import CONFIG_CHANGED, KEEP, REPLACE, Plan, Step
from corral.tui.present.safe import visible
from corral.tui.present.table import format_table

PLAN_COLUMNS = ("SERVICE", "#", "ACTION", "HOST", "CONTAINER", "REASON")


def plan_heading(prepared: Prepared) -> str:
    """`Stack NAME: ENTRY VERSION, generation N` (or `N -> M` when it changes)."""
    stack, definition, previous = prepared.stack, prepared.definition, prepared.previous
    generation = (f"generation {definition.generation}" if previous is None
                  or previous.generation == definition.generation
                  else f"generation {previous.generation} -> {definition.generation}")
    return f"Stack {stack.name}: {stack.entry} {stack.version}, {generation}"


def plan_rows(plan: Plan, changes: dict[str, list[FieldChange]] | None = None
              ) -> list[tuple[str, int, str, str, str, str]]:
    """One row per step, in `PLAN_COLUMNS` order.

    Args:
        plan: The plan.
        changes: `Prepared.changes`: a replaced container's reason then names
            the fields that change instead of "configuration changed".
    """
    return [(s.service, s.index, s.action, s.host, s.name, step_reason(s, changes))
            for s in plan.steps]


def step_reason(step: Step, changes: dict[str, list[FieldChange]] | None) -> str:
    """The step's reason; for a reconfigured container, which fields change."""
    fields = (changes or {}).get(step.service)
    if step.action != REPLACE or not fields or step.reason != CONFIG_CHANGED:
        return step.reason
    names = [change.field for change in fields]
    shown = ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")
    return f"changes {shown}"


def change_lines(prepared: Prepared) -> list[str]:
    """Per replaced container, each field before → after (passwords masked)."""
    lines = []
    for step in prepared.plan.steps:
        fields = prepared.changes.get(step.service)
        if step.action == REPLACE and fields and step.reason == CONFIG_CHANGED:
            lines.append(f"{step.name} on {step.host}:")
            lines.extend(f"  {change}" for change in fields)
    return lines


IMAGE_COLUMNS = ("HOST", "IMAGE", "HOW")


def image_rows(rows: list[ImageRow]) -> list[tuple[str, str, str]]:
    """(host, image, how) per image row (`Prepared.images`, `SwarmPlan.images`)."""
    return [(row.host, row.image, row.describe()) for row in rows]


def image_lines(rows: list[ImageRow]) -> list[str]:
    """The images part of a plan: one line when every image is present, else a table."""
    if not rows:
        return []
    if all(row.action == "present" for row in rows):
        hosts = sorted({row.host for row in rows})
        images = len({row.image for row in rows})
        return [f"Images: {images} present on {', '.join(hosts)}."]
    table = format_table(IMAGE_COLUMNS, image_rows(rows))
    return ["Images:", *(f"  {line}" for line in table.splitlines())]


def balancer_lines(prepared: Prepared) -> list[str]:
    """`Load balancers:` then, per LB service, its image and one line per port rule."""
    lines = []
    for service in prepared.stack.services:
        if service.load_balancer is not None:
            lines.append(f"  {service.name} ({service.image}):")
            lines.extend(f"    {line}" for line in describe_load_balancer(service))
    return ["Load balancers:", *lines] if lines else []


FILE_COLUMNS = ("HOST", "FILE", "SIZE", "SERVICES", "HOW")


def shown_path(path: str) -> str:
    """A local path as typed: relative to the working folder when it lies inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def file_how(row) -> str:
    """`ship (sha256 1ba42274c9b3)` or `present`: the digest names the host directory
    (a secret's is a random token: `present (token 5e0c…)`)."""
    digest = os.path.basename(os.path.dirname(row.host_path))[:12]
    named = "token" if row.local.startswith("secret ") else "sha256"
    return f"{'ship' if row.action == 'ship' else 'present'} ({named} {digest})"


def file_lines(prepared: Prepared) -> list[str]:
    """The files part of the plan: what each host gets of the files beside the compose file."""
    rows = prepared.files.rows
    if not rows:
        return []
    table = format_table(FILE_COLUMNS, [
        (row.host, shown_path(row.local), human_bytes(row.size), ",".join(row.services),
         file_how(row)) for row in rows])
    return ["Files:", *(f"  {line}" for line in table.splitlines())]


def plan_json(prepared: Prepared) -> dict:
    """The plan as `--json` prints it: each replaced step with its `changes`, and
    `images`, how each image reaches each host (`ImageRow.to_dict()`), and
    `files`, what each host gets of the files beside the compose file (`FileRow`)."""
    data = {**prepared.plan.to_dict(), "no_op": prepared.no_op,
            "generation": prepared.definition.generation, "pull": prepared.pull,
            "images": [row.to_dict() for row in prepared.images],
            "load_balancers": {s.name: {"image": s.image, "rules": describe_load_balancer(s)}
                               for s in prepared.stack.services
                               if s.load_balancer is not None},
            "files": [row.to_dict() for row in prepared.files.rows],
            "dropped": list(prepared.stack.dropped)}
    for step, item in zip(prepared.plan.steps, data["steps"], strict=True):
        fields = prepared.changes.get(step.service) if step.action == REPLACE else None
        item["changes"] = [c.to_dict() for c in fields or ()]
    return data


def passed_over(plan: Plan, verbose: bool = False) -> list[tuple[Step, str, str]]:
    """(step, host, why) of the hosts not chosen; for kept containers only when `verbose`."""
    return [(s, host, why) for s in plan.steps if s.rejected
            for host, why in s.rejected if verbose or s.action != KEEP]


def changes_line(prepared: Prepared) -> str:
    """`Changes: 3 create, 7 keep.` or `Nothing to change (…).`"""
    counts = prepared.plan.counts()
    summary = ", ".join(f"{n} {a}" for a, n in counts.items() if n)
    if prepared.no_op:
        return f"Nothing to change ({summary or 'no containers'})."
    record = " and the stack record" if prepared.missing_records else ""
    return f"Changes: {summary}{record}."


def plan_text(prepared: Prepared, verbose: bool = False) -> str:
    """The plan as a table, then the hosts passed over, warnings and a summary line."""
    plan = prepared.plan
    lines = [plan_heading(prepared),
             format_table(PLAN_COLUMNS, plan_rows(plan, prepared.changes))]
    changed = change_lines(prepared)
    if changed:
        lines += ["", "What changes:", *(f"  {line}" for line in changed)]
    skipped = passed_over(plan, verbose)
    if skipped:
        lines.append("")
        lines.append("Hosts not chosen:")
        for step, host, why in skipped:
            lines.append(f"  {step.service} #{step.index}: {host}: {why}")
    for host, why in plan.offline:
        lines.append(f"Offline, left out: {host} ({why})")
    images = image_lines(prepared.images)
    if images:
        lines += ["", *images]
    balancers = balancer_lines(prepared)
    if balancers:
        lines += ["", *balancers]
    files = file_lines(prepared)
    if files:
        lines += ["", *files]
    if prepared.stack.dropped:
        lines += ["", "Dropped (only a Rancher server provides them):",
                  *(f"  {item}" for item in prepared.stack.dropped)]
    if plan.warnings or plan.notes:
        lines.append("")
        lines.extend(f"network: {note}" for note in plan.notes)
        lines.extend(f"warning: {warning}" for warning in plan.warnings)
    lines.append("")
    lines.append(changes_line(prepared))
    return "\n".join(lines)


def result_lines(result: ApplyResult, again: str = "run the command again"
                 ) -> tuple[str | None, list[str]]:
    """What an apply ended with: the success line (None unless ok) and every problem.

    Args:
        result: The apply's result.
        again: How to converge after a host failed, in words.
    """
    problems = [f"{host}: {error} ({again} to converge)"
                for host, error in sorted(result.errors.items())]
    problems += [f"{name} is unhealthy: {why}" for name, why in sorted(result.unhealthy.items())]
    prepared = result.prepared
    done = (f"Stack {prepared.stack.name} deployed, generation {prepared.definition.generation}."
            if result.ok else None)
    return done, problems


def progress_printer(stream: TextIO | None = None) -> ProgressCallback:
    """A progress callback writing one line per finished step (thread-safe; default stderr)."""
    stream = stream or sys.stderr
    lock = threading.Lock()
    start = time.monotonic()

    def report(event: Progress) -> None:
        if event.state == "running":
            return
        detail = f": {event.detail}" if event.detail else ""
        with lock:
            print(visible(f"[{time.monotonic() - start:5.1f}s] {event.host:<8} {event.action:<8}"
                          f" {event.name} {event.state}{detail}"), file=stream, flush=True)

    return report


STACK_COLUMNS = ("STACK", "STATE", "ENTRY", "VERSION", "GEN", "SERVICES", "HOSTS")


def stacks_text(summaries: list[StackSummary]) -> str:
    """One row per stack, services as `name running/wanted`."""
    rows = []
    for summary in summaries:
        definition = summary.definition
        services = ", ".join(f"{s.name} {s.running}/{s.wanted}" for s in summary.services)
        rows.append((summary.name, summary.state,
                     definition.stack.entry if definition else None,
                     definition.stack.version if definition else None,
                     definition.generation if definition else None,
                     services or None, ",".join(summary.hosts) or None))
    return format_table(STACK_COLUMNS, rows)
