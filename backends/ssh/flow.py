"""Bound what an SSH channel buffers while its reader is paused (a fix to asyncssh).

asyncssh documents that a channel whose reading is paused buffers incoming data
"up to the configured SSH channel window size". It does not: when reading
resumes, delivering the first buffered packet restores the *whole* window
while the rest of the buffer is still undelivered; if the reader pauses again
at once (its socket is full), the server may send another window's worth, and
so on at every pause. A stream read more slowly than its source arrives — an
image pushed from one host to another, where the upload sets the pace — then
piles up in memory: 130 MB of Corral's memory for a 300 MB layer in the lab.

`bound_channel_buffers` makes the window adjustment count the bytes still
buffered, so a channel never holds more than its window.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncssh.channel

log = logging.getLogger(__name__)

_PATCHED = "_corral_bounded"


def bound_channel_buffers() -> bool:
    """Patch asyncssh's channels once per process (idempotent).

    Returns:
        Whether the fix is in place (False if this asyncssh's channel no longer
        has the internals it adjusts; it is then left alone).
    """
    channel = asyncssh.channel.SSHChannel
    original = getattr(channel, "_deliver_data", None)
    if original is None:
        log.warning("asyncssh's SSHChannel has no _deliver_data: channel buffers unbounded")
        return False
    if getattr(original, _PATCHED, False):
        return True

    def _deliver_data(self: Any, data: bytes, datatype: Any) -> None:
        buffered = sum(len(item) for item, _ in getattr(self, "_recv_buf", ()))
        # Seen as received-but-not-consumed, the buffered bytes stay out of the window.
        self._recv_window += buffered
        try:
            original(self, data, datatype)
        finally:
            self._recv_window -= buffered

    setattr(_deliver_data, _PATCHED, True)
    _deliver_data.__wrapped__ = original  # type: ignore[attr-defined]
    channel._deliver_data = _deliver_data
    return True
