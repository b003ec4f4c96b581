"""The console's terminal driver: a terminal that hangs up ends the console, never hangs it.

When an SSH connection drops or a tmux server goes, the terminal hangs up:
the kernel sends SIGHUP (Corral ends, `tui/signals.py`) and SIGCONT. Textual's
driver takes that SIGCONT for a resume after Ctrl-Z and starts a second
output thread on the dead terminal. That thread dies on its first write
(EIO), and its queue holds only 30 writes: the UI thread's next writes (a
log pane in a flood draws many frames a second, shutdown writes a few more)
then block for good. The console stayed alive after its terminal closed,
holding its stream relays and tunnels, without running its clean-ups.

`CorralDriver` closes both ways in: a SIGCONT on a terminal that is gone
does not resume, and a write that fails drops the output from then on
instead of killing the thread that must keep draining the queue.
"""

from __future__ import annotations

import os
from typing import IO

from textual.drivers.linux_driver import LinuxDriver


class HangupSafeOutput:
    """The terminal's output, dropped from the first failed write on.

    Args:
        file: What Textual writes the screen to.

    Attributes:
        gone: A write or flush failed: the terminal is gone for good.
    """

    def __init__(self, file: IO[str]) -> None:
        self._file = file
        self.gone = False

    def write(self, text: str) -> int:
        """Write `text`, or drop it once the terminal is gone."""
        if not self.gone:
            try:
                return self._file.write(text)
            except OSError:
                self.gone = True
        return len(text)

    def flush(self) -> None:
        """Flush, or do nothing once the terminal is gone."""
        if not self.gone:
            try:
                self._file.flush()
            except OSError:
                self.gone = True

    def fileno(self) -> int:
        """The terminal's file descriptor."""
        return self._file.fileno()

    def isatty(self) -> bool:
        """Whether the output is still a terminal."""
        return not self.gone and self._file.isatty()


class CorralDriver(LinuxDriver):
    """Textual's Linux driver, for a terminal that may hang up at any moment."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Private Textual API: pinned by tests/unit/test_dependency_internals.py
        # (each output thread writes to the driver's `_file`).
        self._file = output = HangupSafeOutput(self._file)
        try:
            self._was_terminal = os.isatty(output.fileno())
        except (OSError, ValueError):
            self._was_terminal = False

    @property
    def terminal_gone(self) -> bool:
        """The terminal hung up: a write failed, or it is no longer a terminal."""
        output = self._file
        if output.gone:
            return True
        try:
            return self._was_terminal and not os.isatty(output.fileno())
        except (OSError, ValueError):
            return True

    def _sigcont_application(self, *args) -> None:
        # A hang-up sends SIGCONT with SIGHUP: only a live terminal resumes.
        if not self.terminal_gone:
            super()._sigcont_application(*args)
