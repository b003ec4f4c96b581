"""How a log follow hears from its hosts: status changes and container events.

Both hooks run on other threads than the follow's hub (session listeners on
the backend loop, event subscribers on the host's shared event follower),
so they only queue a note for the hub and never wait. Sessions keep their
listeners and subscribers, so both hold the follow weakly.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from corral.backends.engine.events import Notice, Subscriber, event_action, host_events
from corral.backends.ssh.gate import HostGate
from corral.backends.ssh.status import HostStatus

if TYPE_CHECKING:
    from corral.backends.logs.follow import LogFollower

#: Container events a follow reacts to (new replicas, restarts, removals).
WATCHED_EVENTS = ("start", "die", "destroy")


def status_listener(follower: LogFollower, gate: HostGate) -> Callable[[HostStatus], None]:
    """A session listener that wakes `gate`'s waiters and tells the follow."""
    ref = weakref.ref(follower)

    def on_status(status: HostStatus) -> None:
        owner = ref()
        if owner is None:
            return
        gate.on_status(status)
        owner.note(("status", status))

    return on_status


def event_subscriber(follower: LogFollower, host: str) -> Subscriber:
    """A subscriber to `host`'s events that queues those a follow reacts to.

    It leaves once the follow is stopped or gone, so a forgotten follow never
    keeps the host's event stream open.
    """
    ref = weakref.ref(follower)
    events = host_events(follower.fleet.session(host))

    def on_notice(notice: Notice) -> None:
        owner = ref()
        if owner is None or owner.stopped:
            events.unsubscribe(on_notice)
        elif isinstance(notice, dict) and event_action(notice) in WATCHED_EVENTS:
            owner.note(("event", host, notice))

    return on_notice
