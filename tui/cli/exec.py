"""`corral exec` (a raw terminal, like `docker exec -it`) and `corral shell` (a full-screen pane).

Both reach the container through the host's SSH tunnel. TARGET is
`HOST/CONTAINER`: an inventory host name, a slash, and a container name or
id (prefix), e.g. `lab1/web-1`. A command goes after `--`; without one,
Corral starts bash if the image has it, else sh.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import signal
import sys
import termios
import tty
from typing import TYPE_CHECKING

from corral.backends.errors import BackendError, HostOffline, HostUnreachable
from corral.tui.cli.support import (
    UsageError,
    add_global_options,
    connected_fleet,
    load_configured_inventory,
    mutates,
    ssh_settings,
)

if TYPE_CHECKING:
    from corral.backends.exec import ContainerTarget, ExecStream

#: Input bytes waiting for the socket beyond which stdin is not read (pipes).
_INPUT_BACKLOG = 1024 * 1024


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `exec` and `shell` subcommands."""
    for name, summary, func in (
        ("exec", "run a command (default: a shell) in a container, in this terminal", run_exec),
        ("shell", "open a shell in a container, full screen in Corral's terminal pane", run_shell),
    ):
        parser = subparsers.add_parser(
            name,
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}. TARGET is HOST/CONTAINER: an "
            "inventory host, a slash, and a container name or id. Put the command after "
            "`--`; without one, bash if the image has it, else sh.",
        )
        add_global_options(parser, suppress=True)
        parser.add_argument("target", metavar="TARGET", help="HOST/CONTAINER, e.g. lab1/web-1")
        parser.add_argument("-u", "--user", metavar="USER", help="user (name, uid, user:group)")
        if name == "exec":
            parser.add_argument(
                "-T", "--no-tty", action="store_true",
                help="no terminal even when run from one (output keeps stdout and stderr apart)",
            )
        parser.add_argument("command", metavar="CMD", nargs="*", help="command and arguments")
        parser.set_defaults(func=func, takes_trailing_command=True)


def split_trailing_command(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """Split the command line at its first `--`.

    argparse (before Python 3.13) gives a `nargs="*"` positional its empty
    value as soon as it meets TARGET, so in `exec HOST/C -T -- CMD` the
    words after `--` found no positional left and were "unrecognized". Words
    after `--` are never options: they are the container's command, taken
    apart before argparse sees them.

    Args:
        argv: The command line without the program name.

    Returns:
        The words before `--`, and those after it (None without `--`).
    """
    if "--" not in argv:
        return argv, None
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1:]


