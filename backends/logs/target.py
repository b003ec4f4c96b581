"""What a log view follows (a container, a service's replicas, a stack), from where.

Written on the command line as `host/container`, `stack/service` or `stack`.
`host/container` and `stack/service` look alike: when the first part is an
inventory host name it is a container, otherwise a service. A prefix forces
either reading: `container:host/name`, `service:stack/name`, `stack:name`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corral.backends.errors import BackendError
from corral.backends.inventory.load import Inventory
from corral.backends.labels import stack_and_service

CONTAINER = "container"
SERVICE = "service"
STACK = "stack"

_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class BadTarget(BackendError):
    """A log target that names nothing Corral can follow."""

    title = "Bad log target"
    retryable = False
    exit_code = 2


@dataclass(frozen=True)
class LogTarget:
    """A container, a service or a stack.

    Attributes:
        kind: `container`, `service` or `stack`.
        host: The container's host (containers only).
        name: The container's name or ID, or the stack's name.
        service: The service's name (services only).
    """

    kind: str
    name: str
    host: str | None = None
    service: str | None = None

    def __str__(self) -> str:
        if self.kind == CONTAINER:
            return f"{self.host}/{self.name}"
        if self.kind == SERVICE:
            return f"{self.name}/{self.service}"
        return self.name

    @property
    def stack(self) -> str | None:
        """The stack a service or stack target names."""
        return None if self.kind == CONTAINER else self.name

    def matches(self, labels: dict[str, str] | None) -> bool:
        """Whether a container with these labels belongs to a service or stack target."""
        if self.kind == CONTAINER:
            return False
        stack, service = stack_and_service(labels)
        if stack != self.name:
            return False
        return self.kind == STACK or service == self.service

    @classmethod
    def container(cls, host: str, name: str) -> LogTarget:
        """The target of one container."""
        return cls(CONTAINER, name=name, host=host)


def parse_target(text: str, inventory: Inventory) -> LogTarget:
    """Read a target as the command line writes it.

    Raises:
        BadTarget: The text has the wrong shape.
    """
    kind, colon, rest = text.partition(":")
    if not colon or kind not in (CONTAINER, SERVICE, STACK):
        kind, rest = "", text
    parts = rest.split("/")
    if not all(_PART.match(part) for part in parts) or len(parts) > 2:
        raise BadTarget(
            f"bad log target {text!r}: expected host/container, stack/service or stack"
        )
    hosts = {spec.name for spec in inventory.hosts}
    if len(parts) == 1:
        if kind not in ("", STACK):
            raise BadTarget(f"bad log target {text!r}: a {kind} target needs two parts")
        return LogTarget(STACK, name=parts[0])
    first, second = parts
    if kind == STACK:
        raise BadTarget(f"bad log target {text!r}: a stack target is one name")
    if kind == CONTAINER or (not kind and first in hosts):
        if first not in hosts:
            raise BadTarget(f"bad log target {text!r}: no host {first!r} in the inventory")
        return LogTarget.container(first, second)
    return LogTarget(SERVICE, name=first, service=second)


@dataclass(frozen=True)
class LogSource:
    """Where lines come from: a container, or a host (for its notices).

    Attributes:
        host: The inventory host.
        container: The container's ID (12 characters); None for the host itself.
        name: The container's name (the host's name for a host).
        stack: The container's stack, if its labels say.
        service: The container's service, if its labels say.
    """

    host: str
    container: str | None
    name: str
    stack: str | None = None
    service: str | None = None

    @property
    def label(self) -> str:
        """`host/name`, or the host alone."""
        return f"{self.host}/{self.name}" if self.container else self.host


@dataclass(frozen=True)
class LogOptions:
    """Where a follow starts and whether it goes on.

    Attributes:
        since_ns: Only lines from this engine time (epoch nanoseconds) on.
        tail: Only the last N lines of each container's history (None: all).
        follow: Keep following; otherwise end after the history.
    """

    since_ns: int | None = None
    tail: int | None = 100
    follow: bool = True
