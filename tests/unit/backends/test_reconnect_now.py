"""Reconnect now: a session skips its backoff, and abandons a hanging attempt."""

from __future__ import annotations

import asyncio

from corral.backends.errors import AuthFailed, HostUnreachable
from corral.backends.inventory.load import HostSpec, SshTarget
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.session import Backoff, HostSession, HostState


class ScriptedSession(HostSession):
    """A session whose attempts do what the test scripts, one per call."""

    def __init__(self, *outcomes: str) -> None:
        super().__init__(HostSpec("h1", SshTarget("10.0.0.9", "root", 22)), SshSettings(),
                         backoff=Backoff(first=60, limit=60))
        self.outcomes = list(outcomes)
        self.attempts = 0

    async def connect(self) -> None:
        self.attempts += 1
        outcome = self.outcomes.pop(0) if self.outcomes else "hang"
        self._set(HostState.CONNECTING, self.status.error)
        if outcome == "hang":
            await asyncio.sleep(3600)  # a SYN lost on a dead link
        if outcome == "fail":
            self._set(HostState.OFFLINE, "did not answer in time")
            raise HostUnreachable("did not answer in time", host=self.name)
        if outcome == "auth":
            self._set(HostState.OFFLINE, "denied")
            raise AuthFailed("denied", host=self.name)


async def until(condition, timeout: float = 2.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_hurry_skips_the_backoff_and_a_hanging_attempt() -> None:
    session = ScriptedSession("fail", "hang", "fail")
    runner = asyncio.ensure_future(session.run())
    try:
        await until(lambda: session.attempts == 1 and session.status.state is HostState.OFFLINE)
        assert session.hurry()  # instead of the 60 s backoff
        await until(lambda: session.attempts == 2)
        assert session.hurry()  # abandons the hanging attempt for a fresh one
        await until(lambda: session.attempts == 3)
        # The abandoned attempt's status keeps the last known reason.
        assert session.status.error == "did not answer in time"
    finally:
        runner.cancel()


async def test_hurry_retries_even_an_error_that_waits_for_the_operator() -> None:
    session = ScriptedSession("auth", "hang")
    runner = asyncio.ensure_future(session.run())
    try:
        await until(lambda: session.attempts == 1 and session.status.state is HostState.OFFLINE)
        await asyncio.sleep(0.05)
        assert session.attempts == 1  # no retry on its own
        assert session.hurry()
        await until(lambda: session.attempts == 2)
    finally:
        runner.cancel()


async def test_an_online_session_is_left_alone() -> None:
    session = ScriptedSession("ok")
    session._wait_lost = lambda: asyncio.sleep(3600)  # type: ignore[method-assign]
    session._set(HostState.ONLINE)
    assert not session.hurry()  # no run() loop at all
    runner = asyncio.ensure_future(session.run())
    try:
        await until(lambda: session.attempts == 1)
        session._set(HostState.ONLINE)
        assert not session.hurry()
    finally:
        runner.cancel()
