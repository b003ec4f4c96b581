"""A swarm of lab hosts for a test module, and no swarm left behind.

Swarm state outlives a test run (it lives in each lab engine's data root),
so every helper here first takes every lab host out of whatever swarm a
previous run left it in, and always does so again afterwards: one failed
run must not break the next. Everything goes through each engine's own
socket (`docker swarm leave --force` there), never through Corral.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.support.lab import Lab
from tests.support.lab_cli import engine

#: The port managers listen on.
MANAGER_PORT = 2377
#: Swarm's gossip port (memberlist) on every node.
GOSSIP_PORT = 7946
#: Seconds an engine that left its swarm gets to close its gossip agent.
GOSSIP_CLOSE_SECONDS = 10.0


def leave_swarms(lab: Lab) -> None:
    """Take every lab host out of any swarm (`docker swarm leave --force` on each).

    Then make sure each engine closed its gossip agent (see `gossip_closed`).
    """
    for host in lab.hosts:
        client = engine(host.socket)
        try:
            if (client.info().get("Swarm") or {}).get("LocalNodeState") != "inactive":
                # The low-level call: `client.swarm` inspects the swarm first, which
                # fails on a manager whose swarm lost its leader (the host then stayed).
                client.api.leave_swarm(force=True)
        except docker.errors.APIError:
            pass  # not in a swarm after all, or leaving already
        finally:
            client.close()
    for host in lab.hosts:
        gossip_closed(lab, host.name)


def gossip_listening(lab: Lab, name: str) -> bool:
    """Whether something listens on TCP `GOSSIP_PORT` in `name`'s network namespace.

    Read from the lab dockerd's own /proc entry: its `net/tcp*` tables are its
    namespace's.
    """
    pid = lab.dockerd_pid(name)
    if pid is None:
        return False
    for table in ("tcp", "tcp6"):
        try:
            rows = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            _, local, _, state = row.split()[:4]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == GOSSIP_PORT:
                return True
    return False


def gossip_closed(lab: Lab, name: str) -> None:
    """Wait until `name`, out of any swarm, no longer gossips; restart its engine if
    it keeps doing so.

    Docker 20.10 can keep a left swarm's gossip agent (memberlist on port 7946, with
    the old swarm's keys) after a forced leave that raced a leader election. The
    next swarm's agent then cannot bind the port ("error in agentInit … address
    already in use"), the host never learns the overlay's other endpoints, and a
    cross-host connect times out (CI: `nc: timed out` in the overlay test).
    """
    deadline = time.monotonic() + GOSSIP_CLOSE_SECONDS
    while gossip_listening(lab, name):
        if time.monotonic() > deadline:
            print(f"\n{name}: its engine still gossips {GOSSIP_CLOSE_SECONDS:g} s after leaving"
                  " its swarm; restarting dockerd", file=sys.stderr)
            lab.fault(name, "dockerd-restart")
            lab.restored(name, after="the engine restart")
            return
        time.sleep(0.2)


@contextlib.contextmanager
def swarm_of(lab: Lab, managers: tuple[str, ...] = ("lab1",),
             workers: tuple[str, ...] = ("lab2", "lab3")) -> Iterator[str]:
    """A swarm of lab hosts for the duration of the block.

    Args:
        lab: The lab.
        managers: Hosts joining as managers, the first one making the swarm.
        workers: Hosts joining as workers.

    Yields:
        The name of the first manager.
    """
    leave_swarms(lab)
    try:
        first = lab.host(managers[0])
        client = engine(first.socket)
        client.swarm.init(advertise_addr=first.address, listen_addr=f"0.0.0.0:{MANAGER_PORT}")
        tokens = client.api.inspect_swarm()["JoinTokens"]
        for name, role in [(m, "Manager") for m in managers[1:]] + [(w, "Worker")
                                                                     for w in workers]:
            host = lab.host(name)
            engine(host.socket).api.join_swarm([f"{first.address}:{MANAGER_PORT}"],
                                               tokens[role], advertise_addr=host.address,
                                               listen_addr=f"0.0.0.0:{MANAGER_PORT}")
        yield first.name
    finally:
        leave_swarms(lab)


@pytest.fixture(scope="module")
def lab_swarm(lab: Lab) -> Iterator[str]:
    """The three lab hosts as one swarm (lab1 managing) for the test module."""
    with swarm_of(lab) as manager:
        yield manager


@pytest.fixture
def no_swarm(lab: Lab) -> Iterator[None]:
    """Every lab host outside any swarm, before and after the test."""
    leave_swarms(lab)
    try:
        yield
    finally:
        leave_swarms(lab)
