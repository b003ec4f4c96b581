"""Stream relays against the lab: a child process per host carries long streams."""

from __future__ import annotations

import dataclasses

import pytest

from corral.backends.ssh.relay import StreamRelay
from tests.support.lab import Lab
from tests.support.lab_cli import running_fleet
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_streams_go_through_a_child_that_ends_with_the_session(lab: Lab) -> None:
    host = lab.hosts[0].name
    with running_fleet(lab.inventory, lab.known_hosts, stream_relay=True) as (_, fleet):
        session = fleet.session(host)
        streams = session.stream_client()
        assert streams is not session.client
        assert streams.ping()
        assert streams.api.api_version == session.client.api.api_version
        assert session.stream_client() is streams  # one child per host, reused
        relay = session._relay
        pid = relay._process.pid
        assert _alive(pid)
    # Closing the fleet drops the session, and the child with it.
    wait_until(lambda: not _alive(pid), "the relay process to exit", 10)


def test_a_relay_that_cannot_connect_leaves_streams_on_the_session(lab: Lab) -> None:
    host = lab.hosts[0].name
    with running_fleet(lab.inventory, lab.known_hosts, stream_relay=True) as (_, fleet):
        session = fleet.session(host)
        # Port 2 answers nothing: the child reports why, streams use the session.
        spec = dataclasses.replace(session.spec, ssh=dataclasses.replace(session.spec.ssh, port=2))
        relay = StreamRelay(spec, session.settings, session.client.api.api_version, 5.0)
        assert relay.client() is None
        assert relay.problem and "refused" in relay.problem.lower(), relay.problem
        relay.close()


def test_relays_can_be_turned_off(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    host = lab.hosts[0].name
    with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
        session = fleet.session(host)  # one-shot commands do without
        assert session.stream_client() is session.client
    monkeypatch.setenv("CORRAL_STREAM_RELAY", "0")
    with running_fleet(lab.inventory, lab.known_hosts, stream_relay=True) as (_, fleet):
        session = fleet.session(host)
        assert session.stream_client() is session.client
