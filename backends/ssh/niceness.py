"""Stream work gives way to the UI when CPUs are short.

Log readers and the stream relay move bytes the UI then draws. Run at a
lower CPU priority, they slow down under contention instead of the UI (and
back-pressure keeps the stream whole). Linux keeps niceness per thread, and
a thread passes its own to the threads and processes it starts.
"""

from __future__ import annotations

import contextlib
import os
import threading

#: Niceness added to stream work.
NICENESS = 5


def lower_priority() -> None:
    """Lower the calling thread's CPU priority by `NICENESS` (never fails: best effort)."""
    with contextlib.suppress(OSError, AttributeError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + NICENESS)
