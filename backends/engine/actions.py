"""What changes an engine: container lifecycle and volume removal.

Images are removed by `backends/images/remove.py` (unused ones only).

Every mutation goes through `act()`, which passes the gate
(`backends/guard.py`) under the action's id: refused when Corral or the
session is read-only, so read-only holds even for a code path the UI forgot.
Blocking docker-py calls: run them on worker threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from corral.backends import guard
from corral.backends.engine.resources import list_volumes, record_of
from corral.backends.errors import ActionRefused
from corral.backends.ssh.session import HostSession


@dataclass(frozen=True)
class Action:
    """A mutating action on one kind of object.

    Attributes:
        id: Stable identifier (`container.stop`), also the binding id.
        kind: `container` or `volume`.
        verb: What the UI shows (`stop`).
        destructive: Whether it needs a confirmation naming host and object.
    """

    id: str
    kind: str
    verb: str
    destructive: bool
    run: Callable[[HostSession, str], object]


def _remove_volume(session: HostSession, name: str) -> None:
    labels = session.call(lambda client: client.api.inspect_volume(name)).get("Labels")
    stack = record_of(labels)
    if stack:
        # Without its record a stack shows as `unknown` and cannot be upgraded,
        # rolled back or removed cleanly: it goes only with its stack.
        raise ActionRefused(
            f"volume {name} holds the record of stack {stack}; "
            f"remove the stack instead: corral rm {stack}",
            host=session.name,
        )
    users = next((v.users for v in list_volumes(session) if v.name == name), [])
    if users:
        raise ActionRefused(
            f"volume {name} is in use by {', '.join(users)}; remove those containers first",
            host=session.name,
        )
    session.call(lambda client: client.api.remove_volume(name))


ACTIONS: dict[str, Action] = {
    action.id: action
    for action in (
        Action("container.start", "container", "start", False,
               lambda s, ref: s.call(lambda c: c.api.start(ref))),
        Action("container.stop", "container", "stop", True,
               lambda s, ref: s.call(lambda c: c.api.stop(ref, timeout=10))),
        Action("container.restart", "container", "restart", True,
               lambda s, ref: s.call(lambda c: c.api.restart(ref, timeout=10))),
        Action("container.kill", "container", "kill", True,
               lambda s, ref: s.call(lambda c: c.api.kill(ref))),
        Action("container.remove", "container", "remove", True,
               lambda s, ref: s.call(lambda c: c.api.remove_container(ref, force=True))),
        Action("volume.remove", "volume", "remove", True, _remove_volume),
    )
}


def act(session: HostSession, action_id: str, ref: str) -> None:
    """Carry out one action on one object.

    Args:
        session: The host's session.
        action_id: A key of `ACTIONS`.
        ref: The container, volume or image id or name.

    Raises:
        ActionRefused: Corral or the session is read-only, or the action is unsafe
            (a volume in use, or one holding a stack's record).
        BackendError: The engine refused or the host is offline.
    """
    action = ACTIONS[action_id]
    with guard.mutating(action.id, hosts=session.name, target=ref, readonly=session.readonly):
        action.run(session, ref)
