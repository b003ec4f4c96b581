"""Messages that cross from the backend thread into the console."""

from __future__ import annotations

from textual.message import Message

from corral.backends.ssh import HostStatus


class HostStatusChanged(Message):
    """A host went connecting, online or offline."""

    def __init__(self, status: HostStatus):
        super().__init__()
        self.status = status
