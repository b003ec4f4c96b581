"""One writer per stack: a lease held on the hosts themselves.

Corral has no server, so two processes (two operators, a console's health
pass and a `corral rm` in a shell) may act on one stack at once. Every verb
that changes a stack takes its lease first; a conflicting one fails with
`StackBusy` naming the holder, and background passes skip the stack.

The lease is a *container* named `corral-lease.STACK`, created (never
started) on **every online host of the fleet, in sorted order**:

- The engine reserves a container name atomically: a second create of the
  same name gets 409, whoever asks and from wherever. Volume create is
  idempotent (the second create returns the first volume) and network
  create's `CheckDuplicate` is documented as best effort, so neither can
  arbitrate.
- Every online host rather than one chosen host: two processes exclude each
  other as soon as they share one online host, whatever each sees of the
  others (a single "anchor" host would stop excluding anyone the moment it
  is offline for one of them, or when inventories differ). Sorted order makes
  contenders meet on the same first host, so one of them wins outright.
- A container needs an image: the lease uses any image the host already has
  (air-gapped hosts pull nothing). A host with no image at all can run no
  stack container either, so the lease skips it.

Labels carry the owner (`user@machine`, pid and the machine's boot id), the
operation, and a time to live. A lease is stale when the engine's clock is
past its creation plus the TTL, or when its owner ran on this very machine
and boot and that pid is gone (a killed `corral deploy`), or is this very
process while none of its threads takes or holds that stack's lease (a
release that could not reach a host offline at the time: the console
applying again after a host came back must not find itself in the way). A stale lease is
removed by its container ID (so a racing breaker cannot remove a fresh
one) and taken over. `corral lease break STACK` removes one by hand.

Within one thread the lease is re-entrant: `reconcile()` holds it and the
`apply()` inside takes it again for free (and checks it still exists). Two
threads of one process do exclude each other: the console's health pass
skips a stack the console is changing.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from corral.backends import guard
from corral.backends.errors import (
    BackendError,
    DockerApiError,
    DockerUnavailable,
    HostOffline,
    HostUnreachable,
    NotFound,
    StackBusy,
)
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession
from corral.catalog.excerpt import excerpt

PREFIX = "corral-lease."
STACK = "io.corral.lease"
OWNER = "io.corral.lease.owner"
PID = "io.corral.lease.pid"
BOOT = "io.corral.lease.boot"
OPERATION = "io.corral.lease.operation"
TTL = "io.corral.lease.ttl"

#: Seconds a lease lives unless released. Long enough for the slowest run of
#: each operation (a deploy waits for health checks, an upgrade for batches);
#: a lease is released on completion and on failure, so the TTL only matters
#: when its process died elsewhere.
TTLS = {"reconcile": 300, "rm": 600, "confirm": 600, "rollback": 600}
DEFAULT_TTL = 1800
#: Errors that mean "this host is gone for now": the lease skips it.
_AWAY = (HostOffline, HostUnreachable, DockerUnavailable)


def lease_name(stack: str) -> str:
    """The lease container's name on each host."""
    return f"{PREFIX}{stack}"


@dataclass(frozen=True)
class Holder:
    """A lease found on a host.

    Attributes:
        stack: The stack.
        host: The inventory host it was found on.
        owner: `user@machine` of the process holding it.
        pid: That process.
        operation: What it does (`deploy`, `rm`, `reconcile`…).
        since: Epoch seconds it was taken (the engine's clock).
        ttl: Seconds it lives.
        id: The lease container's ID.
        stale: Expired, or its process is gone (seen from this machine).
    """

    stack: str
    host: str
    owner: str
    pid: int
    operation: str
    since: float
    ttl: int
    id: str
    boot: str = ""
    stale: bool = False

    def describe(self) -> str:
        """One line: who holds it, for what, where, since when."""
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.since))
        until = time.strftime("%H:%M:%S UTC", time.gmtime(self.since + self.ttl))
        return (f"stack {self.stack} is held by {self.owner} (pid {self.pid}) for"
                f" {self.operation} on {self.host} since {since} (expires {until})")

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {"stack": self.stack, "host": self.host, "owner": self.owner, "pid": self.pid,
                "operation": self.operation, "since": self.since,
                "expires": self.since + self.ttl, "stale": self.stale}


