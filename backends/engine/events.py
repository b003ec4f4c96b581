"""One follower of a host's engine events, fanned out to every subscriber.

The containers view and each log pane following a service's replicas want
the same container events of a host. `HostEvents` (one per session, from
`host_events(session)`) keeps a single `/events` stream open while anyone is
subscribed: the first subscriber starts its thread, the last to leave stops
it, so a host streams its events once whatever is open.

Subscribers are callbacks run on the follower's thread (or, for the first
`StreamOpened`, on the subscribing thread): they must be quick and must not
block or raise. Put the notice into a bounded queue of your own and do the
work, docker-py calls included, on a thread of your own. A subscriber gets:

- `StreamOpened` when the stream (re)opens, or at once when it subscribes to
  a stream already open: from then on no container event is missed;
- every container event (docker-py's decoded dict), health checks' `exec_*`
  noise left out;
- `StreamBroken` when the stream breaks. The follower waits for the host,
  reopens the stream and asks the engine for what happened meanwhile,
  dropping what it had already handed out.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from corral.backends.errors import BackendError
from corral.backends.ssh.gate import HostGate
from corral.backends.ssh.status import HostState, HostStatus
from corral.backends.translate import translate_docker_error

if TYPE_CHECKING:
    from corral.backends.ssh.session import HostSession

#: Seconds of history asked for when the stream first opens, for subscribers
#: that listed containers before it was up (a little clock skew included).
FIRST_SINCE = 2.0
#: Seconds before the last event handed out that a reopened stream replays.
RESUME_MARGIN = 1.0
#: After a break, seconds to wait for a new connection before retrying on the
#: old one (the engine restarted behind a connection that stayed up).
SETTLE = 2.0


@dataclass(frozen=True)
class StreamOpened:
    """The stream is open: container events reach the subscriber from now on."""

    host: str


@dataclass(frozen=True)
class StreamBroken:
    """The stream broke; it is reopened once the host answers again."""

    host: str
    reason: str


Notice = StreamOpened | StreamBroken | dict[str, Any]
Subscriber = Callable[[Notice], None]


#: Every container action but health checks' `exec_*`, for the engine's `event`
#: filter: the engine then drops that noise (three events per check and
#: container, every few seconds) before it crosses the link. The engine matches
#: `health_status` as a prefix (`health_status: healthy`).
CONTAINER_ACTIONS = (
    "attach", "commit", "copy", "create", "destroy", "detach", "die", "export",
    "health_status", "kill", "oom", "pause", "prune", "rename", "resize", "restart", "start",
    "stop", "top", "unpause", "update",
)
#: The `filters` of every container event stream Corral reads.
CONTAINER_EVENTS = {"type": ["container"], "event": list(CONTAINER_ACTIONS)}


def event_action(event: dict) -> str:
    """The action an engine event reports (`start`, `die`, `health_status: healthy`...)."""
    return event.get("Action") or event.get("status") or ""


def since_param(nanos: int) -> str:
    """The engine's `since` value (events and logs) for a time in nanoseconds: `SECONDS.NANOS`."""
    seconds, frac = divmod(max(nanos, 0), 1_000_000_000)
    return f"{seconds}.{frac:09d}"


