"""Who notices a dead link: the kernel's TCP keepalives, read by one cheap timer.

An idle console holds one SSH connection per host. With asyncssh's own
keepalives at the 1 s an on-call engineer needs (see `settings`), every
silent host costs a request, a reply, two packet encryptions, a task and
timer work in Corral's event loop each second: at 20 hosts that was about
half of an idle console's CPU.

Here the kernel probes a direct TCP connection instead (keepalive probes
after `keepalive_interval` of silence, answered by the host's kernel), and
twice per interval Corral reads how long ago the host last sent anything
(`TCP_INFO`: one system call, no packet, no encryption). A host silent for
`interval × (count + 1)` is lost exactly as asyncssh's own keepalive would
lose it (the same `ConnectionLost`, so the rest of Corral sees one kind of
"link lost"). The kernel never ends the connection itself: its probe count
is set far beyond Corral's deadline, and no `TCP_USER_TIMEOUT` is set.

What the kernel cannot see is a host whose TCP stack answers while its sshd
hangs (stopped, swapped out): SSH keepalives still catch that, every
`HUNG_PEER_SECONDS`. Connections not over a plain TCP socket (through a jump
host or a ProxyCommand) keep SSH keepalives at the configured interval.
"""

from __future__ import annotations

import asyncio
import math
import socket
import struct

from corral.backends.ssh.settings import SshSettings
from corral.backends.sshlib import asyncssh

#: SSH keepalives on a kernel-watched connection: only for a peer whose sshd
#: hangs while its kernel answers (stopped, swapping), so a slower interval:
#: noticed in about 20 s at the default count, for a fifth of the packets.
HUNG_PEER_SECONDS = 5.0
#: The kernel's own probe count: far past Corral's deadline, so that the
#: kernel never ends a connection (Corral does, the way SSH keepalives do).
KERNEL_PROBES = 120
#: Why a silent link was lost: asyncssh's own words for a keepalive timeout,
#: which is what `HostSession` tells the operator as "link lost".
LOST_REASON = "Server not responding to keepalive (no TCP answer)"
_TCP_FAMILIES = (socket.AF_INET, socket.AF_INET6)
#: `struct tcp_info` (linux/tcp.h): `tcpi_last_data_recv` and
#: `tcpi_last_ack_recv`, milliseconds since the host last sent data / an ACK.
_LAST_RECEIVED_OFFSET = 52
_TCP_INFO_SIZE = 104


def silent_ms(sock: socket.socket) -> int:
    """Milliseconds since the host at the other end of `sock` last sent anything.

    Raises:
        OSError: The socket is closed or is no TCP socket.
        struct.error: The kernel's `tcp_info` is too short to hold those times.
    """
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SIZE)
    data, ack = struct.unpack_from("=II", info, _LAST_RECEIVED_OFFSET)
    return min(data, ack)


class LinkWatch:
    """Reads one connection's silence every `interval` on its event loop.

    Args:
        conn: The connection (lost through asyncssh's own `connection_lost`).
        sock: Its TCP socket.
        interval: Seconds between reads.
        limit: Seconds of silence after which the link counts as dead.
    """

    def __init__(self, conn: asyncssh.SSHClientConnection, sock: socket.socket,
                 interval: float, limit: float) -> None:
        self.conn = conn
        self.sock = sock
        self.interval = interval
        self.limit_ms = limit * 1000
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Read every `interval` from now until the connection ends."""
        self._timer = self._loop.call_later(self.interval, self._check)

    def stop(self) -> None:
        """No more reads."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        if self.conn.is_closed():
            return
        try:
            silent = silent_ms(self.sock)
        except (OSError, struct.error):
            return  # closed under us: asyncssh tells the connection's end itself
        if silent >= self.limit_ms:
            # asyncssh's keepalive timeout does exactly this (Protocol.connection_lost):
            # pinned by tests/unit/test_dependency_internals.py
            self.conn.connection_lost(asyncssh.ConnectionLost(LOST_REASON))
            return
        self._timer = self._loop.call_later(self.interval, self._check)


def loss_message(reason: str | None, settings: SshSettings) -> str | None:
    """What the operator reads when a connection was lost to silence; None if it was not.

    Args:
        reason: Why asyncssh says the connection ended.
        settings: The keepalive settings the silence was measured with.
    """
    if not reason or "keepalive" not in reason.lower():
        return None
    if reason == LOST_REASON:  # the kernel's probes went unanswered: the link is down
        return f"link lost: no answer for {settings.silent_seconds:g} s (keepalives)"
    # SSH's own keepalives: a link through a jump host, or an sshd that hangs.
    return "link lost: no answer to SSH keepalives"


def watch_in_kernel(conn: asyncssh.SSHClientConnection, settings: SshSettings
                    ) -> LinkWatch | None:
    """Hand the probing of a direct connection's link to the kernel, and watch it.

    Turns TCP keepalives on for the connection's socket (probes after
    `keepalive_interval` of silence), starts a `LinkWatch` that loses the
    connection after `keepalive_interval × (keepalive_count_max + 1)` of
    silence, and slows the connection's SSH keepalives to
    `HUNG_PEER_SECONDS`. Changes nothing when keepalives are off, the
    connection has no TCP socket of its own, or the kernel refuses an option.
    Must run on the connection's event loop.

    Args:
        conn: An open connection.
        settings: The process's SSH settings.

    Returns:
        The running watch, or None when SSH keepalives stay as they were.
    """
    if settings.keepalive_interval <= 0:
        return None
    sock = conn.get_extra_info("socket")
    if sock is None or sock.family not in _TCP_FAMILIES:
        return None
    probe = max(1, math.ceil(settings.keepalive_interval))
    options = (
        (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
        (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, probe),
        (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, probe),
        (socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KERNEL_PROBES),
    )
    try:
        for level, option, value in options:
            sock.setsockopt(level, option, value)
        silent_ms(sock)
    # Another kernel, no such option, or a `tcp_info` too short: keep SSH's watch.
    except (OSError, AttributeError, struct.error):
        return None
    # Read twice per interval: a dead link shows at most half an interval late.
    watch = LinkWatch(conn, sock, settings.keepalive_interval / 2, settings.silent_seconds)
    watch.start()
    conn.set_keepalive(max(HUNG_PEER_SECONDS, settings.keepalive_interval),
                       settings.keepalive_count_max)
    return watch
