"""The signals that end Corral with its clean-ups, shared by the command line and the console.

SIGTERM and SIGHUP (a closed terminal) end a `corral` command as Ctrl-C would
(`tui/cli/ending.py`) and the console as quitting does (`FleetApp`). A signal
the process was started ignoring stays ignored: `nohup corral reconcile
--watch &` must outlive the terminal it was typed in.
"""

from __future__ import annotations

import signal

#: The signals that end Corral with its clean-ups.
ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def ending_signals() -> list[signal.Signals]:
    """The ending signals this process was not started ignoring."""
    return [sig for sig in ENDING_SIGNALS if signal.getsignal(sig) != signal.SIG_IGN]
