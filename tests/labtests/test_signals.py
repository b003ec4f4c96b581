"""SIGTERM and SIGHUP end `corral` with its clean-ups (issue 16, item 7).

Killed by either signal, Corral used to leave its private tunnel directories
(`corral-HOST-*`, one per host and per stream relay) in the runtime
directory. Each test points `XDG_RUNTIME_DIR` at a directory of its own,
waits until the tunnels exist, sends the signal and checks that the process
ends and every directory is gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.lab import Lab
from tests.support.lab_cli import engine, running_fleet
from tests.support.waits import wait_until
from tests.support.workloads import BUSYBOX, remove_workload, run

pytestmark = pytest.mark.lab

WORKLOAD = f"signals-{os.getpid()}"
FLOOD = f"signals-flood-{os.getpid()}"


@pytest.fixture(scope="module")
def talker(lab: Lab) -> Iterator[str]:
    """A container on lab1 printing a line a second; yields its `host/name` target."""
    name = f"sig-talker-{os.getpid()}"
    run(engine(lab.hosts[0].socket), WORKLOAD, name, BUSYBOX,
        command=["sh", "-c", "while true; do date; sleep 1; done"])
    yield f"{lab.hosts[0].name}/{name}"
    remove_workload([lab.hosts[0].socket], WORKLOAD)


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    # Short on purpose: Corral uses $XDG_RUNTIME_DIR only below 40 characters.
    path = Path(tempfile.mkdtemp(prefix="crs-", dir="/tmp"))
    path.chmod(0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def tunnels(runtime: Path) -> list[str]:
    return sorted(p.name for p in runtime.iterdir() if p.name.startswith("corral-"))


def corral_env(runtime: Path, home: Path) -> dict[str, str]:
    return dict(os.environ, XDG_RUNTIME_DIR=str(runtime), XDG_CONFIG_HOME=str(home),
                CORRAL_CONFIG="", TERM="xterm-256color")


def ended(process: subprocess.Popen, timeout: float = 20.0) -> int:
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError("corral did not end after the signal") from None


def follow_logs(lab: Lab, talker: str, runtime_dir: Path, home: Path) -> subprocess.Popen:
    """`corral logs -f` of the talker, in a session of its own, its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "corral.tui.cli.main", *lab.corral_args(), "logs", talker,
         "-f", "--tail", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        env=corral_env(runtime_dir, home), start_new_session=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_logs_follow_cleans_its_tunnel_on(sig: signal.Signals, lab: Lab, talker: str,
                                          runtime_dir: Path, tmp_path: Path) -> None:
    process = follow_logs(lab, talker, runtime_dir, tmp_path)
    try:
        assert process.stdout is not None
        process.stdout.readline()  # a log line: the tunnel is up and streaming
        assert tunnels(runtime_dir), "no tunnel directory while following"
        process.send_signal(sig)
        code = ended(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = process.stderr.read().decode() if process.stderr else ""
    assert tunnels(runtime_dir) == [], "tunnel directories left behind"
    assert "Traceback" not in stderr, stderr
    assert code == 128 + sig, (code, stderr)


def test_logs_follow_under_nohup_outlives_a_hang_up(lab: Lab, talker: str, runtime_dir: Path,
                                                    tmp_path: Path) -> None:
    # `nohup corral logs -f … &`: started with SIGHUP ignored, a closed terminal must
    # not end it (nor its relay); SIGTERM still ends it with its clean-ups.
    with ignoring(signal.SIGHUP):
        process = follow_logs(lab, talker, runtime_dir, tmp_path)
    try:
        assert process.stdout is not None
        process.stdout.readline()
        os.killpg(process.pid, signal.SIGHUP)  # the whole group, as a terminal sends it
        time.sleep(1.5)
        assert process.poll() is None, "a hang-up ended corral under nohup"
        assert process.stdout.readline(), "no more log lines after the hang-up"
        process.send_signal(signal.SIGTERM)
        code = ended(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 128 + signal.SIGTERM
    assert tunnels(runtime_dir) == [], "tunnel directories left behind"


class Terminal:
    """Corral run in a pseudo-terminal of its own (it is the session leader), as
    sshd or tmux runs a program; the test reads the screen so output never stalls.
    """

    def __init__(self, argv: list[str], env: dict[str, str], size: tuple[int, int] = (160, 45)):
        self.pid, self.master = pty.fork()
        if self.pid == 0:  # the child: becomes corral
            os.execve(sys.executable, [sys.executable, "-m", "corral.tui.cli.main", *argv], env)
        columns, rows = size
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.output = bytearray()
        self.status: int | None = None

    def drain(self) -> None:
        """Read what the program wrote so far."""
        while self.master >= 0 and select.select([self.master], [], [], 0)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output.extend(chunk)

    def read_for(self, seconds: float) -> None:
        """Keep reading the screen for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.drain()
            time.sleep(0.02)

    def hang_up(self) -> None:
        """Close the terminal, as a dropped SSH connection or a killed tmux does."""
        os.close(self.master)
        self.master = -1

    def wait_ended(self, why: str, timeout: float = 20.0) -> int:
        """The program's wait status, once it ended within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain()
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.status = status
                return status
            time.sleep(0.05)
        raise AssertionError(f"corral did not end {why}")

    def close(self) -> None:
        """Kill the program if it still runs, and close the terminal."""
        if self.status is None:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        if self.master >= 0:
            os.close(self.master)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_console_cleans_its_tunnels_on(sig: signal.Signals, lab: Lab, talker: str,
                                       runtime_dir: Path, tmp_path: Path) -> None:
    # The signal goes to the console's whole process group, as a closing
    # terminal sends SIGHUP (stream relays included).
    with contextlib.closing(Terminal(lab.corral_args(),
                                     corral_env(runtime_dir, tmp_path))) as terminal:

        def every_host_tunnelled() -> bool:
            terminal.drain()
            return len(tunnels(runtime_dir)) >= len(lab.hosts)

        wait_until(every_host_tunnelled, "a tunnel directory per lab host", timeout=30)
        terminal.read_for(1.0)  # let the console settle (event streams, relays)
        os.killpg(terminal.pid, sig)
        status = terminal.wait_ended("after the signal")
    wait_until(lambda: tunnels(runtime_dir) == [], "every tunnel directory removed",
               timeout=10)
    assert b"Traceback" not in terminal.output, terminal.output[-2000:]
    assert not os.WIFSIGNALED(status), "killed by the signal: no clean-up ran"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def ignoring(sig: signal.Signals) -> Iterator[None]:
    """`sig` ignored for the children started meanwhile, as `nohup` ignores SIGHUP."""
    before = signal.signal(sig, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(sig, before)


@contextlib.contextmanager
def as_a_terminal_sends(sig: signal.Signals) -> Iterator[None]:
    """`sig` at its default for the children started meanwhile.

    A suite started from a background shell (`make test &`) has SIGINT ignored,
    one under `nohup` SIGHUP too, and children inherit that: OpenSSH keeps an
    inherited ignore (so does Corral's own process), where a terminal's Ctrl-C or
    hang-up finds the default.
    """
    if signal.getsignal(sig) != signal.SIG_IGN:
        yield
        return
    signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(sig, signal.SIG_IGN)


@contextlib.contextmanager
def a_relay(lab: Lab, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch, child: str,
            starting: contextlib.AbstractContextManager) -> Iterator[tuple[Any, Any, set[str]]]:
    """The first lab host's session with a stream relay of `child` started inside
    `starting`: (session, its stream client, the tunnel directories before the relay's).
    """
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime_dir))
    monkeypatch.setenv("CORRAL_OPENSSH_PUMP", "1" if child == "openssh" else "0")
    with running_fleet(lab.inventory, lab.known_hosts, stream_relay=True) as (_, fleet):
        session = fleet.session(lab.hosts[0].name)
        before = set(tunnels(runtime_dir))  # the fleet's own tunnels
        with starting:
            streams = session.stream_client()
        assert streams is not session.client and streams.ping()
        yield session, streams, before


@pytest.mark.parametrize("child", ["python", "openssh"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stream_relay_cleans_its_tunnel_on(sig: signal.Signals, child: str, lab: Lab,
                                             runtime_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # A closing terminal signals the whole process group: relays included.
    with a_relay(lab, runtime_dir, monkeypatch, child,
                 as_a_terminal_sends(sig)) as (session, streams, before):
        [relay_dir] = [runtime_dir / name for name in set(tunnels(runtime_dir)) - before]
        assert ("-pump-" in relay_dir.name) == (child == "openssh")
        pid = session._relay._process.pid
        os.kill(pid, sig)
        wait_until(lambda: not _alive(pid), "the relay to end", 10)
        if child == "openssh":
            # OpenSSH cleans nothing: the next stream finds the child gone, starts
            # another and removes the dead one's directory.
            again = session.stream_client()
            assert again is not streams and again.ping()
            assert session._relay._process.pid != pid
        assert not relay_dir.exists(), "the relay left its tunnel directory"


@pytest.mark.parametrize("child", ["python", "openssh"])
def test_a_stream_relay_keeps_a_hang_up_its_parent_ignored(child: str, lab: Lab,
                                                           runtime_dir: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # `nohup corral …`: the terminal's hang-up must not end the relays Corral outlives.
    with a_relay(lab, runtime_dir, monkeypatch, child,
                 ignoring(signal.SIGHUP)) as (session, streams, _):
        pid = session._relay._process.pid
        os.kill(pid, signal.SIGHUP)
        time.sleep(1)
        assert _alive(pid) and streams.ping()


@pytest.fixture(scope="module")
def flooder(lab: Lab) -> Iterator[str]:
    """A container on lab1 printing lines flat out; yields its `host/name` target.

    Its own workload, removed with the module's last tests (these, at the end of
    the file): a flood left running would load the lab under the tests after it.
    """
    name = f"sig-flooder-{os.getpid()}"
    run(engine(lab.hosts[0].socket), FLOOD, name, BUSYBOX,
        command=["yes", "a log line of a flood, printed as fast as the engine takes it"])
    yield f"{lab.hosts[0].name}/{name}"
    remove_workload([lab.hosts[0].socket], FLOOD)


@pytest.mark.parametrize("attempt", range(5))
def test_a_log_pane_ends_when_its_terminal_hangs_up_mid_flood(attempt: int, lab: Lab,
                                                              flooder: str, runtime_dir: Path,
                                                              tmp_path: Path) -> None:
    # The kernel sends the hung-up session SIGHUP and SIGCONT. Textual took that
    # SIGCONT for a resume after Ctrl-Z, started a second output thread on the
    # dead terminal, which died on its first write, and the flood's next frames
    # filled its queue: corral then hung for good, relay and tunnels kept (about
    # one hang-up in three at this size). Each attempt is one more chance at that race.
    argv = [*lab.corral_args(), "logs", "--view", "--tail", "100", flooder]
    with contextlib.closing(Terminal(argv, corral_env(runtime_dir, tmp_path))) as terminal:

        def streaming() -> bool:
            terminal.drain()
            return b"a log line of a flood" in terminal.output[-20_000:]

        wait_until(streaming, "the flood on screen", timeout=30)
        terminal.read_for(2.0)  # frames of the flood on screen
        terminal.hang_up()
        status = terminal.wait_ended("after its terminal hung up")
    assert not os.WIFSIGNALED(status), "killed by a signal: no clean-up ran"
    wait_until(lambda: tunnels(runtime_dir) == [], "every tunnel directory removed",
               timeout=10)
