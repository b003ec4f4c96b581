"""Ending an exec's process, which Docker cannot do.

Docker has no call to stop an exec, and a process on a TTY outlives the
connection that started it: closing a shell pane (or killing `corral exec`)
would leave the shell, and whatever it runs, behind in the container — a
`yes` would keep burning CPU. So interactive commands run under a small
`sh` wrapper that first reports its PID in an OSC sequence (terminals
ignore unknown OSC numbers) and then `exec`s the command, which keeps the
PID, the TTY and the exit code. `PidReport` takes that report out of the
output; `terminate` hangs the process up through a second exec, and the
kernel then hangs up the job it was running in the foreground.
"""

from __future__ import annotations

import re
import time
from typing import Any

#: Start of the wrapper's report: OSC 7771 (unassigned), the PID, BEL.
PID_MARK = b"\x1b]7771;"
_PID_REPORT = re.compile(rb"\x1b\]7771;(\d+)\x07")
_REPORT = 'printf "\\033]7771;%s\\007" "$$"; '

#: Picks the default shell: bash where the image has it, else sh.
SHELL_PICK = "if command -v bash >/dev/null 2>&1; then exec bash; fi; exec sh"

#: Seconds between the hang-up and a kill, for programs that ignore SIGHUP.
KILL_GRACE = 2


def shell_argv(command: tuple[str, ...], *, report_pid: bool) -> list[str]:
    """The argv of an exec: `command`, or the default shell, maybe wrapped.

    Args:
        command: What the user asked for; empty for the default shell.
        report_pid: Run it under the PID-reporting wrapper (needs `sh`).
    """
    report = _REPORT if report_pid else ""
    if not command:
        return ["sh", "-c", report + SHELL_PICK]
    if not report_pid:
        return list(command)
    return ["sh", "-c", report + 'exec "$@"', "sh", *command]


def has_shell(client: Any, container: str) -> bool:
    """Whether `sh` runs in the container (the wrapper needs it; distroless images lack it).

    Raises:
        docker.errors.APIError: The container is missing or not running.
    """
    probe = client.api.exec_create(container, ["sh", "-c", "exit 0"], stdout=False, stderr=False)
    client.api.exec_start(probe["Id"])
    # The engine reports the exit a moment after the stream ends.
    deadline = time.monotonic() + 2.0
    while True:
        info = client.api.exec_inspect(probe["Id"])
        if not info.get("Running") or time.monotonic() > deadline:
            return info.get("ExitCode") == 0
        time.sleep(0.02)


def terminate(client: Any, container: str, pid: int) -> None:
    """Hang up process `pid` in the container, then kill it if it lingers.

    The wrapper made it the TTY's session leader: when it ends, the kernel
    sends SIGHUP to the job in the foreground too. Starts a detached exec
    and returns.
    """
    script = (
        f"kill -HUP {pid} 2>/dev/null || exit 0; "
        f"i=0; while [ $i -lt {KILL_GRACE * 4} ]; do sleep 0.25; "
        f"kill -0 {pid} 2>/dev/null || exit 0; i=$((i+1)); done; kill -KILL {pid} 2>/dev/null"
    )
    killer = client.api.exec_create(container, ["sh", "-c", script], stdout=False, stderr=False)
    client.api.exec_start(killer["Id"], detach=True)


class PidReport:
    """Takes the wrapper's PID report out of the first output of a stream."""

    def __init__(self) -> None:
        #: The process's PID in the container, once reported.
        self.pid: int | None = None
        self._head = b""
        self._done = False

    def filter(self, data: bytes) -> bytes | None:
        """Pass output through, minus the report.

        Returns:
            The bytes to show, or None while a possible report is incomplete.
        """
        if self._done:
            return data
        head = self._head + data
        match = _PID_REPORT.match(head)
        if match:
            self.pid = int(match.group(1))
            self._done, self._head = True, b""
            return head[match.end():]
        if len(head) < 32 and PID_MARK.startswith(head[: len(PID_MARK)]):
            self._head = head
            return None
        # No report (the wrapper did not run): show everything.
        self._done, self._head = True, b""
        return head

    def flush(self) -> bytes:
        """What is held back, once the stream has ended."""
        self._done, held, self._head = True, self._head, b""
        return held