def whoami() -> tuple[str, int, str]:
    """(`user@machine`, pid, boot id) of this process."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    return f"{user}@{socket.gethostname()}", os.getpid(), boot


@dataclass
class Lease:
    """A stack's lease as this thread holds it.

    Attributes:
        stack: The stack.
        operation: What the holder does.
        held: Host -> lease container ID.
        nested: Taken again inside an outer hold of the same thread (owns nothing).
    """

    stack: str
    operation: str
    held: dict[str, str] = field(default_factory=dict)
    nested: bool = False


_local = threading.local()

#: Stack -> the threads of this process taking or holding its lease now.
_active: dict[str, set[int]] = {}
_active_lock = threading.Lock()


@contextlib.contextmanager
def _taking(stack: str) -> Iterator[None]:
    """Note that this thread takes or holds `stack`'s lease while the block runs."""
    me = threading.get_ident()
    with _active_lock:
        _active.setdefault(stack, set()).add(me)
    try:
        yield
    finally:
        with _active_lock:
            _active[stack].discard(me)
            if not _active[stack]:
                del _active[stack]


def _holds() -> dict[str, Lease]:
    if not hasattr(_local, "held"):
        _local.held = {}
    return _local.held


@contextlib.contextmanager
def hold(fleet: Fleet, stack: str, operation: str, *, ttl: int | None = None) -> Iterator[Lease]:
    """Hold the lease of `stack` on every online host while the block runs.

    Released when the block ends, also on failure. Taken again in the same
    thread, it only checks the outer lease still exists.

    Args:
        fleet: The hosts.
        stack: The stack.
        operation: What the holder does (shown to whoever is refused).
        ttl: Seconds before others may take it over (default by operation).

    Raises:
        StackBusy: Another process or thread holds it; nothing was changed.
        SameEngine: Two inventory hosts are one engine; nothing was changed.
    """
    if guard.readonly_reason() is not None or getattr(fleet, "readonly", False):
        # A read-only process writes nothing, not even a lease: the gate refuses its
        # mutation itself, with its own words.
        yield Lease(stack, operation, nested=True)
        return
    outer = _holds().get(stack)
    if outer is not None:
        verify(fleet, outer)
        yield Lease(stack, outer.operation, dict(outer.held), nested=True)
        return
    with _taking(stack):
        lease = acquire(fleet, stack, operation, ttl=ttl)
        _holds()[stack] = lease
        try:
            yield lease
        finally:
            _holds().pop(stack, None)
            release(fleet, lease)


def acquire(fleet: Fleet, stack: str, operation: str, *, ttl: int | None = None) -> Lease:
    """Take the lease on every online host, in sorted order (prefer `hold()`).

    Raises:
        StackBusy: Someone else holds it on some host; what was taken is given back.
        SameEngine: Two inventory hosts turned out to be one engine.
    """
    owner, pid, boot = whoami()
    labels = {STACK: stack, OWNER: owner, PID: str(pid), BOOT: boot, OPERATION: operation,
              TTL: str(ttl or TTLS.get(operation, DEFAULT_TTL))}
    lease = Lease(stack, operation)
    for host in sorted(name for name, session in fleet.sessions.items() if session.online):
        try:
            ref = _take(fleet.session(host), stack, labels, set(lease.held.values()))
        except _AWAY:
            continue  # offline for us: nothing is done there either
        except _OwnLease:
            # Our own lease under another host name: two inventory hosts are one engine.
            release(fleet, lease)
            fleet.read_engine_ids()
            fleet.check_engines()  # raises SameEngine, naming both
            raise StackBusy(f"stack {stack}: {host} already shows this process's lease"
                            " (one engine under two host names?)") from None
        except BaseException:
            release(fleet, lease)
            raise
        if ref:
            lease.held[host] = ref
    return lease


def release(fleet: Fleet, lease: Lease) -> None:
    """Give the lease back on every host it was taken on (failures left to expire)."""
    for host, ref in lease.held.items():
        with contextlib.suppress(BackendError, KeyError):
            fleet.session(host).call(
                lambda client, r=ref: client.api.remove_container(r, force=True))
    lease.held.clear()


def verify(fleet: Fleet, lease: Lease) -> None:
    """Check the lease still stands (nobody broke it while, say, a prompt waited).

    Raises:
        StackBusy: It was broken on a host.
    """
    for host, ref in lease.held.items():
        try:
            fleet.session(host).call(lambda client, r=ref: client.api.inspect_container(r))
        except NotFound as exc:
            raise StackBusy(f"the lease on stack {lease.stack} was broken on {host} while"
                            f" this {lease.operation} waited; nothing more was changed",
                            host=None) from exc
        except (KeyError, *_AWAY):
            continue


class _OwnLease(BackendError):
    """The lease found is the one this acquisition just took on another host."""


