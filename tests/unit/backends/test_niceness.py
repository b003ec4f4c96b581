"""Stream threads give way to the UI: their niceness is raised, the caller's is not."""

from __future__ import annotations

import os
import threading

from corral.backends.ssh.niceness import NICENESS, lower_priority


def test_lower_priority_applies_to_the_calling_thread_only() -> None:
    main = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: dict[str, int] = {}

    def stream_thread() -> None:
        tid = threading.get_native_id()
        before = os.getpriority(os.PRIO_PROCESS, tid)
        lower_priority()
        seen["before"], seen["after"] = before, os.getpriority(os.PRIO_PROCESS, tid)

    thread = threading.Thread(target=stream_thread)
    thread.start()
    thread.join()
    assert seen["after"] == min(19, seen["before"] + NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main
