"""The kernel probes a direct SSH link, Corral reads its silence; SSH keepalives slow down."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from corral.backends.ssh import linkwatch
from corral.backends.ssh.settings import SshSettings


class FakeConnection:
    """What the watch uses of asyncssh's connection: socket, keepalive, closing, losing."""

    def __init__(self, sock: socket.socket | None) -> None:
        self.sock = sock
        self.keepalive: tuple[float, int] | None = None
        self.lost: list[BaseException | None] = []

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self.sock if name == "socket" else default

    def set_keepalive(self, interval: float, count_max: int) -> None:
        self.keepalive = (interval, count_max)

    def is_closed(self) -> bool:
        return bool(self.lost)

    def connection_lost(self, exc: BaseException | None = None) -> None:
        self.lost.append(exc)


@pytest.fixture
def tcp_pair():
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    peer, _ = server.accept()
    yield client, peer
    client.close()
    peer.close()
    server.close()


def tcp_option(sock: socket.socket, option: int) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, option)


async def test_a_direct_connection_is_probed_by_the_kernel_and_read_by_corral(tcp_pair) -> None:
    client, _ = tcp_pair
    conn = FakeConnection(client)
    watch = linkwatch.watch_in_kernel(conn, SshSettings())  # 1 s × (3 + 1): dead after 4 s
    try:
        assert watch is not None and (watch.interval, watch.limit_ms) == (0.5, 4000)
        assert client.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert tcp_option(client, socket.TCP_KEEPIDLE) == 1
        assert tcp_option(client, socket.TCP_KEEPINTVL) == 1
        # The kernel never ends the connection itself: Corral does, as SSH would.
        assert tcp_option(client, socket.TCP_KEEPCNT) == linkwatch.KERNEL_PROBES
        assert tcp_option(client, socket.TCP_USER_TIMEOUT) == 0
        # SSH keepalives remain, slower, for a host whose kernel answers while sshd hangs.
        assert conn.keepalive == (linkwatch.HUNG_PEER_SECONDS, 3)
    finally:
        watch.stop()


def test_a_fractional_interval_rounds_up_for_the_probes_not_for_the_deadline(tcp_pair) -> None:
    async def watched() -> linkwatch.LinkWatch | None:
        watch = linkwatch.watch_in_kernel(
            conn, SshSettings(keepalive_interval=2.5, keepalive_count_max=2))
        watch.stop()
        return watch

    conn = FakeConnection(tcp_pair[0])
    watch = asyncio.run(watched())
    assert tcp_option(tcp_pair[0], socket.TCP_KEEPIDLE) == 3
    assert watch.limit_ms == 7500
    assert conn.keepalive == (linkwatch.HUNG_PEER_SECONDS, 2)


async def test_a_long_interval_is_not_shortened(tcp_pair) -> None:
    conn = FakeConnection(tcp_pair[0])
    linkwatch.watch_in_kernel(conn, SshSettings(keepalive_interval=60)).stop()
    assert conn.keepalive == (60, 3)


async def test_keepalives_off_a_tunnelled_or_local_connection_keep_ssh_s_own_watch(
        tcp_pair) -> None:
    off = FakeConnection(tcp_pair[0])
    assert linkwatch.watch_in_kernel(off, SshSettings(keepalive_interval=0)) is None
    assert off.keepalive is None
    assert tcp_pair[0].getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
    through_a_jump_host = FakeConnection(None)  # an SSH channel has no socket
    assert linkwatch.watch_in_kernel(through_a_jump_host, SshSettings()) is None
    assert through_a_jump_host.keepalive is None
    left, right = socket.socketpair()  # a ProxyCommand's pipe, say
    with left, right:
        piped = FakeConnection(left)
        assert linkwatch.watch_in_kernel(piped, SshSettings()) is None
        assert piped.keepalive is None


async def test_a_silent_host_is_lost_as_by_an_ssh_keepalive_and_a_talking_one_is_not(
        tcp_pair) -> None:
    client, _ = tcp_pair
    silent = FakeConnection(client)
    # No kernel probes on this socket: nothing comes back from the peer.
    silent_watch = linkwatch.LinkWatch(silent, client, interval=0.05, limit=0.4)
    server = socket.create_server(("127.0.0.1", 0))
    talking_socket = socket.create_connection(server.getsockname())
    talking_peer, _ = server.accept()
    talking = FakeConnection(talking_socket)
    talking_watch = linkwatch.LinkWatch(talking, talking_socket, interval=0.05, limit=0.4)
    try:
        began = time.monotonic()
        silent_watch.start()
        talking_watch.start()
        while not silent.lost and time.monotonic() - began < 5:
            talking_peer.send(b"x")  # the other host keeps talking
            await asyncio.sleep(0.05)
        assert len(silent.lost) == 1, "the silent link was never lost"
        assert 0.35 <= time.monotonic() - began < 3
        reason = str(silent.lost[0])
        assert "keepalive" in reason  # what HostSession tells as "link lost … (keepalives)"
        await asyncio.sleep(0.3)
        assert talking.lost == [] and len(silent.lost) == 1  # lost once, and no more reads
    finally:
        silent_watch.stop()
        talking_watch.stop()
        talking_socket.close()
        talking_peer.close()
        server.close()


def test_silence_is_read_from_the_kernel(tcp_pair) -> None:
    client, peer = tcp_pair
    peer.send(b"x")
    time.sleep(0.3)
    assert 250 <= linkwatch.silent_ms(client) < 2000
    peer.send(b"y")
    time.sleep(0.05)
    assert linkwatch.silent_ms(client) < 250


@pytest.mark.parametrize(("reason", "told"), [
    (linkwatch.LOST_REASON, "link lost: no answer for 4 s (keepalives)"),
    ("Server not responding to keepalive", "link lost: no answer to SSH keepalives"),
    ("Connection lost", None),
    (None, None),
])
def test_the_operator_is_told_which_silence_ended_the_link(reason: str | None,
                                                           told: str | None) -> None:
    assert linkwatch.loss_message(reason, SshSettings()) == told


async def test_a_kernel_whose_tcp_info_is_too_short_keeps_ssh_s_own_watch(tcp_pair) -> None:
    class ShortInfo:
        """A TCP socket whose kernel's `tcp_info` ends before the receive times."""

        family = socket.AF_INET

        def setsockopt(self, *args) -> None:
            tcp_pair[0].setsockopt(*args)

        def getsockopt(self, level: int, option: int, size: int = 0) -> bytes:
            return bytes(40)

    conn = FakeConnection(ShortInfo())
    assert linkwatch.watch_in_kernel(conn, SshSettings()) is None
    assert conn.keepalive is None