def _target(text: str) -> ContainerTarget:
    from corral.backends.exec import parse_container_target
    try:
        return parse_container_target(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


@mutates("exec")
def run_exec(args: argparse.Namespace) -> int:
    """Run the command in the container; exit with its exit code.

    With a terminal on both stdin and stdout the container gets a TTY of the
    same size (kept in step on resize) and this terminal goes raw, as with
    `docker exec -it`. Otherwise stdout and stderr stay apart and piped
    stdin is forwarded, then closed.

    Raises:
        UsageError: TARGET is malformed.
        BackendError: The host or the engine failed (exit 1).
    """
    from corral.backends.exec import ExecRequest, ExecStream
    target = _target(args.target)
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and not args.no_tty
    with connected_fleet(args, hosts=[target.host]) as fleet, _Hangup() as hangup:
        session = fleet.session(target.host)
        if not session.online:
            raise HostOffline(session.status.error or "not connected", host=target.host)
        request = ExecRequest(
            target.container,
            tuple(args.command),
            args.user,
            tty=interactive,
            term=os.environ.get("TERM") or "xterm",
            verb="exec",
        )
        size = _terminal_size() if interactive else None
        with hangup.deferred():
            stream = ExecStream.open(session, request, size)
        ended = False
        try:
            hangup.check()
            if interactive:
                _relay_terminal(stream)
            else:
                _relay_pipes(stream, forward_stdin=not sys.stdin.isatty())
            ended = True
            if stream.connection_lost:
                raise HostUnreachable("the connection was lost", host=target.host)
            code = stream.exit_code()
        finally:
            if not ended:  # interrupted: Docker would keep the process running
                stream.terminate()
            stream.close()
    return 1 if code is None else code


class _Hangup:
    """SIGHUP and SIGTERM become an exit (128 + signal) that runs clean-ups.

    Inside `deferred()` (while the exec is being created, before there is a
    stream to clean up) a signal is only noted; `check()` raises it later.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._holding = False
        self._saved: dict = {}

    def __enter__(self) -> _Hangup:
        for sig in (signal.SIGHUP, signal.SIGTERM):
            self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: object) -> None:
        self.received = signum
        if not self._holding:
            raise SystemExit(128 + signum)

    @contextlib.contextmanager
    def deferred(self):
        """Only note signals for the duration."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def check(self) -> None:
        """Exit now if a signal arrived while deferred."""
        if self.received is not None:
            raise SystemExit(128 + self.received)


def _terminal_size() -> tuple[int, int]:
    size = os.get_terminal_size(sys.stdout.fileno())
    return size.lines, size.columns


def _relay_terminal(stream: ExecStream) -> None:
    """Copy bytes both ways with this terminal in raw mode until the stream ends."""
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    resized = False

    def on_winch(signum: int, frame: object) -> None:
        nonlocal resized
        resized = True

    saved_mode = termios.tcgetattr(stdin)
    saved_handler = signal.signal(signal.SIGWINCH, on_winch)
    tty.setraw(stdin)
    try:
        watched = [stdin, stream]
        data = stream.read(0)  # bytes already buffered by the HTTP upgrade
        while data != b"":
            if data:
                _write_all(stdout, data)
            if resized:
                resized = False
                with contextlib.suppress(BackendError):
                    stream.resize(*_terminal_size())
            ready, _, _ = select.select(watched, [], [], 0.25)
            if stdin in ready:
                typed = os.read(stdin, 4096)
                if typed:
                    stream.write(typed)
                else:  # the terminal went away; the process decides what follows
                    watched.remove(stdin)
                    stream.close_input()
            data = stream.read(0) if stream in ready else None
    finally:
        termios.tcsetattr(stdin, termios.TCSADRAIN, saved_mode)
        signal.signal(signal.SIGWINCH, saved_handler)


def _relay_pipes(stream: ExecStream, *, forward_stdin: bool) -> None:
    """Demultiplex stdout/stderr frames; forward stdin until EOF."""
    from corral.backends.exec import exec_frames
    stdin = sys.stdin.fileno()
    outputs = {1: sys.stdout.fileno(), 2: sys.stderr.fileno()}
    if not forward_stdin:
        stream.close_input()
    frames = bytearray()
    while True:
        watch = [stream]
        if forward_stdin and stream.pending_input < _INPUT_BACKLOG:
            watch.append(stdin)
        ready, _, _ = select.select(watch, [], [], 0.25)
        if stdin in ready:
            data = os.read(stdin, 65536)
            if data:
                stream.write(data)
            else:
                forward_stdin = False
                stream.close_input()
        if stream in ready:
            data = stream.read(0)
            if data == b"":
                break
            frames += data or b""
            for kind, payload in exec_frames(frames):
                _write_all(outputs.get(kind, outputs[1]), payload)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@mutates("shell")
def run_shell(args: argparse.Namespace) -> int:
    """Open the shell full screen; exit with its exit code once dismissed.

    Raises:
        UsageError: TARGET is malformed.
        UnknownHost: The host is not in the inventory (before Textual starts).
    """
    target = _target(args.target)
    inventory = load_configured_inventory(args)
    inventory.get(target.host)
    from corral.tui.console.widgets.terminal.app import ShellApp  # Textual loads only for this mode

    app = ShellApp(
        inventory, ssh_settings(args), target, command=tuple(args.command), user=args.user
    )
    app.run()
    return app.return_code or 0