class HostEvents:
    """A host's one follower of container events and its subscribers.

    Args:
        session: The host.
        retry_seconds: Pause before reopening a stream that broke.
    """

    def __init__(self, session: HostSession, retry_seconds: float = 0.5) -> None:
        # Weakly: `host_events` keys its registry by the session, and a strong
        # reference back would keep every closed session alive. A running
        # follower holds the session itself, for as long as anyone subscribes.
        self._session = weakref.ref(session)
        self.retry_seconds = retry_seconds
        # Re-entrant: a subscriber may unsubscribe from within its callback.
        self._lock = threading.RLock()
        self._subscribers: list[Subscriber] = []
        self._follow: _Follow | None = None
        self._open_streams = 0

    @property
    def session(self) -> HostSession:
        """The host (alive while anyone holds it, which every caller here does)."""
        session = self._session()
        assert session is not None, "a closed session's events were used"
        return session

    @property
    def subscribers(self) -> int:
        """How many subscribers the follower serves."""
        return len(self._subscribers)

    @property
    def open_streams(self) -> int:
        """How many `/events` streams of this host are open right now (at most 1)."""
        return self._open_streams

    def subscribe(self, subscriber: Subscriber) -> None:
        """Hand every notice to `subscriber` from now on (starts the follower if idle)."""
        with self._lock:
            self._subscribers = [*self._subscribers, subscriber]
            if self._follow is None:
                self._follow = _Follow(self)
                self._follow.start()
            elif self._follow.is_open:
                subscriber(StreamOpened(self.session.name))

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop handing notices to `subscriber`; the last one out stops the follower."""
        with self._lock:
            self._subscribers = [known for known in self._subscribers if known != subscriber]
            follow = self._follow
            if self._subscribers or follow is None:
                return
            self._follow = None
        follow.stop()

    def _deliver(self, follow: _Follow, notice: Notice) -> bool:
        """Hand `notice` to every subscriber; False if `follow` was stopped."""
        with self._lock:
            if follow is not self._follow:
                return False
            if isinstance(notice, StreamOpened | StreamBroken):
                follow.is_open = isinstance(notice, StreamOpened)
            for subscriber in self._subscribers:
                subscriber(notice)
            return True

    def _count_stream(self, change: int) -> None:
        with self._lock:
            self._open_streams += change


_registry_lock = threading.Lock()
_by_session: weakref.WeakKeyDictionary[HostSession, HostEvents] = weakref.WeakKeyDictionary()


def host_events(session: HostSession) -> HostEvents:
    """The one `HostEvents` of `session`, made on first use.

    Kept here rather than on the session: the engine's events sit a layer
    above the SSH session, which knows nothing of them.
    """
    with _registry_lock:
        events = _by_session.get(session)
        if events is None:
            events = _by_session[session] = HostEvents(session)
        return events


class _Follow(threading.Thread):
    """The follower's thread: one stream at a time, reopened across outages."""

    def __init__(self, owner: HostEvents) -> None:
        super().__init__(name=f"corral-events-{owner.session.name}", daemon=True)
        self.owner = owner
        self.session = owner.session
        self.gate = HostGate(owner.session)
        self.stopping = threading.Event()
        #: Whether subscribers were last told the stream is open.
        self.is_open = False
        self._stream: Any = None
        self._since_ns = time.time_ns() - int(FIRST_SINCE * 1e9)
        # The newest event handed out, and which ones carried its time.
        self._last_ns = 0
        self._last_keys: set[tuple] = set()
        # Where a reopened stream's replay stops being old news.
        self._resume_ns = 0
        self._resume_keys: set[tuple] = set()

    def start(self) -> None:
        """Start the thread (and listen to the session for outages)."""
        self.session.add_listener(self._on_status)
        super().start()

    def stop(self) -> None:
        """End the thread soon (closes the stream so a blocked read returns)."""
        self.stopping.set()
        self.session.remove_listener(self._on_status)
        self.gate.wake()
        self._close()

    def _on_status(self, status: HostStatus) -> None:
        """Session listener (backend loop): never waits."""
        self.gate.on_status(status)
        if status.state is HostState.OFFLINE:
            self._close()  # break a read that would otherwise hang on a dead link

    def _close(self) -> None:
        stream = self._stream
        if stream is not None:
            # The stream may already be dead; closing is all we want.
            with contextlib.suppress(Exception):
                stream.close()

    def run(self) -> None:
        """The thread: follow, and after a break wait for the host and follow again."""
        seen = -1
        while not self.stopping.is_set():
            timeout = None if seen < 0 else SETTLE
            if not self.gate.wait_online(seen, self.stopping, timeout=timeout):
                return
            seen = self.gate.generation
            reason = self._follow_once()
            if self.stopping.is_set():
                return
            self.owner._deliver(self, StreamBroken(self.session.name, reason))
            self.stopping.wait(self.owner.retry_seconds)

    def _follow_once(self) -> str:
        """Open the stream and hand out its events until it breaks; returns why it did."""
        host = self.session.name
        if self._last_ns:
            self._resume_ns, self._resume_keys = self._last_ns, set(self._last_keys)
            self._since_ns = self._last_ns - int(RESUME_MARGIN * 1e9)
        params = {"since": since_param(self._since_ns), "filters": CONTAINER_EVENTS}
        try:
            stream = self.session.call(lambda client: client.api.events(decode=True, **params))
        except BackendError as exc:
            return exc.message
        self._stream = stream
        self.owner._count_stream(+1)
        try:
            if self.stopping.is_set() or not self.owner._deliver(self, StreamOpened(host)):
                return "stopped"
            for event in stream:
                if self.stopping.is_set():
                    return "stopped"
                if self._fresh(event) and not event_action(event).startswith("exec_"):
                    # Health checks run an exec every few seconds per container:
                    # noise that would drown the events that matter.
                    self.owner._deliver(self, event)
        except BackendError as exc:
            return exc.message
        except Exception as exc:  # a dropped tunnel surfaces as anything from requests
            return translate_docker_error(exc, host).message
        finally:
            self._stream = None
            with contextlib.suppress(Exception):
                stream.close()
            self.owner._count_stream(-1)
        if not self.session.online:  # closed by `_on_status`: say why the host went
            return self.session.status.error or "the host went offline"
        return "the event stream ended"

    def _fresh(self, event: dict) -> bool:
        """Whether `event` is news, not a replay of one handed out before a reopen."""
        ns = int(event.get("timeNano") or float(event.get("time") or 0) * 1e9)
        key = (event.get("Type"), event_action(event), (event.get("Actor") or {}).get("ID"))
        if ns < self._resume_ns or (ns == self._resume_ns and key in self._resume_keys):
            return False
        if ns > self._last_ns:
            self._last_ns, self._last_keys = ns, {key}
        elif ns == self._last_ns:
            self._last_keys.add(key)
        return True
