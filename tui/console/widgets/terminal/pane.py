"""A shell pane: a terminal attached to `docker exec` in one container of one host.

The pane owns the exec's lifetime: it opens it once the terminal knows its
size (and the host is online), relays resizes, and reports the end — the
exit code, or a lost connection — in its border, then closes on a key.

Threads: one reader thread per pane opens the exec, moves output into the
terminal's queue and asks for the exit code at the end. It is a plain
daemon thread rather than a Textual thread worker because it lives as long
as the shell, and Textual's thread workers share the event loop's default
executor (a handful of threads): a few open shells would starve every other
worker. Resizes are short calls and do use thread workers. Neither touches
a widget: they post messages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
import weakref
from collections.abc import Callable, Sequence

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.message import Message
from textual.widgets import Static

from corral.backends import guard
from corral.backends.errors import BackendError
from corral.backends.exec import (
    ContainerTarget,
    ExecRequest,
    ExecStream,
    NotRunning,
    not_running,
    parse_container_target,
    start_debug_copy,
)
from corral.backends.ssh import Fleet, HostSession, HostState, HostStatus
from corral.tui.console.widgets.terminal.debug_offer import (
    DEBUG_KEY,
    failure_text,
    remove_copy_after,
)
from corral.tui.console.widgets.terminal.io import LatestSize, StreamHolder, read_waiting
from corral.tui.console.widgets.terminal.view import TerminalView

#: Seconds to wait for the host to come online before giving up.
ONLINE_WAIT = 20.0
#: Seconds between checks of the stop flag while no output arrives.
READ_TICK = 0.25
#: Seconds between reads while the screen is behind a flood (one frame),
#: and while draining a flood's backlog after a keystroke.
FLOOD_READ_GAP = 1 / 30
DRAIN_READ_GAP = 0.002

Opener = Callable[[HostSession, ExecRequest, tuple[int, int]], ExecStream]


class ShellPane(Vertical):
    """An interactive shell (or command) in a container, in a bordered pane.

    Args:
        fleet: The fleet whose session reaches the host.
        target: `HOST/CONTAINER`, or a parsed target.
        command: The command to run; empty for the default shell (bash if
            the image has it, else sh).
        user: User to run as; None for the image's.
        opener: Opens the exec (tests substitute a fake).
        name: Widget name.
        id: Widget id.
        classes: CSS classes.
    """

    DEFAULT_CSS = """
    ShellPane {
        height: 1fr;
        width: 1fr;
        border: round $panel-lighten-2;
        border-title-color: $foreground;
        border-subtitle-color: $foreground-muted;
    }
    ShellPane:focus-within { border: round $accent; }
    ShellPane.-ended { border: round $warning; border-subtitle-color: $warning; }
    ShellPane.-lost { border: round $error; border-subtitle-color: $error; }
    ShellPane > #shell-waiting {
        dock: bottom; height: 1; display: none; padding: 0 1;
        background: $warning-muted; color: $text;
    }
    ShellPane.-waiting > #shell-waiting { display: block; }
    ShellPane > #shell-failure { display: none; dock: top; height: auto; padding: 1 2; }
    ShellPane.-failed > #shell-failure { display: block; }
    """

    #: Inside the console's pane, the frame takes the focus when ctrl+] leaves
    #: the terminal (see `Pane`): the pane's keys then work.
    FRAME_FOCUS = True

    BINDINGS = [
        Binding(DEBUG_KEY, "debug_shell", "Debug shell", id="shell.debug",
                tooltip="The container takes no shell (crash loop): open one in a copy of it "
                "with sh as its entrypoint, removed when the pane closes"),
    ]

    class Ended(Message):
        """The shell's process exited or its host connection was lost.

        Attributes:
            pane: The pane.
            exit_code: The process's exit code; None if it is unknown.
            lost: True if the connection to the host dropped.
            reason: What the pane's border says.
        """

        def __init__(self, pane: ShellPane, exit_code: int | None, lost: bool, reason: str):
            super().__init__()
            self.pane = pane
            self.exit_code = exit_code
            self.lost = lost
            self.reason = reason

    class Closed(Message):
        """The user dismissed an ended pane: the parent should remove it.

        Attributes:
            pane: The pane.
            exit_code: The process's exit code; None if it is unknown.
        """

        def __init__(self, pane: ShellPane, exit_code: int | None):
            super().__init__()
            self.pane = pane
            self.exit_code = exit_code

    class _Finished(Message, bubble=False):
        def __init__(self, exit_code: int | None, lost: bool, reason: str,
                     *, opened: bool = True, stopped: NotRunning | None = None):
            super().__init__()
            self.exit_code = exit_code
            self.lost = lost
            self.reason = reason
            self.opened = opened
            self.stopped = stopped

    class _DebugCopyStarted(Message, bubble=False):
        def __init__(self, copy: str):
            super().__init__()
            self.copy = copy

    class _Started(Message, bubble=False):
        pass

    class _HostChanged(Message, bubble=False):
        def __init__(self, status: HostStatus):
            super().__init__()
            self.status = status

    def __init__(
        self,
        fleet: Fleet,
        target: ContainerTarget | str,
        *,
        command: Sequence[str] = (),
        user: str | None = None,
        opener: Opener | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ):
        super().__init__(name=name, id=id, classes=classes)
        self.fleet = fleet
        self.target = parse_container_target(target) if isinstance(target, str) else target
        self.request = ExecRequest(self.target.container, tuple(command), user, verb="shell")
        self._opener: Opener = opener or ExecStream.open
        self._stream = StreamHolder()
        self._stop = threading.Event()
        self._view = TerminalView()
        self._reader: threading.Thread | None = None
        self._exec_size = LatestSize()
        #: The process's exit code, once it has ended.
        self.exit_code: int | None = None
        #: Whether the shell has ended (exited, lost, or never started).
        self.ended = False
        #: Why the host is refused (its key changed), once it is: a hard stop.
        self.key_refused: str | None = None
        self.lost = False
        #: Whether the pane's host is down (offline, or retrying after a failure).
        self.host_down = False
        self._ending = ""
        #: Why the container takes no exec, when opening failed for that.
        self.stopped: NotRunning | None = None
        #: The debug copy this pane's shell runs in, once started.
        self.debug_copy: str | None = None
        self._debugging = False
        self._copy_lock = threading.Lock()
        who = f" as {user}" if user else ""
        self.border_title = f"{self.target} · {self.request.title}{who}"

    @property
    def view(self) -> TerminalView:
        """The terminal inside the pane."""
        return self._view

    def compose(self) -> ComposeResult:
        yield self._view
        # Inside the pane, not only in its border (which a narrow pane cuts).
        yield Static(id="shell-waiting")
        # The engine's own words, brackets and all: never read as markup.
        yield Static(id="shell-failure", markup=False)

    def focus(self, scroll_visible: bool = True) -> ShellPane:
        """Focus the terminal inside (the pane itself takes no keys)."""
        self._view.focus(scroll_visible)
        return self

    def on_mount(self) -> None:
        self.view.writer = self._stream.write
        self.border_subtitle = f"connecting to {self.target.host}…"
        try:
            session = self.fleet.session(self.target.host)
        except BackendError as exc:
            self._finish(None, False, str(exc))
            return
        session.add_listener(_host_listener(self))
        self.host_status_changed(session.status)

    def host_status_changed(self, status: HostStatus) -> None:
        """Say "waiting for HOST" while the pane's host is down (other hosts are ignored)."""
        if status.name != self.target.host:
            return
        if status.key_changed:
            # A hard stop: the shell ends now, naming the host, and nothing
            # waits for the host to come back.
            self.key_refused = f"HOST KEY CHANGED: {self.target.host}: {status.error}"
            self.host_down = False
            self._stream.close()
            if self.ended:  # lost with the connection before the key was seen
                self.lost, self._ending = False, self.key_refused
                self.remove_class("-lost")
                self.add_class("-ended")
            else:
                self._finish(None, False, self.key_refused)
            self._show_state()
            return
        self.host_down = _is_down(status)
        self._show_state()

    def _show_state(self) -> None:
        host = self.target.host
        waiting = self.host_down and (self.lost or self._stream.stream is None)
        if self.ended:
            # The reason is the engine's or the host's words: never read as markup.
            ending = escape(self._ending)
            if not self.lost:
                subtitle = ending
            elif self.host_down:
                subtitle = f"waiting for {host}… · {ending}"
            else:
                subtitle = f"{ending} · {host} is back"
            self.border_subtitle = f"{subtitle} — press a key to close"
        elif self._stream.stream is None:
            self.border_subtitle = (f"waiting for {host}…" if waiting
                                    else f"connecting to {host}…")
        self.set_class(waiting, "-waiting")
        if waiting:
            what = " (the shell ended with the connection)" if self.ended else ""
            self.query_one("#shell-waiting", Static).update(f"◌ waiting for {host}{what}")

    def on_terminal_view_resized(self, message: TerminalView.Resized) -> None:
        message.stop()
        size = (message.rows, message.columns)
        if self.ended:
            return
        self._exec_size.want(size)
        if self._reader is None:
            self._exec_size.applied(size)  # the exec opens at this size
            self._start_reader(size)
        else:
            self._resize_exec()

    def _start_reader(self, size: tuple[int, int]) -> None:
        self._reader = threading.Thread(
            target=self._run,
            args=(self.fleet, self.view, size),
            name=f"corral-shell-{self.target}",
            daemon=True,
        )
        _readers.add(self._reader)
        self._reader.start()

    def _resize_exec(self) -> None:
        stream = self._stream.stream
        size = self._exec_size.claim() if stream is not None else None
        if size is not None:
            self._apply_size(stream, size)

    @work(thread=True, group="shell-resize")
    def _apply_size(self, stream: ExecStream, size: tuple[int, int]) -> None:
        # One of these runs at a time (see LatestSize), so the last size
        # asked for is the one the exec ends up with.
        while size is not None:
            # If the exec ended or the host dropped, the reader reports it.
            with contextlib.suppress(BackendError):
                stream.resize(*size)
            size = self._exec_size.applied(size)

    def _run(self, fleet: Fleet, view: TerminalView, size: tuple[int, int]) -> None:
        """The reader thread: open the exec, pump its output, report its end."""
        try:
            self._pump(fleet, view, size)
        finally:
            _readers.discard(threading.current_thread())

    def _pump(self, fleet: Fleet, view: TerminalView, size: tuple[int, int]) -> None:
        host = self.target.host
        session = fleet.session(host)
        deadline = time.monotonic() + ONLINE_WAIT
        while not session.online and time.monotonic() < deadline and not self._stop.is_set():
            time.sleep(0.05)
        if self._stop.is_set():
            return
        if not session.online:
            reason = session.status.error or session.status.state.value
            self.post_message(self._Finished(None, True, f"{host} is offline ({reason})"))
            return
        try:
            if self._debugging and self.debug_copy is None:
                self.debug_copy = start_debug_copy(session, self.target.container)
                self.request = dataclasses.replace(self.request, container=self.debug_copy)
                self.post_message(self._DebugCopyStarted(self.debug_copy))
                if self._stop.is_set():
                    return
            stream = self._opener(session, self.request, size)
        except BackendError as exc:
            stopped = None
            if not self._debugging:
                with contextlib.suppress(BackendError):
                    stopped = not_running(session, self.target.container)
            self.post_message(self._Finished(None, False, exc.message, opened=False,
                                             stopped=stopped))
            return
        self._stream.stream = stream
        self.post_message(self._Started())
        output = view.output
        ended = False
        while not self._stop.is_set() and not ended:
            data = stream.read(READ_TICK)
            if data is None:
                continue
            if not data:
                break
            if output.flooding:
                data, ended = read_waiting(stream, data)
            if output.put(data):
                view.post_message(TerminalView.Wake())
            if output.flooding:
                # Reading once a frame lets every buffer on the way fill, so
                # the flood arrives in fewer, larger pieces: far less work
                # for the SSH layer on the backend thread, which shares the
                # GIL with the UI. Right after a keystroke (Ctrl-C) the
                # backlog is drained fast, still in pieces of some size.
                time.sleep(FLOOD_READ_GAP if output.throttled else DRAIN_READ_GAP)
        if self._stop.is_set():
            # The pane went away with the process still running: Docker
            # would keep it (and whatever it runs) alive, so end it.
            stream.terminate()
            stream.close()
            return
        self.post_message(self._Finished(*_ending(stream, host)))

    @on(_Started)
    def _started(self) -> None:
        self.border_subtitle = None
        self._resize_exec()

    @on(_HostChanged)
    def _host_changed(self, message: _HostChanged) -> None:
        if not self.ended and message.status.state is not HostState.ONLINE:
            # The tunnel under the exec is gone: make sure the reader notices
            # now, whatever state the half-dead socket is in.
            self._stream.close()
        self.host_status_changed(message.status)

    @on(_DebugCopyStarted)
    def _debug_copy_started(self, message: _DebugCopyStarted) -> None:
        self.border_title = f"{self.target} · DEBUG COPY {message.copy} · sh"
        self.border_subtitle = f"opening a shell in {message.copy}…"

    @on(_Finished)
    def _finished(self, message: _Finished) -> None:
        if not message.opened:
            self.stopped = message.stopped
            failure = failure_text(self.target, message.reason, message.stopped,
                                   self.debug_copy)
            self.query_one("#shell-failure", Static).update(failure)
            self.add_class("-failed")
        self._finish(message.exit_code, message.lost, message.reason)
        if not message.opened:  # the whole reason is in the body
            offer = self._debug_offered
            self.border_subtitle = (f"{DEBUG_KEY}: debug shell · any other key closes"
                                    if offer else "press a key to close")

    @property
    def _debug_offered(self) -> bool:
        stopped = self.stopped
        # A debug copy is a new container: never offered when read-only.
        readonly = self.fleet.readonly or guard.readonly_reason() is not None
        return (stopped is not None and stopped.crash_looping and self.ended
                and not self._debugging and not readonly)

    def _open_debug_shell(self) -> None:
        """Start over in a debug copy of the container (the reader starts it)."""
        self._debugging = True
        self.ended = False
        self.remove_class("-failed", "-ended", "-lost")
        self.view.accepts_input = True
        self.border_subtitle = f"starting a debug copy of {self.stopped.name}…"
        self.view.focus()
        size = (max(1, self.view.size.height), max(1, self.view.size.width))
        self._exec_size.applied(size)
        self._start_reader(size)

    def _finish(self, exit_code: int | None, lost: bool, reason: str) -> None:
        if self.ended:
            return
        self.ended = True
        self.lost = lost
        self.exit_code = exit_code
        self.add_class("-lost" if lost else "-ended")
        self._ending = reason
        self._show_state()
        self.view.accepts_input = False
        self.post_message(self.Ended(self, exit_code, lost, reason))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "debug_shell":
            return self._debug_offered
        return True

    def action_debug_shell(self) -> None:
        """Open the offered debug shell."""
        if self._debug_offered:
            self._open_debug_shell()

    def on_key(self, event: events.Key) -> None:
        if self.ended:
            active = self.screen.active_bindings.get(event.key)
            if active is not None and active.binding.action == "debug_shell":
                return  # the binding takes it (under whatever key the keymap gives it)
            event.stop()
            event.prevent_default()
            self.post_message(self.Closed(self, self.exit_code))

    def on_unmount(self) -> None:
        self.close()

    def close(self) -> None:
        """End the reader thread, which then ends the process if it still runs.

        Returns at once; an app about to close its fleet should first call
        `wait_for_shells` so that the hang-up still has a tunnel to go by.
        """
        self._stop.set()
        self.view.output.close()
        if self._reader is None:
            self._stream.close()
        # Otherwise the reader closes the stream itself within READ_TICK,
        # after reading what `terminate` may still need from it.
        if self._debugging:  # the copy goes with the pane, after the reader
            remover = threading.Thread(
                target=self._remove_copy, args=(self._reader,),
                name=f"corral-debug-copy-{self.target}", daemon=True,
            )
            _readers.add(remover)  # `wait_for_shells` waits for the removal too
            remover.start()

    def _remove_copy(self, reader: threading.Thread | None) -> None:
        try:
            remove_copy_after(reader, self.fleet, self.target.host, self._take_copy)
        finally:
            _readers.discard(threading.current_thread())

    def _take_copy(self) -> str | None:
        with self._copy_lock:
            copy, self.debug_copy = self.debug_copy, None
        return copy


