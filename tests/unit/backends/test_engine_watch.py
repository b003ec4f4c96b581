"""A session notices an engine that stops behind a live SSH connection, and retries soon.

An engine restart (`systemctl restart docker`, a host reboot's first half)
closes nothing SSH can see; the session's engine watch takes the host
offline so the console says so (issue 16's fault matrix).
"""

from __future__ import annotations

import asyncio

import pytest

from corral.backends.inventory.load import HostSpec, SshTarget
from corral.backends.ssh import engine_http
from corral.backends.ssh import session as S
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.session import Backoff, HostSession


class OpenConnection:
    """An SSH connection that never closes (what an engine restart leaves)."""

    async def wait_closed(self) -> None:
        await asyncio.sleep(3600)


def watched(pings: list[bool]) -> HostSession:
    session = HostSession(HostSpec("h1", SshTarget("10.0.0.9", "root", 22)), SshSettings())
    session._conn = OpenConnection()  # type: ignore[assignment]
    session._ping = lambda timeout=None: pings.pop(0) if pings else False  # type: ignore
    return session


async def test_an_engine_that_stops_answering_takes_the_host_offline(monkeypatch) -> None:
    monkeypatch.setattr(S, "ENGINE_CHECK_SECONDS", 0.01)
    reason = await asyncio.wait_for(watched([True, True, False, False])._wait_lost(), 2)
    assert reason.startswith("the Docker engine stopped answering")


async def test_one_slow_ping_is_not_an_outage(monkeypatch) -> None:
    monkeypatch.setattr(S, "ENGINE_CHECK_SECONDS", 0.01)
    pings = [False, True] * 20
    waiting = asyncio.ensure_future(watched(pings)._wait_lost())
    await asyncio.sleep(0.3)
    assert not waiting.done()
    waiting.cancel()


@pytest.mark.parametrize("first, limit", [(0.5, 4.0), (1, 4), (3, 3)])
def test_backoff_never_waits_past_its_limit(first: float, limit: float) -> None:
    delays = Backoff(first=first, limit=limit).delays()
    assert max(next(delays) for _ in range(300)) <= limit


def test_a_recovered_host_is_retried_within_4_s() -> None:
    assert Backoff().limit <= 4.0


class Engine:
    """A local UNIX socket playing the engine behind the tunnel: it accepts the watch
    request, answers 200 and then holds it open until `stop()`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.requests: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_unix_server(self._serve, self.path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests.append(await reader.readline())
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        self.writers.append(writer)

    def stop(self) -> None:
        self.server.close()
        for writer in self.writers:
            writer.close()


async def test_the_held_request_ends_when_the_engine_stops(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(S, "ENGINE_CHECK_SECONDS", 60)  # no polling: the request tells
    engine = Engine(str(tmp_path / "docker.sock"))
    await engine.start()
    pings: list[bool] = []
    session = watched(pings)
    session._tunnel = type("Tunnel", (), {"path": engine.path})()  # type: ignore[assignment]
    waiting = asyncio.ensure_future(session._wait_lost())
    for _ in range(100):
        if engine.writers:
            break
        await asyncio.sleep(0.01)
    assert engine.requests and engine.requests[0].startswith(b"GET /events?filters=")
    await asyncio.sleep(0.1)
    assert not waiting.done()  # an engine that says nothing is an engine that is up
    engine.stop()
    reason = await asyncio.wait_for(waiting, 2)  # the ping that confirms fails (no pings left)
    assert reason.startswith("the Docker engine stopped answering")


class PingingEngine:
    """A local UNIX socket answering `/_ping` with 200; the watch request it ends at once
    (an engine restarting its API), or refuses with `watch_status` (a proxy that does not
    let `/events` through)."""

    def __init__(self, path: str, watch_status: bytes = b"200 OK") -> None:
        self.path = path
        self.watch_status = watch_status
        self.pings = 0

    async def start(self) -> None:
        self.server = await asyncio.start_unix_server(self._serve, self.path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        while (await reader.readline()).strip():
            pass  # the headers
        if line.startswith(b"GET /_ping "):
            self.pings += 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
        else:
            writer.write(b"HTTP/1.1 " + self.watch_status + b"\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    def stop(self) -> None:
        self.server.close()


def plain_session(path: str) -> HostSession:
    """Online through `path` and read only with plain GETs: no docker-py client was made."""
    session = HostSession(HostSpec("h1", SshTarget("10.0.0.9", "root", 22)), SshSettings())
    session._conn = OpenConnection()  # type: ignore[assignment]
    session._tunnel = type("Tunnel", (), {"path": path})()  # type: ignore[assignment]
    session._kept = engine_http.KeptConnections(path, host="h1", timeout=1.0)
    return session


async def test_a_ping_needs_no_docker_py_client(tmp_path) -> None:
    engine = PingingEngine(str(tmp_path / "docker.sock"))
    await engine.start()
    session = plain_session(engine.path)
    assert not session.has_client
    assert await asyncio.to_thread(session._ping, 1.0)
    assert engine.pings == 1
    engine.stop()
    await engine.server.wait_closed()
    assert not await asyncio.to_thread(session._ping, 0.5)  # the socket is gone


@pytest.mark.parametrize("watch_status", [b"200 OK", b"403 Forbidden"])
async def test_an_engine_that_answers_pings_stays_online_without_a_client(
    tmp_path, monkeypatch, watch_status: bytes
) -> None:
    # The watch request ends at once (200) or is refused (403): either way the session
    # falls back to pings, which are answered. Before, a session without a docker-py
    # client counted each ping as failed and went offline.
    monkeypatch.setattr(S, "ENGINE_CHECK_SECONDS", 0.02)
    engine = PingingEngine(str(tmp_path / "docker.sock"), watch_status)
    await engine.start()
    waiting = asyncio.ensure_future(plain_session(engine.path)._wait_lost())
    await asyncio.sleep(0.5)
    try:
        assert engine.pings >= 3
        assert not waiting.done()
    finally:
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        engine.stop()
        await engine.server.wait_closed()


async def test_a_persisted_tunnel_whose_engine_goes_is_named_as_such(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(S, "SOCKET_CHECK_SECONDS", 0.02)
    engine = PingingEngine(str(tmp_path / "docker.sock"))
    await engine.start()
    session = plain_session(engine.path)
    session._conn = None  # reads through a persisted tunnel: no SSH connection of its own
    session.persisted = engine.path
    waiting = asyncio.ensure_future(session._wait_lost())
    await asyncio.sleep(0.2)
    assert engine.pings >= 2 and not waiting.done()  # answered: still there
    engine.stop()
    await engine.server.wait_closed()
    reason = await asyncio.wait_for(waiting, 2)
    assert reason == "the Docker engine stopped answering through the persisted tunnel"
