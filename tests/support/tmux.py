"""A real terminal for a full-screen program: tmux on a private server.

The program runs in a detached tmux session of a fixed size; tests type into
it with `send-keys` and read what a person would see with `capture-pane`.
Every terminal gets its own tmux server (`-L`), so nothing here can touch a
user's sessions, and closing it ends exactly that server.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence


def tmux_available() -> bool:
    """Whether the `tmux` command exists."""
    return shutil.which("tmux") is not None


class TmuxTerminal:
    """One program in a detached tmux session.

    Args:
        command: The program and its arguments.
        width: Columns.
        height: Rows.
        env: Extra environment for the program.
    """

    def __init__(
        self, command: Sequence[str], width: int = 160, height: int = 45,
        env: dict[str, str] | None = None,
    ):
        self.server = f"corral-{os.getpid()}-{time.monotonic_ns()}"
        self.target = "main"
        # The shell prints the exit status after the program ends (tmux's own
        # pane_dead_status is sometimes left empty), and remain-on-exit keeps
        # the pane to read it. The program's stderr stays on the terminal:
        # Textual draws there.
        program = " ".join(shlex.quote(part) for part in command)
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        self._tmux(
            "new-session", "-d", "-s", self.target, "-x", str(width), "-y", str(height),
            f"env {exports} {program}; printf '\\n[exit status %d]\\n' $?",
        )
        self._tmux("set-option", "-t", self.target, "remain-on-exit", "on")
        # An Escape followed within tmux's escape-time by another key reaches the
        # program as Alt+key: send each key as typed.
        self._tmux("set-option", "-s", "escape-time", "0")

    def _tmux(self, *args: str) -> str:
        # An explicit environment: some libraries setenv COLUMNS/LINES behind
        # os.environ's back (seen under pytest), and a program that inherits
        # them believes the terminal is 80x24 whatever its real size.
        environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        done = subprocess.run(
            ["tmux", "-L", self.server, "-f", "/dev/null", *args],
            capture_output=True, text=True, timeout=10, env=environment,
        )
        if done.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    def screen(self) -> str:
        """The visible screen as text, one line per row."""
        return self._tmux("capture-pane", "-p", "-t", self.target)

    def keys(self, *keys: str) -> None:
        """Press keys by tmux name (`Enter`, `Escape`, `C-d`…)."""
        self._tmux("send-keys", "-t", self.target, *keys)

    def type(self, text: str) -> None:
        """Type `text` literally."""
        self._tmux("send-keys", "-t", self.target, "-l", text)

    def wait_for(
        self, check: str | Callable[[str], bool], timeout: float = 20.0, what: str = "",
        interval: float = 0.05,
    ) -> str:
        """Poll the screen until it contains `check` (text or regex) or `check(screen)` holds.

        Returns:
            The screen that satisfied it.

        Raises:
            AssertionError: Not within `timeout` seconds; the message shows the last screen.
        """
        if isinstance(check, str):
            what = what or check
            predicate = re.compile(check).search
        else:
            predicate = check
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; screen:\n{text}")

    def pane_pid(self) -> int:
        """The process id of the pane's shell (the program is its child)."""
        return int(self._tmux("display-message", "-p", "-t", self.target, "#{pane_pid}"))

    def exit_status(self) -> int | None:
        """The program's exit status, or None while it runs."""
        found = re.search(r"\[exit status (\d+)\]", self.screen())
        return int(found.group(1)) if found else None

    def close(self) -> None:
        """End the tmux server and the program in it."""
        subprocess.run(["tmux", "-L", self.server, "kill-server"], capture_output=True,
                       timeout=10)
