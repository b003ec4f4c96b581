"""One event follower per host, shared by the containers watcher and log follows (no engine)."""

from __future__ import annotations

import gc
import queue
import threading
import time
import weakref
from types import SimpleNamespace

import docker
import pytest

from corral.backends.engine.events import StreamBroken, StreamOpened, host_events
from corral.backends.engine.facts import with_health
from corral.backends.engine.watch import (
    EngineEvent,
    History,
    HostWatcher,
    Snapshot,
    Stale,
    Upsert,
)
from corral.backends.inventory.load import HostSpec, Inventory
from corral.backends.logs.follow import LogFollower
from corral.backends.logs.target import SERVICE, LogOptions, LogTarget
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession, HostState, HostStatus
from tests.support.waits import wait_until

WEB = {"io.corral.stack": "shop", "io.corral.service": "web"}
T0 = 1_795_627_327_000_000_000


class FakeStream:
    """An `/events` response: the test pushes events; `close()` ends it."""

    def __init__(self, params: dict) -> None:
        self.params = params
        self.closed = False
        self._events: queue.Queue[dict | None] = queue.Queue()

    def __iter__(self) -> FakeStream:
        return self

    def __next__(self) -> dict:
        event = self._events.get()
        if event is None:
            self._events.put(None)
            raise StopIteration
        return event

    def push(self, event: dict) -> None:
        self._events.put(event)

    def close(self) -> None:
        self.closed = True
        self._events.put(None)


class FakeEngine:
    """The part of docker-py's `APIClient` the followers use."""

    def __init__(self) -> None:
        self.streams: list[FakeStream] = []
        self.listed: list[dict] = [container("0123456789ab0000", "other", {})]
        #: What a bounded read of past events (`until` given) answers.
        self.history: list[dict] = []
        self.history_params: list[dict] = []

    def events(self, **params) -> FakeStream:
        if "until" in params:
            self.history_params.append(params)
            return iter(list(self.history))
        stream = FakeStream(params)
        self.streams.append(stream)
        return stream

    def containers(self, all: bool = False, filters: dict | None = None) -> list[dict]:
        wanted = (filters or {}).get("id")
        return [item for item in self.listed if not wanted or item["Id"].startswith(wanted)]

    def inspect_container(self, ref: str) -> dict:
        raise docker.errors.NotFound(f"no such container: {ref}")

    def open_streams(self) -> list[FakeStream]:
        return [stream for stream in self.streams if not stream.closed]


def container(cid: str, name: str, labels: dict) -> dict:
    return {"Id": cid, "Names": [f"/{name}"], "Image": "web:1", "State": "running",
            "Status": "Up 1 second", "Labels": labels}


