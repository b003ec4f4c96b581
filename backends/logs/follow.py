"""Following logs: one container, or every replica of a service or stack, merged.

`LogFollower` is the whole interface the UI and the command line use::

    follower = LogFollower(fleet, target, LogOptions(tail=100), on_ready=wake_ui)
    follower.start()                 # returns at once; threads do the rest
    lines = follower.drain(20_000)   # from the UI loop, when woken
    follower.stop()

Threads: one `ContainerReader` per container and one hub that merges lines
by timestamp and hands them out in batches (by time and by count). New
replicas, restarts and removals come from each host's shared event follower
(`host_events(session)`), whose notices only queue a note for the hub. Every
queue between readers, hub and consumer is bounded: a consumer that falls
behind blocks the hub, the hub blocks the readers, and TCP slows the engine.
Nothing runs on the backend loop except the session listeners, which only
queue a note too.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from corral.backends.engine.events import Subscriber, host_events
from corral.backends.engine.facts import list_containers
from corral.backends.errors import BackendError, HostKeyChanged, NotFound
from corral.backends.logs.demux import NOTICE, STDERR, STDOUT, LogLine
from corral.backends.logs.hosts import event_subscriber, status_listener
from corral.backends.logs.merge import Merger
from corral.backends.logs.reader import ContainerReader
from corral.backends.logs.target import CONTAINER, LogOptions, LogSource, LogTarget
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.gate import HostGate
from corral.backends.ssh.session import HostSession, HostState, HostStatus

__all__ = [
    "LogFollower", "LogLine", "LogOptions", "LogSource", "LogTarget", "NOTICE", "STDERR", "STDOUT",
]


class LogFollower:
    """Follows a target's logs across the fleet and hands out merged batches.

    Args:
        fleet: The sessions (kept online by someone else for a long follow).
        target: What to follow.
        options: Since, tail, follow.
        on_ready: Called (on a follower thread) when a batch is waiting; it
            must only schedule a `drain()` elsewhere, never drain itself.
        batch_lines: Most lines in one batch.
        batch_time: Seconds a batch collects lines before going out.
        window: Seconds a line may wait to be merged in timestamp order.
        queue_chunks: Reads queued from readers before they block.
        outbox_batches: Batches waiting for the consumer before the hub blocks.
    """

    def __init__(
        self,
        fleet: Fleet,
        target: LogTarget,
        options: LogOptions | None = None,
        *,
        on_ready: Callable[[], None] | None = None,
        batch_lines: int = 5000,
        batch_time: float = 0.05,
        window: float = 0.2,
        queue_chunks: int = 64,
        outbox_batches: int = 4,
    ) -> None:
        self.fleet = fleet
        self.target = target
        self.options = options or LogOptions()
        self.on_ready = on_ready
        self.batch_lines = batch_lines
        self.batch_time = batch_time
        #: Index = `LogLine.source`; only ever appended to.
        self.sources: list[LogSource] = []
        #: Hosts that could not be read from, with why (for exit codes).
        self.failures: dict[str, str] = {}
        #: Why the follow ended early: a host presented a changed key, which
        #: is a hard stop (nothing waits for that host to come back).
        self.fatal: BackendError | None = None
        #: Set once every host online at start has been looked at.
        self.resolved = threading.Event()
        # Without follow everything is history: wait longer for exact order.
        self._merger = Merger(window if self.options.follow else max(window, 2.0))
        self._stop = threading.Event()
        self._inbound: queue.Queue[Any] = queue.Queue(maxsize=queue_chunks)
        self._control: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        self._outbox: queue.Queue[list[LogLine] | None] = queue.Queue(maxsize=outbox_batches)
        self._readers: dict[tuple[str, str], ContainerReader] = {}
        #: Hosts whose event follower this follow subscribes to, with the subscriber.
        self._subscriptions: dict[str, Subscriber] = {}
        self._gates: dict[str, HostGate] = {}
        self._host_sources: dict[str, int] = {}
        self._pending_hosts: set[str] = set()
        self._offline: set[str] = set()
        self._notices: list[LogLine] = []
        self._ended = False
        self._listeners: list[tuple[HostSession, Callable[[HostStatus], None]]] = []
        self._hub = threading.Thread(target=self._run, name="corral-logs-hub", daemon=True)

    # The consumer's side -------------------------------------------------

    def start(self) -> None:
        """Start following; cheap, never blocks (hosts are looked at by the hub)."""
        hosts = [self.target.host] if self.target.kind == CONTAINER else list(self.fleet.sessions)
        for name in hosts:
            session = self.fleet.session(name)
            gate = self._gates[name] = HostGate(session)
            listener = status_listener(self, gate)
            self._listeners.append((session, listener))
            session.add_listener(listener)
            self._pending_hosts.add(name)
        self._hub.start()

    @property
    def finished(self) -> bool:
        """Everything was handed out and nothing more will come."""
        return self._ended

    def drain(self, max_lines: int = 50_000) -> list[LogLine]:
        """Take the waiting batches (up to about `max_lines`) without blocking."""
        out: list[LogLine] = []
        while len(out) < max_lines:
            try:
                batch = self._outbox.get_nowait()
            except queue.Empty:
                break
            if batch is None:
                self._ended = True
                break
            out.extend(batch)
        return out

    def get(self, timeout: float | None = None) -> list[LogLine] | None:
        """Wait for the next batch; None once the follow has ended.

        Raises:
            TimeoutError: Nothing came within `timeout`.
        """
        if self._ended:
            return None
        try:
            batch = self._outbox.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("no log lines yet") from None
        if batch is None:
            self._ended = True
        return batch

    def waiting_for(self) -> list[str]:
        """Hosts this follow reads from, or has still to look at, that are not online.

        Any thread: it reads copies of what the hub thread changes.
        """
        if self.target.kind == CONTAINER:
            needed = {self.target.host}
        else:
            sources = list(self.sources)
            needed = {source.host for source in sources if source.container}
            needed |= self._pending_hosts.copy()
        sessions = self.fleet.sessions
        return sorted(name for name in needed if name in sessions and not sessions[name].online)

    @property
    def stopped(self) -> bool:
        """Whether `stop()` was called."""
        return self._stop.is_set()

    def note(self, item: tuple) -> bool:
        """Queue a host's news for the hub (any thread, never blocks).

        Args:
            item: `("status", HostStatus)` or `("event", host, event)`.

        Returns:
            False once the follow is stopped (the news is dropped).
        """
        if self._stop.is_set():
            return False
        self._control.put(item)
        return True

    def stop(self) -> None:
        """Stop every thread (they end within about a second; no waiting here)."""
        self._stop.set()
        for session, listener in self._listeners:
            session.remove_listener(listener)
        for reader in list(self._readers.values()):
            reader.abort()
        for host, subscriber in list(self._subscriptions.items()):
            host_events(self.fleet.session(host)).unsubscribe(subscriber)
        for gate in self._gates.values():
            gate.wake()

    def join(self, timeout: float = 5.0) -> None:
        """Wait for the threads after `stop()` (tests and the command line)."""
        deadline = time.monotonic() + timeout
        for reader in list(self._readers.values()):
            if reader.ident is not None:  # the hub may have listed one it has yet to start
                reader.join(max(0.0, deadline - time.monotonic()))
        self._hub.join(max(0.0, deadline - time.monotonic()))

    # Threads' side -------------------------------------------------------

    def _put(self, into: queue.Queue, item: Any) -> bool:
        """Block until `item` fits (back-pressure); False once stopping."""
        while not self._stop.is_set():
            try:
                into.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _sink(self, item: Any) -> bool:
        """Readers' put: lines, or `("opened"|"closed", source)`."""
        return self._put(self._inbound, item)

    def _hand_out(self, batch: list[LogLine] | None) -> None:
        """Queue a batch (None: the end) for the consumer and wake it."""
        self._put(self._outbox, batch)
        if self.on_ready is not None:
            self.on_ready()

    def _run(self) -> None:
        """The hub: resolve hosts, merge, batch; react to events and outages."""
        merger = self._merger
        for name in list(self._pending_hosts):
            if self._gates[name].session.online:
                self._resolve(name)
        for name in self._pending_hosts:
            status = self._gates[name].session.status
            self.failures[name] = status.error or status.state.value
            if status.key_changed:
                self._refuse(status)
            elif self.options.follow and status.state is HostState.OFFLINE:
                self._host_notice(name, f"{name} is offline: following it once online")
        self.resolved.set()
        pending: list[LogLine] = []
        next_flush = time.monotonic() + self.batch_time
        while not self._stop.is_set():
            self._handle_control()
            for notice in self._notices:
                pending.extend(merger.push([notice], time.monotonic()))
            self._notices.clear()
            if self.fatal is not None:
                pending.extend(merger.pop_ready(time.monotonic(), final=True))
                for start in range(0, len(pending), self.batch_lines):
                    self._hand_out(pending[start : start + self.batch_lines])
                self._hand_out(None)
                return
            now = time.monotonic()
            try:
                item = self._inbound.get(timeout=max(0.0, min(next_flush - now, 0.05)))
            except queue.Empty:
                item = None
            while item is not None:
                now = time.monotonic()
                if isinstance(item, list):
                    pending.extend(merger.push(item, now))
                elif item[0] == "opened":
                    merger.open(item[1], now)
                else:
                    merger.close(item[1])
                if len(pending) + len(merger) >= self.batch_lines:
                    break
                try:
                    item = self._inbound.get_nowait()
                except queue.Empty:
                    item = None
            now = time.monotonic()
            if now < next_flush and len(pending) < self.batch_lines:
                continue
            done = not self.options.follow and self._all_read()
            pending.extend(merger.pop_ready(now, final=done))
            for start in range(0, len(pending), self.batch_lines):
                self._hand_out(pending[start : start + self.batch_lines])
            pending = []
            next_flush = now + self.batch_time
            if done:
                self._hand_out(None)
                return

    def _all_read(self) -> bool:
        readers = self._readers.values()
        return all(reader.finished for reader in readers) and self._inbound.empty()

    def _handle_control(self) -> None:
        while True:
            try:
                item = self._control.get_nowait()
            except queue.Empty:
                return
            if item[0] == "status":
                self._on_status(item[1])
            else:
                self._on_event(item[1], item[2])

    def _on_status(self, status: HostStatus) -> None:
        name = status.name
        if status.key_changed:
            self._refuse(status)
        elif status.state is HostState.OFFLINE and name not in self._offline:
            self._offline.add(name)
            for (host, _), reader in self._readers.items():
                if host == name:
                    reader.abort()
            self._host_notice(name, f"{name} offline ({status.error}): will resume from the "
                              "last line seen once it is back")
        elif status.state is HostState.ONLINE:
            if name in self._offline:
                self._offline.discard(name)
                self._host_notice(name, f"{name} back online: resuming")
            if name in self._pending_hosts:
                self.failures.pop(name, None)
                self._resolve(name)

    def _refuse(self, status: HostStatus) -> None:
        """A host's key changed: end the whole follow, naming the host."""
        if self.fatal is not None or (
            self.target.kind == CONTAINER and status.name != self.target.host
        ):
            return
        self.fatal = HostKeyChanged(status.error or "the host key changed", host=status.name)
        self.failures[status.name] = self.fatal.message
        for reader in list(self._readers.values()):
            reader.abort()
        self._host_notice(status.name, f"HOST KEY CHANGED: {self.fatal}; following stopped")

    def _on_event(self, host: str, event: dict) -> None:
        action = event.get("status") or event.get("Action", "")
        cid = str(event.get("id", ""))[:12]
        reader = self._readers.get((host, cid))
        if reader is not None:
            if action in ("start", "destroy"):
                reader.wake()
            return
        if action != "start" or self.target.kind == CONTAINER:
            return
        attributes = (event.get("Actor") or {}).get("Attributes") or {}
        if not self.target.matches(attributes):
            return
        source = self._add_source(host, cid, attributes.get("name", cid), attributes)
        # Stamped with the engine's start time, so it lands before the first line.
        self._notice(
            source, f"new replica {self.sources[source].label}: following it",
            int(event.get("timeNano") or time.time_ns()),
        )
        self._start_reader(host, cid, source, since_ns=None, tail=None)

    # Resolving and starting -----------------------------------------------

    def _resolve(self, host: str) -> None:
        """Find the target's containers on a host that is (now) online."""
        gate = self._gates[host]
        if self.options.follow:
            # Before looking, so that a replica starting meanwhile is not missed.
            self._subscribe(host)
        try:
            if self.target.kind == CONTAINER:
                found = [self._inspect_target(gate)]
            else:
                rows = list_containers(gate.session, all=True)
                found = [
                    (row.id, row.name, row.labels)
                    for row in rows
                    if self.target.matches(row.labels)
                ]
        except NotFound:
            self._unsubscribe(host)
            self._pending_hosts.discard(host)
            self.failures[host] = f"no container {self.target.name!r}"
            self._host_notice(host, f"no container {self.target.name!r} on {host}")
            return
        except BackendError as exc:
            self.failures[host] = exc.message
            return  # still pending: retried when the host is next online
        self._pending_hosts.discard(host)
        for cid, name, labels in found:
            if (host, cid) not in self._readers:
                source = self._add_source(host, cid, name, labels)
                self._start_reader(
                    host, cid, source, since_ns=self.options.since_ns, tail=self.options.tail
                )

    def _subscribe(self, host: str) -> None:
        if host in self._subscriptions:
            return
        subscriber = self._subscriptions[host] = event_subscriber(self, host)
        host_events(self.fleet.session(host)).subscribe(subscriber)
        if self._stop.is_set():  # stopped meanwhile: `stop()` may not have seen it
            self._unsubscribe(host)

    def _unsubscribe(self, host: str) -> None:
        subscriber = self._subscriptions.pop(host, None)
        if subscriber is not None:
            host_events(self.fleet.session(host)).unsubscribe(subscriber)

    def _inspect_target(self, gate: HostGate) -> tuple[str, str, dict]:
        info = gate.session.call(lambda client: client.api.inspect_container(self.target.name))
        labels = (info.get("Config") or {}).get("Labels") or {}
        return info["Id"][:12], info.get("Name", "").lstrip("/"), labels

    def _add_source(self, host: str, cid: str, name: str, labels: dict) -> int:
        from corral.backends.labels import stack_and_service

        stack, service = stack_and_service(labels)
        self.sources.append(LogSource(host, cid, name, stack, service))
        return len(self.sources) - 1

    def _start_reader(
        self, host: str, cid: str, source: int, *, since_ns: int | None, tail: int | None
    ) -> None:
        self._merger.open(source, time.monotonic())
        reader = ContainerReader(
            self._gates[host], cid, source, self._sink, self._stop,
            since_ns=since_ns, tail=tail, follow=self.options.follow,
        )
        self._readers[(host, cid)] = reader
        reader.start()

    def _host_notice(self, host: str, text: str) -> None:
        source = self._host_sources.get(host)
        if source is None:
            self.sources.append(LogSource(host, None, host))
            source = self._host_sources[host] = len(self.sources) - 1
        self._notice(source, text)

    def _notice(self, source: int, text: str, ts: int | None = None) -> None:
        # Through the merger like any line (hub thread only), so it lands in time order.
        self._notices.append(LogLine(ts or time.time_ns(), source, NOTICE, text))
