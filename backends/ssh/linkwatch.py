"""Who notices a dead link: the kernel's TCP keepalives, not a Python timer.

An idle console holds one SSH connection per host. With asyncssh's own
keepalives at the 1 s an on-call engineer needs (see `settings`), every
silent host costs a request, a reply, two packet encryptions and timer work in
Corral's event loop each second: at 20 hosts that was about half of an idle
console's CPU. The kernel can watch a direct TCP connection for free: probes
after `keepalive_interval` of silence, `keepalive_count_max` of them, and
`TCP_USER_TIMEOUT` for data left unacknowledged. A link that drops is then
noticed as soon as before (interval × (count + 1)), with no wake-up in Corral.

What the kernel cannot see is a host whose TCP stack answers while its sshd
hangs (stopped, swapped out): SSH keepalives still catch that, every
`HUNG_PEER_SECONDS`. Connections not over a plain TCP socket (through a jump
host or a ProxyCommand) keep SSH keepalives at the configured interval.
"""

from __future__ import annotations

import errno
import math
import socket
from typing import TYPE_CHECKING

from corral.backends.ssh.settings import SshSettings

if TYPE_CHECKING:
    import asyncssh

#: SSH keepalives on a kernel-watched connection: only for a peer that hangs
#: without its kernel noticing, so a slower interval (about a minute to notice).
HUNG_PEER_SECONDS = 15.0
_TCP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def watch_in_kernel(conn: asyncssh.SSHClientConnection, settings: SshSettings) -> bool:
    """Hand the watch of a direct connection's link to the kernel.

    Sets TCP keepalives and a user timeout on the connection's socket from
    the keepalive settings, then slows the connection's SSH keepalives to
    `HUNG_PEER_SECONDS`. Changes nothing when keepalives are off, the
    connection has no TCP socket of its own, or the kernel refuses an option.

    Args:
        conn: An open connection.
        settings: The process's SSH settings.

    Returns:
        Whether the kernel now watches the link.
    """
    if settings.keepalive_interval <= 0:
        return False
    sock = conn.get_extra_info("socket")
    if sock is None or sock.family not in _TCP_FAMILIES:
        return False
    probe = max(1, math.ceil(settings.keepalive_interval))
    options = (
        (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
        (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, probe),
        (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, probe),
        (socket.IPPROTO_TCP, socket.TCP_KEEPCNT, settings.keepalive_count_max),
        (socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, round(settings.silent_seconds * 1000)),
    )
    try:
        for level, option, value in options:
            sock.setsockopt(level, option, value)
    except (OSError, AttributeError):  # another kernel, or no such option: keep SSH's watch
        return False
    conn.set_keepalive(max(HUNG_PEER_SECONDS, settings.keepalive_interval),
                       settings.keepalive_count_max)
    return True


def went_silent(exc: BaseException | None) -> bool:
    """Whether a connection ended because the host stopped answering.

    Either SSH keepalives went unanswered, or the kernel's TCP keepalives or
    user timeout did (the socket's error is then ETIMEDOUT).
    """
    if isinstance(exc, OSError) and exc.errno == errno.ETIMEDOUT:
        return True
    reason = getattr(exc, "reason", None) or (str(exc) if exc is not None else "")
    return "keepalive" in reason.lower()
