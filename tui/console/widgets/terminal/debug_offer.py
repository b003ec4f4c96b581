"""What a shell pane says when it cannot open its shell, and its debug copy's lifetime.

A container in a crash loop takes no exec. The pane then says why in its
body (the whole error, wrapped, not cut off in the border) and offers a
debug shell: a copy of the container with `sh` as its entrypoint, on the
same host (`corral.backends.exec.start_debug_copy`), removed when the pane
closes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from corral.backends.errors import BackendError
from corral.backends.exec import ContainerTarget, NotRunning, remove_debug_copy
from corral.backends.ssh import Fleet

#: The key that accepts the offer.
DEBUG_KEY = "d"


def failure_text(target: ContainerTarget, reason: str, stopped: NotRunning | None,
                 debug_copy: str | None) -> str:
    """The pane body after the shell could not start.

    Args:
        target: The container the shell was for.
        reason: The error, in full.
        stopped: Why the container takes no exec, when that is known.
        debug_copy: The debug copy whose shell failed, if that is what failed.
    """
    where = f"the debug copy {debug_copy} of {target}" if debug_copy else str(target)
    lines = [f"Cannot open a shell in {where}:", reason, ""]
    if stopped is not None:
        lines += [stopped.describe(), ""]
    if stopped is not None and stopped.crash_looping and not debug_copy:
        lines += [
            f"{DEBUG_KEY}: open a debug shell — a copy of {stopped.name} on {target.host} "
            "(same image, environment, mounts and network; no ports, no restarts) with sh "
            "as its entrypoint. The copy is removed when this pane closes.",
            "Any other key closes this pane.",
        ]
    else:
        lines.append("Press a key to close this pane.")
    return "\n".join(lines)


def remove_copy_after(reader: threading.Thread | None, fleet: Fleet, host: str,
                      take_copy: Callable[[], str | None]) -> None:
    """Remove the pane's debug copy once its reader thread is done (blocking).

    Runs on a thread of its own when the pane closes: the reader may still be
    starting the copy, so it is waited for first.

    Args:
        reader: The pane's reader thread, if any.
        fleet: The fleet.
        host: The copy's host.
        take_copy: Returns the copy's name (once) and forgets it.
    """
    if reader is not None:
        reader.join()
    copy = take_copy()
    if copy is None:
        return
    with contextlib.suppress(BackendError):  # the host went away: the label names it
        remove_debug_copy(fleet.session(host), copy)
