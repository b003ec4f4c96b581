"""A paused SSH channel grants the host only the window its reader really consumed.

asyncssh refilled the whole window on the first packet delivered after a
pause, with more packets still waiting: every pause let another window in
(a 1 GB volume copy grew the process by 550 MB). `window.install()` counts
the waiting bytes first.
"""

from __future__ import annotations

from asyncssh.channel import SSHChannel

from corral.backends.ssh import window

WINDOW = 2 * 1024 * 1024
PACKET = 32 * 1024


class FakeChannel:
    """The attributes asyncssh's `_deliver_data` reads, and the adjusts it sends."""

    def __init__(self) -> None:
        self._init_recv_window = WINDOW
        self._recv_window = 0  # the host filled the whole window
        self._recv_buf = [(b"x" * PACKET, None) for _ in range(WINDOW // PACKET - 1)]
        self._encoding = None
        self._session = None
        self.logger = type("Logger", (), {"debug2": lambda *args: None})()
        self.adjusts: list[int] = []

    def send_packet(self, kind: int, payload: bytes) -> None:
        self.adjusts.append(int.from_bytes(payload, "big"))


def test_a_resumed_channel_refills_only_what_left_the_buffer() -> None:
    window.install()
    channel = FakeChannel()
    # Resumed: the first waiting packet is delivered, the rest still waits.
    SSHChannel._deliver_data(channel, b"x" * PACKET, None)
    assert channel.adjusts == []  # 1 packet consumed of 2 MiB: no refill yet
    # Draining the buffer refills once half the window has really been consumed.
    while channel._recv_buf:
        data, _ = channel._recv_buf.pop(0)
        SSHChannel._deliver_data(channel, data, None)
    granted = sum(channel.adjusts)
    assert granted <= WINDOW  # never more than what was delivered
    # What the host may send now plus what waits never exceeds one window.
    assert channel._recv_window + sum(len(d) for d, _ in channel._recv_buf) <= WINDOW


def test_an_unpaused_channel_refills_as_before() -> None:
    window.install()
    channel = FakeChannel()
    channel._recv_buf = []
    SSHChannel._deliver_data(channel, b"x" * PACKET, None)
    assert channel.adjusts == [WINDOW]
    assert channel._recv_window == WINDOW