def _take(session: HostSession, stack: str, labels: dict[str, str],
          mine: set[str]) -> str | None:
    """Create the lease container on one host; its ID (None: the host has no image).

    Raises:
        StackBusy: A live lease of someone else is there.
        _OwnLease: The lease there is one of `mine` (container IDs taken already).
    """
    name = lease_name(stack)
    for _ in range(3):
        image = _any_image(session)
        if image is None:
            return None
        body = {"Image": image, "Cmd": ["corral-lease"], "Labels": labels,
                "NetworkDisabled": True, "HostConfig": {"NetworkMode": "none"}}
        try:
            created = session.call(
                lambda client, b=body: client.api.create_container_from_config(b, name))
            return created["Id"]
        except NotFound:
            continue  # the image went away between the listing and the create
        except DockerApiError as exc:
            if exc.status != 409:
                raise
        holder = read(session, stack)
        if holder is None:
            continue  # released in between: try again
        if holder.id in mine:
            raise _OwnLease("this process already holds it here", host=session.name)
        if not holder.stale:
            raise StackBusy(f"{holder.describe()}; `corral lease break {stack}` if that"
                            " process is gone")
        _remove(session, holder.id)
    raise StackBusy(f"stack {stack}: the lease on {session.name} keeps changing hands;"
                    " try again")


def _any_image(session: HostSession) -> str | None:
    images = session.call(lambda client: client.api.images(quiet=True))
    return sorted(images)[0] if images else None


def _remove(session: HostSession, ref: str) -> None:
    # By ID: if another breaker got there first and a new lease stands, it stays.
    with contextlib.suppress(NotFound):
        session.call(lambda client: client.api.remove_container(ref, force=True))


def read(session: HostSession, stack: str) -> Holder | None:
    """The lease of `stack` on this host, or None."""
    try:
        found = session.call(lambda client: client.api.inspect_container(lease_name(stack)))
    except NotFound:
        return None
    return _holder(session, found)


def _holder(session: HostSession, found: dict) -> Holder:
    labels = (found.get("Config") or {}).get("Labels") or {}
    since = _epoch(found.get("Created")) or 0.0
    try:
        ttl = int(labels.get(TTL, DEFAULT_TTL))
        pid = int(labels.get(PID, "0"))
    except ValueError:
        ttl, pid = 0, 0  # unreadable: treat as expired
    name = found.get("Name", "").lstrip("/").removeprefix(PREFIX)
    holder = Holder(visible(labels.get(STACK, name)), session.name,
                    visible(labels.get(OWNER, "?")), pid, visible(labels.get(OPERATION, "?")),
                    since, ttl, found.get("Id", ""), labels.get(BOOT, ""))
    return Holder(**{**holder.__dict__, "stale": _stale(session, holder)})


def visible(text: str) -> str:
    """A label as it may be printed: control characters escaped, at most 80 characters.

    Anyone with the engine can write a lease's labels; they reach the operator's terminal.
    """
    return excerpt(text, 80)


def _stale(session: HostSession, holder: Holder) -> bool:
    """Past its TTL on the engine's clock, or its process on this machine is gone, or it
    is this process's and no other thread of it takes or holds the stack's lease."""
    _, pid, boot = whoami()
    if boot and holder.boot == boot and holder.pid > 0 and not _alive(holder.pid):
        return True
    if boot and holder.boot == boot and holder.pid == pid:
        with _active_lock:
            others = _active.get(holder.stack, set()) - {threading.get_ident()}
        if not others:
            return True  # left behind by a release that could not reach the host
    try:
        info = session.call(lambda client: client.api.info())
    except BackendError:
        return False
    now = _epoch(info.get("SystemTime")) or time.time()
    return now > holder.since + holder.ttl


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def leases(fleet: Fleet) -> list[Holder]:
    """Every stack lease on the online hosts."""
    def one(session: HostSession) -> list[Holder]:
        found = session.call(lambda client: client.api.containers(
            all=True, filters={"label": STACK}))
        holders = []
        for item in found:
            with contextlib.suppress(NotFound):
                inspect = session.call(
                    lambda client, r=item["Id"]: client.api.inspect_container(r))
                holders.append(_holder(session, inspect))
        return holders

    online = [name for name, session in fleet.sessions.items() if session.online]
    result = []
    for answer in fleet.query(one, hosts=online):
        if answer.ok:
            result.extend(answer.value or [])
    return sorted(result, key=lambda h: (h.stack, h.host))


def break_lease(fleet: Fleet, stack: str) -> list[Holder]:
    """Remove the lease of `stack` on every online host, whoever holds it.

    Returns:
        The leases removed.

    Raises:
        ActionRefused: The process is read-only.
    """
    found = [holder for holder in leases(fleet) if holder.stack == stack]
    with guard.mutating("lease.break", hosts=tuple(sorted({h.host for h in found})),
                        stack=stack, target=lease_name(stack)):
        for holder in found:
            _remove(fleet.session(holder.host), holder.id)
    return found


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _epoch(text: str | None) -> float | None:
    """Epoch seconds of an engine timestamp (RFC 3339, nanoseconds), or None."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(_FRACTION.sub(r"\1", text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()
