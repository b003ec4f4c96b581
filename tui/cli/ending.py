"""Ending `corral` on SIGTERM or SIGHUP the way Ctrl-C would: clean-ups run.

By default both signals kill the process on the spot, leaving the private
tunnel directories (and the stream relays' ones) behind in the runtime
directory. Here the first of them becomes `SystemExit(128 + signal)` in the
main thread, so every `finally` and context manager on the way out runs
(the fleet closes its sessions, each tunnel removes its directory). A second
signal while those clean-ups run is ignored: interrupting them is what left
the directories behind. The console handles the same signals inside its
event loop (`FleetApp`), so Textual restores the terminal first. A signal the
process was started ignoring (`nohup`) stays ignored (`tui/signals.py`).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

from corral.tui.signals import ending_signals


@contextlib.contextmanager
def ending_on_signals() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise `SystemExit(128 + signal)` once.

    Outside the main thread (where Python cannot set handlers) nothing changes,
    nor for a signal the process was started ignoring (`ending_signals`).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handle(signum: int, frame: object) -> None:
        if received:
            return  # already ending: let the clean-ups finish
        received.append(signum)
        with contextlib.suppress(OSError, ValueError):  # the terminal may be gone (SIGHUP)
            print(f"corral: {signal.Signals(signum).name}: closing", file=sys.stderr)
        raise SystemExit(128 + signum)

    saved = {sig: signal.signal(sig, handle) for sig in ending_signals()}
    try:
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)
