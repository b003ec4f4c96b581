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
        # remain-on-exit keeps the pane after the program ends, so its exit
        # status can be read; the program's stderr must stay on the terminal
        # (Textual draws there).
        shell = " ".join(shlex.quote(part) for part in command)
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        self._tmux(
            "new-session", "-d", "-s", self.target, "-x", str(width), "-y", str(height),
            f"exec env {exports} {shell}" if exports else f"exec {shell}",
        )
        self._tmux("set-option", "-t", self.target, "remain-on-exit", "on")

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.server, "-f", "/dev/null", *args],
            capture_output=True, text=True, timeout=10,
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
        self, check: str | Callable[[str], bool], timeout: float = 20.0, what: str = ""
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
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; screen:\n{text}")

    def exit_status(self) -> int | None:
        """The program's exit status, or None while it runs."""
        dead, status = self._tmux(
            "display-message", "-p", "-t", self.target, "#{pane_dead} #{pane_dead_status}"
        ).split(" ", 1)
        return int(status) if dead == "1" and status.strip() else None

    def close(self) -> None:
        """End the tmux server and the program in it."""
        subprocess.run(["tmux", "-L", self.server, "kill-server"], capture_output=True,
                       timeout=10)
