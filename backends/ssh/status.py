"""Where a host session stands, as reported to whoever listens to it."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class HostState(enum.Enum):
    """Where a host session stands."""

    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True)
class HostStatus:
    """A snapshot of a session's state, as reported to listeners.

    Attributes:
        name: The host's inventory name.
        state: Connecting, online or offline.
        error: Why the host is offline (or why the last attempt failed).
        since: `time.time()` of the change.
        tunnel: How the engine is reached (`forward`, `dial-stdio`, `local`).
        key_changed: The host presented a key other than the recorded one: a
            hard stop. Nothing waits for such a host to come back (log
            follows and shells end, naming it); only the operator can fix it.
    """

    name: str
    state: HostState
    error: str | None = None
    since: float = 0.0
    tunnel: str | None = None
    key_changed: bool = False


StatusListener = Callable[[HostStatus], None]
