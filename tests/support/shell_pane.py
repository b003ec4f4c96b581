"""Shell panes in tests: a fake exec and fleet, and typing into a busybox shell.

`FakeStream`, `FakeSession` and `FakeFleet` stand in for the exec stream and the
fleet, so a `ShellPane` runs without a host; shared by
`tests/unit/tui/console/test_terminal_pane.py` and the shell-pane snapshot.
`cursor_row`, `prompt_ready` and `run` drive a real busybox shell on the lab;
shared by `tests/labtests/test_shell.py` and `test_console_panes.py`.
"""

from __future__ import annotations

import queue
from types import SimpleNamespace

from corral.backends.errors import NotFound, UnknownHost
from corral.backends.ssh.session import HostState, HostStatus
from corral.tui.console.widgets.terminal.pane import ShellPane
from tests.support.pilot import until


class FakeStream:
    """Stands in for `ExecStream`: output the test scripts, input it records."""

    def __init__(self, output: list[bytes] = (), exit_code: int = 0):
        self.output: queue.Queue[bytes] = queue.Queue()
        for chunk in output:
            self.output.put(chunk)
        self.sent: list[bytes] = []
        self.sizes: list[tuple[int, int]] = []
        self.code = exit_code
        self.connection_lost = False
        self.closed = False
        self.terminated = False

    def read(self, timeout: float | None) -> bytes | None:
        try:
            return self.output.get(timeout=timeout)
        except queue.Empty:
            return None

    def write(self, data: bytes) -> bool:
        self.sent.append(data)
        return True

    def resize(self, rows: int, columns: int) -> None:
        self.sizes.append((rows, columns))

    def exit_code(self, wait: float = 2.0) -> int | None:
        return self.code

    def end(self, exit_code: int) -> None:
        """The process exits."""
        self.code = exit_code
        self.output.put(b"")

    def terminate(self) -> None:
        self.terminated = True

    def close(self) -> None:
        self.closed = True
        self.output.put(b"")


class FakeSession:
    """Stands in for a `HostSession`: always online, keeps the listeners it is given."""

    def __init__(self, name: str):
        self.name = name
        self.online = True
        self.readonly = False
        self.status = HostStatus(name, HostState.ONLINE, None, 0.0, "forward")
        self.listeners = []

    def add_listener(self, listener) -> None:
        self.listeners.append(listener)

    #: Stands in for the docker client's low-level API in `call` (None: no engine).
    api = None

    def call(self, method, *args, **kwargs):
        """Run a docker-py call against `api`; without one, nothing is found."""
        if self.api is None:
            raise NotFound("No such container", host=self.name)
        return method(SimpleNamespace(api=self.api), *args, **kwargs)


class FakeFleet:
    """Stands in for `Fleet`: a `FakeSession` per name, `UnknownHost` for any other."""

    def __init__(self, *names: str, readonly: bool = False):
        self.sessions = {name: FakeSession(name) for name in names}
        self.readonly = readonly

    def session(self, name: str) -> FakeSession:
        if name not in self.sessions:
            raise UnknownHost(f"no host named {name!r} in the inventory")
        return self.sessions[name]


def cursor_row(pane: ShellPane) -> str:
    """The terminal row the cursor is on, as shown."""
    return pane.view.screen_lines()[pane.view.terminal.cursor.y]


def prompt_ready(pane: ShellPane) -> bool:
    """The busybox prompt is on the cursor's row and the shell is waiting for input."""
    return cursor_row(pane).startswith("/ #") and not pane.view.busy


async def run(pilot, pane: ShellPane, command: str, expect: str, timeout: float = 10) -> None:
    """Type `command`, Enter, and wait until a row reads `expect` and the prompt is back."""
    pane.view.focus()
    await pilot.press(*command, "enter")
    await until(
        pilot,
        lambda: expect in pane.view.screen_lines() and prompt_ready(pane),
        f"{expect!r} after {command!r}", timeout=timeout,
    )
