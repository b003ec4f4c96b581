"""A debug copy: a shell in the image and setting of a container that cannot run one.

A container in a crash loop (restarting, or exited) takes no `docker exec`.
To look around in it anyway, Corral starts a copy on the same host: same
image, environment, user, working directory, mounts and network, but with
`sh` as its entrypoint (kept alive by a sleep loop, so a shell can be
exec'd into it), no published ports (they would collide with the
original's), no restart policy, and none of the original's stack labels (the
health and reconcile passes must not take it for a replica). Its own labels
say what it is and which container it copies; whoever started it removes it.

Everything here blocks: call it from worker threads.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from typing import Any

from corral.backends import guard
from corral.backends.errors import NotFound
from corral.backends.ssh.session import HostSession

#: Label on every debug copy (value: the id of the container it copies).
DEBUG_OF = "io.corral.debug-of"
#: Label on every debug copy: the name of the container it copies.
DEBUG_OF_NAME = "io.corral.debug-of-name"
#: What the copy runs: `sh`, kept alive until the copy is removed.
DEBUG_ENTRYPOINT = ["sh"]
DEBUG_COMMAND = ["-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"]

#: Host settings never copied: ports would collide with the original's, a
#: restart policy or auto-remove would fight the pane that owns the copy.
_HOST_CONFIG_DROPPED = ("PortBindings", "PublishAllPorts", "RestartPolicy", "AutoRemove",
                        "Links", "ContainerIDFile")


@dataclass(frozen=True)
class NotRunning:
    """Why a container takes no exec.

    Attributes:
        name: The container's name.
        status: Docker's status (`restarting`, `exited`, `created`, `dead`…).
        exit_code: The last exit code.
        restarts: How many times the engine restarted it.
        error: The engine's error starting it, if any.
    """

    name: str
    status: str
    exit_code: int
    restarts: int
    error: str

    @property
    def crash_looping(self) -> bool:
        """Restarting, or stopped: a debug copy is the way in."""
        return self.status in ("restarting", "exited", "dead", "created")

    def describe(self) -> str:
        """One sentence for the operator."""
        text = f"{self.name} is {self.status}"
        details = [f"last exit code {self.exit_code}"]
        if self.restarts:
            details.append(f"restarted {self.restarts} times")
        text += f" ({', '.join(details)})"
        if self.error:
            text += f": {self.error}"
        return text + "."


def not_running(session: HostSession, container: str) -> NotRunning | None:
    """Why `container` takes no exec, or None if it runs (or cannot be read).

    Raises:
        BackendError: The host or the engine failed.
    """
    attrs = session.call(lambda client: client.api.inspect_container(container))
    state = attrs.get("State") or {}
    status = state.get("Status") or ""
    if state.get("Running") and not state.get("Restarting"):
        return None
    if state.get("Restarting"):
        status = "restarting"
    return NotRunning(
        name=(attrs.get("Name") or container).lstrip("/"),
        status=status or "not running",
        exit_code=int(state.get("ExitCode") or 0),
        restarts=int(attrs.get("RestartCount") or 0),
        error=state.get("Error") or "",
    )


def copy_settings(attrs: dict[str, Any], name: str) -> dict[str, Any]:
    """The `create_container` arguments of a debug copy of the inspected container.

    Args:
        attrs: The original's `docker inspect` document.
        name: The copy's name.
    """
    config = attrs.get("Config") or {}
    host_config = {
        key: value for key, value in (attrs.get("HostConfig") or {}).items()
        if key not in _HOST_CONFIG_DROPPED
    }
    host_config["RestartPolicy"] = {"Name": "no"}
    original = (attrs.get("Name") or "").lstrip("/")
    return {
        "image": attrs.get("Image") or config.get("Image"),
        "name": name,
        "entrypoint": DEBUG_ENTRYPOINT,
        "command": DEBUG_COMMAND,
        "environment": config.get("Env") or [],
        "user": config.get("User") or "",
        "working_dir": config.get("WorkingDir") or None,
        "hostname": None,
        "labels": {DEBUG_OF: attrs.get("Id", ""), DEBUG_OF_NAME: original},
        # The image's health check would judge a container that runs a sleep.
        "healthcheck": {"Test": ["NONE"]},
        "host_config": host_config,
        "detach": True,
        "tty": False,
        "stdin_open": False,
    }


def start_debug_copy(session: HostSession, container: str) -> str:
    """Create and start a debug copy of `container` on its host.

    Returns:
        The copy's name (`ORIGINAL-debug-XXXX`).

    Raises:
        ActionRefused: Corral or the session is read-only (a copy is a new
            container); nothing was created.
        BackendError: The host or the engine failed (nothing is left behind).
    """
    with guard.mutating("debug.copy", hosts=session.name, target=container,
                        readonly=session.readonly):
        return _start_debug_copy(session, container)


def _start_debug_copy(session: HostSession, container: str) -> str:
    attrs = session.call(lambda client: client.api.inspect_container(container))
    original = (attrs.get("Name") or container).lstrip("/")
    name = f"{original}-debug-{secrets.token_hex(2)}"
    settings = copy_settings(attrs, name)
    created = session.call(lambda client: client.api.create_container(**settings))
    try:
        session.call(lambda client: client.api.start(created["Id"]))
    except Exception:
        remove_debug_copy(session, created["Id"])
        raise
    return name


def remove_debug_copy(session: HostSession, copy: str) -> None:
    """Remove a debug copy (force: it is running); no error if it is gone.

    Not a gated mutation: it only undoes `start_debug_copy`, which the gate
    let through, and a cleanup refused would leave the copy running.

    Raises:
        BackendError: The host or the engine failed.
    """
    # v: the copy's own anonymous volumes go too (named volumes stay).
    with contextlib.suppress(NotFound):
        session.call(lambda client: client.api.remove_container(copy, force=True, v=True))