#: Reader threads still running (they remove themselves when done).
_readers: set[threading.Thread] = set()


def wait_for_shells(timeout: float = 5.0) -> bool:
    """Wait for closed shell panes to finish ending their processes (blocking).

    Docker keeps a TTY exec's process running after its connection closes,
    so a closed pane hangs it up through the engine; an app must let that
    happen before it closes the fleet's tunnels.

    Returns:
        True if every reader thread finished within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    for reader in list(_readers):
        reader.join(max(0.0, deadline - time.monotonic()))
    return not _readers


def _ending(stream: ExecStream, host: str) -> tuple[int | None, bool, str]:
    """How an exec ended: exit code, whether the link dropped, and a line saying so."""
    lost = stream.connection_lost
    code = None
    if not lost:
        try:
            code = stream.exit_code()
        except BackendError:
            lost = True
    stream.close()
    if lost:
        return None, True, f"connection to {host} lost"
    if code is None:
        return None, False, "the exec ended"
    return code, False, f"exited with code {code}"


def _is_down(status: HostStatus) -> bool:
    """Offline, or connecting again after a failure (not a first connect)."""
    return status.state is HostState.OFFLINE or (
        status.state is HostState.CONNECTING and status.error is not None
    )


def _host_listener(pane: ShellPane) -> Callable[[HostStatus], None]:
    """A session listener that tells the pane when its host goes down or comes back.

    It holds the pane weakly and goes quiet once the pane is gone, since
    sessions keep their listeners for their whole life.
    """
    ref = weakref.ref(pane)

    def listener(status: HostStatus) -> None:  # on the backend loop
        target = ref()
        if target is not None:
            target.post_message(ShellPane._HostChanged(status))

    return listener
