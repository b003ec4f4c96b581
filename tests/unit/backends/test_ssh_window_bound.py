"""A paused SSH channel buffers at most its window (corral.backends.ssh.window)."""

from __future__ import annotations

import asyncssh.channel

from corral.backends.ssh import window

WINDOW = 64 * 1024
PACKET = 1024


class Logger:
    def debug2(self, *args: object) -> None:
        pass


class SlowReader:
    """A session whose socket is full after every packet: it pauses the channel each time."""

    def __init__(self) -> None:
        self.channel: asyncssh.channel.SSHChannel | None = None
        self.received = 0

    def data_received(self, data: bytes, datatype: object) -> None:
        self.received += len(data)
        self.channel.pause_reading()


def most_buffered(deliver) -> int:
    """Run a peer that sends whatever the window allows against a reader that pauses
    after every packet; return the most bytes the channel held at once."""
    channel = object.__new__(asyncssh.channel.SSHChannel)
    peer_window = [WINDOW]

    def send_packet(pkttype: int, *args: bytes) -> None:
        peer_window[0] += int.from_bytes(args[0], "big")  # a window adjust

    reader = SlowReader()
    reader.channel = channel
    channel.__dict__.update(
        _recv_buf=[], _recv_window=WINDOW, _init_recv_window=WINDOW, _recv_paused=True,
        _recv_state="open", _send_state="open", _encoding=None, _session=reader,
        _logger=Logger(), send_packet=send_packet)
    channel._deliver_data = deliver.__get__(channel)
    most = 0
    for _ in range(500):
        while peer_window[0] >= PACKET:
            channel._accept_data(b"x" * PACKET)
            peer_window[0] -= PACKET
        most = max(most, sum(len(data) for data, _ in channel._recv_buf))
        channel.resume_reading()
    assert reader.received >= 400 * PACKET
    return most


def test_a_paused_channel_holds_no_more_than_its_window() -> None:
    window.install()
    patched = asyncssh.channel.SSHChannel._deliver_data
    assert most_buffered(patched) <= WINDOW
    window.install()
    assert asyncssh.channel.SSHChannel._deliver_data is patched


def test_unpatched_asyncssh_buffers_without_bound() -> None:
    """The bug the patch fixes: if this fails, asyncssh fixed it and the patch can go."""
    window.install()
    original = asyncssh.channel.SSHChannel._deliver_data.__wrapped__
    assert most_buffered(original) > 10 * WINDOW
