"""What `corral rm` leaves behind so no other process brings the stack back.

Removing a stack deletes its records, but a host offline during the removal
still holds one, and a process that read the hosts just before the removal
still has the plan in hand. So `remove()` first writes a *tombstone* on every
online host: a volume `corral-removed.STACK` whose labels say who removed it
and when. Reconcile (the command and the console's health pass) never
recreates a stack with a tombstone on any online host, and says so; `scale`
and only a new explicit deploy (or upgrade) of the same name lifts it.

A volume because, like the stack record, it needs no image and never runs;
unlike the lease nothing has to be decided atomically here (two removals
writing one tombstone agree).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from corral.backends.deploy.lease import visible, whoami
from corral.backends.deploy.prepare import Prepared
from corral.backends.errors import BackendError, NotFound
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession

PREFIX = "corral-removed."
STACK = "io.corral.removed"
BY = "io.corral.removed.by"
AT = "io.corral.removed.at"

T = TypeVar("T")


def tombstone_name(stack: str) -> str:
    """The tombstone volume's name on each host."""
    return f"{PREFIX}{stack}"


@dataclass(frozen=True)
class Tombstone:
    """A removal found on a host."""

    stack: str
    host: str
    by: str
    at: float

    def describe(self) -> str:
        """One line: who removed the stack and when."""
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.at))
        return (f"stack {self.stack} was removed by {self.by} at {when} (tombstone on"
                f" {self.host}); deploy it again to bring it back")


def _online(fleet: Fleet) -> list[str]:
    return [name for name, session in fleet.sessions.items() if session.online]


def bury(fleet: Fleet, stack: str) -> None:
    """Write the tombstone on every online host (kept if one is there)."""
    owner, pid, _ = whoami()
    labels = {STACK: stack, BY: f"{owner} (pid {pid})", AT: f"{time.time():.0f}"}
    name = tombstone_name(stack)
    fleet.query(lambda session: session.call(
        lambda client: client.api.create_volume(name, labels=labels)), hosts=_online(fleet))


def find(fleet: Fleet, stack: str, *, after: float = 0.0) -> Tombstone | None:
    """The stack's tombstone on any online host, or None.

    Args:
        fleet: The hosts.
        stack: The stack.
        after: Ignore tombstones older than this (epoch seconds): a deploy
            made since, while the host holding the tombstone was offline,
            stands.
    """
    def one(session: HostSession) -> Tombstone | None:
        try:
            found = session.call(lambda client: client.api.inspect_volume(tombstone_name(stack)))
        except NotFound:
            return None
        labels = found.get("Labels") or {}
        try:
            at = float(labels.get(AT, "0"))
        except ValueError:
            at = 0.0
        return Tombstone(stack, session.name, visible(labels.get(BY, "?")), at)

    for result in fleet.query(one, hosts=_online(fleet)):
        if result.ok and result.value is not None and result.value.at >= after:
            return result.value
    return None


def lift(fleet: Fleet, stack: str) -> None:
    """Remove the tombstone from every online host (a new explicit deploy)."""
    def one(session: HostSession) -> None:
        with contextlib.suppress(NotFound):
            session.call(lambda client: client.api.remove_volume(tombstone_name(stack)))

    for result in fleet.query(one, hosts=_online(fleet)):
        if not result.ok and isinstance(result.error, BackendError):
            raise result.error


def explicit(run: Callable[..., T]) -> Callable[..., T]:
    """`run(fleet, prepared, ...)` (apply or upgrade) as an explicit deploy: lifts the tombstone.

    Reconcile never goes through here, so a removed stack is only recreated
    by someone asking for it by name.
    """
    def go(fleet: Fleet, prepared: Prepared, *args, **kwargs) -> T:
        lift(fleet, prepared.stack.name)
        return run(fleet, prepared, *args, **kwargs)

    return go
