"""The kernel watches a direct SSH connection's link; SSH keepalives slow down."""

from __future__ import annotations

import errno
import socket

import pytest

from corral.backends.ssh import linkwatch
from corral.backends.ssh.settings import SshSettings
from corral.backends.sshlib import asyncssh


class FakeConnection:
    """What `watch_in_kernel` uses of asyncssh's connection: its socket, its keepalive."""

    def __init__(self, sock: socket.socket | None) -> None:
        self.sock = sock
        self.keepalive: tuple[float, int] | None = None

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self.sock if name == "socket" else default

    def set_keepalive(self, interval: float, count_max: int) -> None:
        self.keepalive = (interval, count_max)


@pytest.fixture
def tcp_socket():
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    yield client
    client.close()
    server.close()


def tcp_option(sock: socket.socket, option: int) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, option)


def test_a_direct_connection_is_watched_by_the_kernel_as_soon_as_ssh_would(tcp_socket) -> None:
    conn = FakeConnection(tcp_socket)
    settings = SshSettings()  # 1 s × (3 + 1): a dead link shows within 4 s
    assert linkwatch.watch_in_kernel(conn, settings)
    assert tcp_socket.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert tcp_option(tcp_socket, socket.TCP_KEEPIDLE) == 1
    assert tcp_option(tcp_socket, socket.TCP_KEEPINTVL) == 1
    assert tcp_option(tcp_socket, socket.TCP_KEEPCNT) == 3
    assert tcp_option(tcp_socket, socket.TCP_USER_TIMEOUT) == 4000
    # SSH keepalives remain, slower, for a host whose kernel answers while sshd hangs.
    assert conn.keepalive == (linkwatch.HUNG_PEER_SECONDS, 3)


def test_a_fractional_interval_rounds_up_for_the_probes_not_for_the_deadline(tcp_socket) -> None:
    conn = FakeConnection(tcp_socket)
    assert linkwatch.watch_in_kernel(conn, SshSettings(keepalive_interval=2.5,
                                                       keepalive_count_max=2))
    assert tcp_option(tcp_socket, socket.TCP_KEEPIDLE) == 3
    assert tcp_option(tcp_socket, socket.TCP_USER_TIMEOUT) == 7500
    assert conn.keepalive == (linkwatch.HUNG_PEER_SECONDS, 2)


def test_a_long_interval_is_not_shortened(tcp_socket) -> None:
    conn = FakeConnection(tcp_socket)
    assert linkwatch.watch_in_kernel(conn, SshSettings(keepalive_interval=60))
    assert conn.keepalive == (60, 3)


def test_keepalives_off_a_tunnelled_or_local_connection_keep_ssh_s_own_watch(tcp_socket) -> None:
    off = FakeConnection(tcp_socket)
    assert not linkwatch.watch_in_kernel(off, SshSettings(keepalive_interval=0))
    assert off.keepalive is None
    assert tcp_option(tcp_socket, socket.TCP_USER_TIMEOUT) == 0
    through_a_jump_host = FakeConnection(None)  # an SSH channel has no socket
    assert not linkwatch.watch_in_kernel(through_a_jump_host, SshSettings())
    assert through_a_jump_host.keepalive is None
    left, right = socket.socketpair()  # a ProxyCommand's pipe, say
    with left, right:
        piped = FakeConnection(left)
        assert not linkwatch.watch_in_kernel(piped, SshSettings())
        assert piped.keepalive is None


@pytest.mark.parametrize(("exc", "silent"), [
    (TimeoutError(errno.ETIMEDOUT, "Connection timed out"), True),  # the kernel's verdict
    (asyncssh.ConnectionLost("Server not responding to keepalive"), True),  # SSH's
    (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), False),
    (asyncssh.ConnectionLost("Connection lost"), False),
    (None, False),
])
def test_a_silent_host_is_told_from_one_that_closed(exc: BaseException | None,
                                                    silent: bool) -> None:
    assert linkwatch.went_silent(exc) is silent