def start_event(cid: str, name: str, ns: int) -> dict:
    return {"status": "start", "id": cid, "Type": "container", "Action": "start",
            "Actor": {"ID": cid, "Attributes": {"name": name, **WEB}},
            "time": ns // 10**9, "timeNano": ns}


def online_session(engine: FakeEngine) -> tuple[Fleet, HostSession]:
    """A fleet of one host whose session is online on the fake engine."""
    fleet = Fleet(Inventory(hosts=(HostSpec("h1", None),)), SshSettings())
    session = fleet.session("h1")
    session._client = SimpleNamespace(api=engine, close=lambda: None)
    session.status = HostStatus("h1", HostState.ONLINE)
    return fleet, session


def until(condition, what: str, timeout: float = 5.0) -> None:
    wait_until(condition, what, timeout, step=0.01)


def followers(host: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"corral-events-{host}" and t.is_alive()]


class Updates:
    """What a containers watcher reported, collected from its thread."""

    def __init__(self) -> None:
        self.seen: list = []

    def put(self, update) -> None:
        self.seen.append(update)

    def any(self, kind: type, check=lambda update: True) -> bool:
        return any(isinstance(update, kind) and check(update) for update in list(self.seen))


def test_watcher_and_log_follow_share_one_stream_that_stops_when_both_leave() -> None:
    engine = FakeEngine()
    fleet, session = online_session(engine)
    follow = LogFollower(fleet, LogTarget(SERVICE, "shop", service="web"), LogOptions(tail=0))
    follow.start()
    until(lambda: len(engine.open_streams()) == 1, "the log follow's stream")
    # The watcher joins the open stream: it is told so and lists the host.
    updates = Updates()
    watcher = HostWatcher(session, updates.put).start()
    until(lambda: updates.any(Snapshot), "the watcher's listing")
    assert host_events(session).subscribers == 2
    assert len(engine.streams) == 1 and host_events(session).open_streams == 1
    assert len(followers("h1")) == 1

    # A replica of the service starts: both subscribers get the one event.
    cid = "c0ffee0000000000000000"
    engine.listed.append(container(cid, "shop-web-2", WEB))
    engine.streams[0].push(start_event(cid, "shop-web-2", time.time_ns()))
    until(lambda: updates.any(EngineEvent, lambda e: e.action == "start"), "the event row")
    until(lambda: updates.any(Upsert, lambda u: u.row.id == cid[:12]), "the new row")
    until(lambda: any(s.container == cid[:12] for s in follow.sources), "the new replica")
    assert len(engine.streams) == 1

    # The last one out stops the follower, not the first.
    follow.stop()
    follow.join(2.0)
    assert host_events(session).subscribers == 1 and not engine.streams[0].closed
    watcher.stop()
    assert engine.streams[0].closed
    until(lambda: not followers("h1") and host_events(session).open_streams == 0,
          "the follower ended")
    assert len(engine.streams) == 1


def test_an_outage_marks_rows_stale_and_the_stream_resumes_without_repeats() -> None:
    engine = FakeEngine()
    _, session = online_session(engine)
    updates = Updates()
    watcher = HostWatcher(session, updates.put).start()
    try:
        until(lambda: updates.any(Snapshot), "the first listing")
        first = start_event("aaaaaaaaaaaa0000", "shop-web-1", T0)
        engine.streams[0].push(first)
        until(lambda: updates.any(EngineEvent), "the first event")
        session._set(HostState.OFFLINE, "the SSH connection was lost")
        until(lambda: updates.any(Stale, lambda s: "SSH connection" in s.reason), "stale rows")
        assert engine.streams[0].closed and host_events(session).open_streams == 0
        session._set(HostState.ONLINE)
        until(lambda: len(engine.streams) == 2, "the stream reopened")
        # Reopened from just before the last event seen; the replay repeats it.
        assert float(engine.streams[1].params["since"]) == pytest.approx(T0 / 1e9 - 1.0)
        second = start_event("bbbbbbbbbbbb0000", "shop-web-2", T0 + 5)
        for event in (first, second):
            engine.streams[1].push(event)
        until(lambda: sum(isinstance(u, EngineEvent) for u in updates.seen) == 2, "the new one")
        time.sleep(0.1)  # a duration, not a synchronisation: no repeat may follow
        assert [u.actor for u in updates.seen if isinstance(u, EngineEvent)] == [
            "shop-web-1", "shop-web-2",
        ]
        assert [type(u) for u in updates.seen if not isinstance(u, EngineEvent)] == [
            Snapshot, Stale, Snapshot,
        ]
        assert len(followers("h1")) == 1
    finally:
        watcher.stop()


def test_a_late_subscriber_is_told_the_stream_is_open() -> None:
    engine = FakeEngine()
    _, session = online_session(engine)
    first: list = []
    late: list = []
    host_events(session).subscribe(first.append)
    until(lambda: first == [StreamOpened("h1")], "the stream opened")
    host_events(session).subscribe(late.append)
    assert late == [StreamOpened("h1")]
    host_events(session).unsubscribe(first.append)
    host_events(session).unsubscribe(late.append)
    assert engine.streams[0].closed
    until(lambda: not followers("h1"), "the follower ended")
    assert not any(isinstance(notice, StreamBroken) for notice in first + late)


def test_the_registry_keeps_no_session_alive() -> None:
    fleet, session = online_session(FakeEngine())
    host_events(session)
    gone = weakref.ref(session)
    del fleet, session
    gc.collect()
    assert gone() is None


def test_a_watcher_starts_with_the_hosts_history_once_without_repeats() -> None:
    engine = FakeEngine()
    _, session = online_session(engine)
    now = time.time_ns()
    old = start_event("aaaaaaaaaaaa0000", "shop-web-1", now - 600 * 10**9)
    recent = start_event("bbbbbbbbbbbb0000", "shop-web-2", now - 10**9)
    noise = {**recent, "Action": "exec_start: sh", "status": "exec_start: sh"}
    engine.history = [old, noise, recent]
    updates = Updates()
    watcher = HostWatcher(session, updates.put, history_seconds=3600).start()
    try:
        until(lambda: updates.any(History), "the history")
        history = next(u for u in updates.seen if isinstance(u, History))
        assert [e.actor for e in history.events] == ["shop-web-1", "shop-web-2"]
        params = engine.history_params[0]
        assert float(params["until"]) - float(params["since"]) == pytest.approx(3600, abs=1)
        # The live stream starts a little in the past: its repeat of `recent` is dropped.
        new = start_event("cccccccccccc0000", "shop-web-3", time.time_ns())
        for event in (recent, new):
            engine.streams[0].push(event)
        until(lambda: updates.any(EngineEvent, lambda e: e.actor == "shop-web-3"), "the new one")
        assert [u.actor for u in updates.seen if isinstance(u, EngineEvent)] == ["shop-web-3"]
        # An outage and return reopen the stream, not the history.
        session._set(HostState.OFFLINE, "the SSH connection was lost")
        until(lambda: updates.any(Stale), "stale rows")
        session._set(HostState.ONLINE)
        until(lambda: len(engine.streams) == 2, "the stream reopened")
        assert len(engine.history_params) == 1
    finally:
        watcher.stop()


def test_the_engine_is_asked_to_leave_health_check_execs_out_of_every_stream() -> None:
    # Health checks run three `exec_*` events per container and check: on an
    # idle fleet they were most of what crossed the link, only to be dropped here.
    engine = FakeEngine()
    _, session = online_session(engine)
    watcher = HostWatcher(session, Updates().put, history_seconds=60).start()
    try:
        until(lambda: engine.streams and engine.history_params, "the stream and the history")
        for params in (engine.streams[0].params, engine.history_params[0]):
            wanted = params["filters"]["event"]
            assert params["filters"]["type"] == ["container"]
            assert not [action for action in wanted if action.startswith("exec_")]
            assert {"start", "die", "destroy", "oom", "health_status"} <= set(wanted)
    finally:
        watcher.stop()


def test_an_idle_watcher_sleeps_until_a_notice_and_stops_at_once() -> None:
    engine = FakeEngine()
    _, session = online_session(engine)
    updates = Updates()
    watcher = HostWatcher(session, updates.put)
    waits: list[float | None] = []
    take = watcher._next

    def counting(timeout):
        waits.append(timeout)
        return take(timeout)

    watcher._next = counting  # type: ignore[method-assign]
    watcher.start()
    try:
        until(lambda: updates.any(Snapshot), "the first listing")
        until(lambda: waits and waits[-1] is None, "the wait for the next notice")
        time.sleep(0.3)  # a duration: an idle watcher does not wake to look
        assert waits[-1] is None and len(waits) <= 3
        engine.streams[0].push(start_event("aaaaaaaaaaaa0000", "shop-web-1", T0))
        until(lambda: updates.any(EngineEvent), "the event, at once")
    finally:
        began = time.monotonic()
        watcher.stop()
        watcher._thread.join(2.0)
    assert not watcher._thread.is_alive() and time.monotonic() - began < 1.0


def health_event(cid: str, verdict: str, ns: int) -> dict:
    action = f"health_status: {verdict}"
    return {"status": action, "id": cid, "Type": "container", "Action": action,
            "Actor": {"ID": cid, "Attributes": {"name": "other"}},
            "time": ns // 10**9, "timeNano": ns}


def test_a_health_event_for_a_shown_row_changes_it_without_asking_the_engine() -> None:
    engine = FakeEngine()
    engine.listed[0]["Status"] = "Up 3 minutes (healthy)"
    cid = engine.listed[0]["Id"]
    _, session = online_session(engine)
    asked: list[dict | None] = []
    containers = engine.containers
    engine.containers = lambda all=False, filters=None: (  # type: ignore[method-assign]
        asked.append(filters), containers(all, filters))[1]
    updates = Updates()
    watcher = HostWatcher(session, updates.put).start()
    try:
        until(lambda: updates.any(Snapshot), "the first listing")
        asked.clear()
        engine.streams[0].push(health_event(cid, "unhealthy", T0))
        until(lambda: updates.any(Upsert), "the row's new health")
        upsert = next(u for u in updates.seen if isinstance(u, Upsert))
        assert upsert.row.status == "Up 3 minutes (unhealthy)" and upsert.row.name == "other"
        assert upsert.health_only  # the console's health pass need not look again
        assert asked == []  # neither a listing nor an inspect
        engine.streams[0].push(health_event(cid, "healthy", T0 + 1))
        until(lambda: sum(isinstance(u, Upsert) for u in updates.seen) == 2, "healthy again")
        assert [u.row.status for u in updates.seen if isinstance(u, Upsert)][-1] == (
            "Up 3 minutes (healthy)")
        # A container the watcher has not shown is read from the engine as before.
        engine.streams[0].push(health_event("feedfacefeed0000", "healthy", T0 + 2))
        until(lambda: asked, "the engine asked about the unknown one")
    finally:
        watcher.stop()


def test_health_text_follows_the_engines_words() -> None:
    assert with_health("Up 5 seconds (health: starting)", " healthy") == "Up 5 seconds (healthy)"
    assert with_health("Up 2 hours", "unhealthy") == "Up 2 hours (unhealthy)"
    assert with_health("Up 2 hours (unhealthy)", "starting") == "Up 2 hours (health: starting)"
    assert with_health("Exited (1) 3 seconds ago", "unhealthy") is None  # read it instead
    assert with_health("Up 2 hours", "something new") is None
