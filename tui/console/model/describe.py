"""`d` on a container: what on-call asks first, as plain text.

Its last state and why it ended, OOM, restarts and policy, health and the
last checks, then the container's recent engine events. Made from the
engine's inspect document and the events the console already holds.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from corral.backends.engine import EngineEvent, container_state
from corral.tui.present.formatting import duration

#: Recent events the description lists, newest first.
EVENTS_SHOWN = 20
#: Characters of a health check's output kept per check.
CHECK_OUTPUT = 200


def _when(moment: float | None, now: float) -> str:
    if moment is None:
        return "never"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(moment))
    return f"{stamp} ({duration(now - moment)} ago)"


def describe_container(host: str, document: dict, events: Iterable[EngineEvent],
                       now: float | None = None) -> str:
    """The description of one container.

    Args:
        host: The host it runs on.
        document: The engine's inspect document of the container.
        events: Engine events of the container, in any order.
        now: The time ages are counted to (default: now).
    """
    now = now if now is not None else time.time()
    detail = container_state(document)
    state = document.get("State") or {}
    config = document.get("Config") or {}
    policy = (document.get("HostConfig") or {}).get("RestartPolicy") or {}
    name = (document.get("Name") or "").lstrip("/")
    status = state.get("Status", "")
    lines = [
        f"Container:   {host}/{name}  ({(document.get('Id') or '')[:12]})",
        f"Image:       {config.get('Image', '')}",
        f"State:       {status}",
        f"Started:     {_when(detail.started_at, now)}",
        f"Finished:    {_when(detail.finished_at, now)}",
    ]
    if status not in ("running", "paused", "created") or detail.finished_at is not None:
        reason = "killed for memory (OOM)" if detail.oom_killed else _exit_reason(
            detail.exit_code)
        lines.append(f"Last exit:   code {detail.exit_code}: {reason}")
    lines.append(f"OOM killed:  {'yes' if detail.oom_killed else 'no'}")
    if detail.error:
        lines.append(f"Error:       {detail.error}")
    restart = policy.get("Name") or "no"
    if policy.get("MaximumRetryCount"):
        restart += f", at most {policy['MaximumRetryCount']}"
    lines.append(f"Restarts:    {detail.restart_count}  (policy: {restart})")
    health = state.get("Health") or {}
    if health:
        lines.append(f"Health:      {detail.health}, failing streak {detail.failing_streak}")
        for check in (health.get("Log") or [])[-3:]:
            output = " ".join(str(check.get("Output", "")).split())[:CHECK_OUTPUT]
            lines.append(f"  check exit {check.get('ExitCode')} at "
                         f"{str(check.get('End', ''))[:19]}: {output}")
    else:
        lines.append("Health:      no health check in the engine")
    lines += ["", "Recent events (newest first):"]
    ordered = sorted(events, key=lambda event: event.time, reverse=True)[:EVENTS_SHOWN]
    for event in ordered:
        extra = event.attributes.get("exitCode")
        lines.append(f"  {time.strftime('%H:%M:%S', time.localtime(event.time))}  "
                     f"{event.action}" + (f"  exit {extra}" if extra else ""))
    if not ordered:
        lines.append("  none in the console's event history")
    return "\n".join(lines) + "\n"


def _exit_reason(code: int | None) -> str:
    """What an exit code usually means."""
    if code is None:
        return "unknown"
    if code == 0:
        return "ended normally"
    if code > 128:
        signal = code - 128
        names = {9: "SIGKILL (killed, or out of memory)", 15: "SIGTERM (stopped)",
                 2: "SIGINT", 6: "SIGABRT", 11: "SIGSEGV (crashed)"}
        return f"signal {signal}, {names.get(signal, 'killed by a signal')}"
    return "the process failed"


def events_of(host: str, name: str, container_id: str,
              events: Iterable[EngineEvent]) -> list[EngineEvent]:
    """The events of one container (by name or id) among a host's events."""
    return [event for event in events if event.host == host and (
        event.actor == name or event.attributes.get("name") == name
        or (container_id and event.actor == container_id[:12]))]
