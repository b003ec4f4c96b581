"""The audit trail: a `guard` observer that records every mutation.

Registered once when the command line or the console starts (`install()`).
Each mutation the gate reports becomes an `AuditEntry`, appended at once to
the local file, and handed to a background thread that copies it to every
host it touched (`remote.py`), through the fleets attached with `attach()`.
The observer may be called on any thread, the backend loop's included, so it
never waits for a host itself; `flush()` waits for the copies (before a
command closes its fleet).

A read-only process writes nothing to any host, not even audit volumes:
refused attempts are recorded in the local file only.
"""

from __future__ import annotations

import getpass
import logging
import os
import queue
import socket
import threading
import time
from collections import deque

from corral.backends import guard
from corral.backends.audit import local, remote
from corral.backends.audit.entry import AuditEntry, mask_args, new_id
from corral.backends.errors import BackendError, DockerUnavailable, HostOffline, HostUnreachable
from corral.backends.ssh import Fleet

log = logging.getLogger(__name__)

#: Seconds `flush()` waits by default for the host-side copies.
FLUSH_SECONDS = 15.0


def local_user() -> str:
    """The login name of whoever runs Corral here (`root (sudo: ann)` under sudo)."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no USER variable and no passwd entry (a bare container)
        name = "unknown"
    sudo = os.environ.get("SUDO_USER")
    return f"{name} (sudo: {sudo})" if sudo and sudo != name else name


class AuditTrail:
    """Records each mutation locally and on the hosts it touched.

    Args:
        keep: Entries kept per stack on each host.
    """

    def __init__(self, keep: int = remote.KEEP):
        self.keep = keep
        self._fleets: list[Fleet] = []
        self._queue: queue.Queue[tuple[AuditEntry, Fleet, str]] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        #: The last host-side copies that failed: (host, message).
        self.failures: deque[tuple[str, str]] = deque(maxlen=50)

    # --- fleets ----------------------------------------------------------------

    def attach(self, fleet: Fleet) -> None:
        """Copy entries to this fleet's hosts (and take SSH users from it)."""
        if fleet not in self._fleets:
            self._fleets.append(fleet)

    def detach(self, fleet: Fleet) -> None:
        """Stop using `fleet` (it is about to close); call `flush()` first."""
        if fleet in self._fleets:
            self._fleets.remove(fleet)

    def _fleet_of(self, host: str) -> Fleet | None:
        for fleet in list(self._fleets):
            if host in fleet.sessions:
                return fleet
        return None

    def ssh_user(self, host: str) -> str | None:
        """The SSH login used on `host`: the connection's, else the inventory's."""
        fleet = self._fleet_of(host)
        if fleet is None:
            return None
        session = fleet.sessions.get(host)
        connection = session.connection if session is not None else None
        if connection is not None:
            name = connection.get_extra_info("username")
            if name:
                return str(name)
        spec = next((spec for spec in fleet.inventory.hosts if spec.name == host), None)
        if spec is None:
            return None
        if spec.ssh is None:
            return "(local engine)"
        return spec.ssh.user

    # --- the observer ------------------------------------------------------------

    def entry(self, mutation: guard.Mutation, outcome: str, detail: str) -> AuditEntry:
        """The entry recording `mutation` and how it ended."""
        users = {host: user for host in mutation.hosts if (user := self.ssh_user(host))}
        return AuditEntry(
            id=new_id(), time=time.time(), user=local_user(), machine=socket.gethostname(),
            verb=mutation.verb, result=outcome, hosts=tuple(mutation.hosts), ssh_users=users,
            stack=mutation.stack, target=mutation.target,
            args=mask_args(dict(mutation.args)),  # type: ignore[arg-type]
            detail=str(mask_args(detail)),
        )

    def __call__(self, mutation: guard.Mutation, outcome: str, detail: str) -> None:
        entry = self.entry(mutation, outcome, detail)
        try:
            local.append(entry)
        except OSError as exc:
            log.error("audit: cannot write %s: %s", local.audit_path(), exc)
        if outcome == "refused" or guard.readonly_reason() is not None:
            return
        for host in entry.hosts:
            if host in mutation.problems:  # it just failed there: the copy would too
                continue
            fleet = self._fleet_of(host)
            if fleet is not None:
                self._submit(entry, fleet, host)

    # --- host-side copies --------------------------------------------------------

    def _submit(self, entry: AuditEntry, fleet: Fleet, host: str) -> None:
        with self._idle:
            self._pending += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="corral-audit",
                                                daemon=True)
                self._thread.start()
        self._queue.put((entry, fleet, host))

    def _run(self) -> None:
        while True:
            entry, fleet, host = self._queue.get()
            try:
                session = fleet.sessions.get(host)
                if session is None or not session.online:
                    raise HostOffline("offline: the audit entry is in the local file only",
                                      host=host)
                remote.write(session, entry, self.keep)
            except (HostOffline, HostUnreachable, DockerUnavailable) as exc:
                # Expected of a host that went away: the local file has the entry.
                self.failures.append((host, str(exc)))
                log.info("audit: %s", exc)
            except BackendError as exc:
                self.failures.append((host, str(exc)))
                log.warning("audit: %s", exc)
            except Exception:  # the audit must never take a command down
                log.exception("audit: copying an entry to %s failed", host)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def flush(self, timeout: float = FLUSH_SECONDS) -> bool:
        """Wait until every host-side copy is written (or failed).

        Returns:
            False when some were still pending after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True


_trail: AuditTrail | None = None


def install() -> AuditTrail:
    """The process's audit trail, registered with the gate (idempotent)."""
    global _trail
    if _trail is None:
        _trail = AuditTrail()
    guard.add_observer(_trail)
    return _trail


def current() -> AuditTrail | None:
    """The installed trail, if any."""
    return _trail
