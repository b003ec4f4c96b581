"""Ending the `corral` process without the interpreter's teardown.

A finished command has no use for the interpreter freeing every object of
asyncssh, cryptography and docker-py one by one: that teardown took ~0.2 s
of CPU after each command (≈0.6 s of wall time on a loaded two-core
machine), longer than connecting to three hosts. `leave()` does first what a
normal exit still does that matters (the same steps, in the same order:
non-daemon threads joined and thread pools told to stop, exit handlers such
as the tunnels' directory removal and logging's flush, buffered output
written), then ends the process at once. Anything unusual (output that
cannot be written, a step missing from this Python) takes the normal exit.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn


def leave(code: int) -> NoReturn:
    """Exit with `code` after the work of a normal exit, without the teardown."""
    shutdown = getattr(threading, "_shutdown", None)
    exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if shutdown is None or exit_handlers is None or threading.current_thread() \
            is not threading.main_thread():
        sys.exit(code)
    shutdown()  # joins non-daemon threads, as the interpreter does before the handlers
    exit_handlers()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: Python's own exit reports it
        sys.exit(code)
    os._exit(code)
