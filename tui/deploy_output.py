"""Text for the deploy commands: the plan table, progress lines, the stacks table."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from corral.backends.deploy_prepare import Prepared, Progress, ProgressCallback
from corral.backends.deploy_stacks import StackSummary
from corral.backends.plan_model import KEEP

from .text_table import format_table

PLAN_COLUMNS = ("SERVICE", "#", "ACTION", "HOST", "CONTAINER", "REASON")


def plan_text(prepared: Prepared, verbose: bool = False) -> str:
    """The plan as a table, then the hosts passed over, warnings and a summary line."""
    plan, stack, definition = prepared.plan, prepared.stack, prepared.definition
    previous = prepared.previous
    generation = (f"generation {definition.generation}" if previous is None
                  or previous.generation == definition.generation
                  else f"generation {previous.generation} -> {definition.generation}")
    lines = [f"Stack {stack.name}: {stack.entry} {stack.version}, {generation}"]
    rows = [(s.service, s.index, s.action, s.host, s.name, s.reason) for s in plan.steps]
    lines.append(format_table(PLAN_COLUMNS, rows))
    passed_over = [(s, host, why) for s in plan.steps if s.rejected
                   for host, why in s.rejected if verbose or s.action != KEEP]
    if passed_over:
        lines.append("")
        lines.append("Hosts not chosen:")
        for step, host, why in passed_over:
            lines.append(f"  {step.service} #{step.index}: {host}: {why}")
    for host, why in plan.offline:
        lines.append(f"Offline, left out: {host} ({why})")
    if plan.warnings:
        lines.append("")
        lines.extend(f"warning: {warning}" for warning in plan.warnings)
    counts = plan.counts()
    summary = ", ".join(f"{n} {a}" for a, n in counts.items() if n)
    lines.append("")
    if prepared.no_op:
        lines.append(f"Nothing to change ({summary or 'no containers'}).")
    else:
        record = " and the stack record" if prepared.missing_records else ""
        lines.append(f"Changes: {summary}{record}.")
    return "\n".join(lines)


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
            print(f"[{time.monotonic() - start:5.1f}s] {event.host:<8} {event.action:<8}"
                  f" {event.name} {event.state}{detail}", file=stream, flush=True)

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
