"""A terminal that hangs up ends the console, never hangs it (`tui/console/driver.py`).

The real case is measured in `tests/labtests/test_terminal_hangup.py`; these
pin each half of the fix on a real pseudo-terminal whose master side closes,
which is what the kernel shows a program when an SSH connection or a tmux
server goes.
"""

from __future__ import annotations

import asyncio
import os
import pty
import queue
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest
from textual.drivers._writer_thread import MAX_QUEUED_WRITES, WriterThread

from corral.tui.console.driver import CorralDriver, HangupSafeOutput


@contextmanager
def terminal() -> Iterator[tuple[int, object]]:
    """A pseudo-terminal: its master fd and its slave side as a text file."""
    master, slave = pty.openpty()
    output = os.fdopen(slave, "w")
    try:
        yield master, output
    finally:
        # Either side may be gone already: the test hung the terminal up.
        with suppress(OSError):
            output.close()
        with suppress(OSError):
            os.close(master)


def test_a_failed_write_drops_the_output_from_then_on() -> None:
    with terminal() as (master, output):
        safe = HangupSafeOutput(output)
        safe.write("before\n")
        safe.flush()
        assert os.read(master, 100) == b"before\r\n"
        os.close(master)  # the terminal hangs up
        safe.write("x" * 100_000)  # more than the line buffer: the write itself fails
        safe.flush()
        assert safe.gone
        assert not safe.isatty()
        assert safe.write("after") == len("after")  # dropped, no error


def test_the_output_thread_keeps_draining_after_the_terminal_hangs_up() -> None:
    # Textual's output thread dies on its first failed write; then its queue
    # (MAX_QUEUED_WRITES) fills and every later write blocks the UI thread.
    with terminal() as (master, output):
        writer = WriterThread(HangupSafeOutput(output))
        writer.start()
        os.close(master)
        done = threading.Event()

        def write_many() -> None:
            for _ in range(MAX_QUEUED_WRITES * 4):
                writer.write("frame" * 1000)
            writer.stop()
            done.set()

        threading.Thread(target=write_many, daemon=True).start()
        assert done.wait(10), "the UI thread's writes blocked after the hang-up"
        assert not writer.is_alive()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_without_the_guard_the_same_writes_block() -> None:
    # What the guard prevents, on the same terminal: the plain file kills the thread.
    with terminal() as (master, output):
        writer = WriterThread(output)
        os.close(master)
        writer.start()
        writer.write("x" * 100_000)
        writer.join(5)
        assert not writer.is_alive()  # died on EIO
        blocked = threading.Event()

        def write_many() -> None:
            for _ in range(MAX_QUEUED_WRITES + 1):
                writer.write("frame")
            blocked.set()

        threading.Thread(target=write_many, daemon=True).start()
        assert not blocked.wait(1)
        while not blocked.is_set():  # let the blocked writer go
            try:
                writer._queue.get_nowait()
            except queue.Empty:
                blocked.wait(0.01)


@contextmanager
def kept_signal_handlers() -> Iterator[None]:
    """Textual's driver installs SIGTSTP and SIGCONT handlers: put back the suite's."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTSTP, signal.SIGCONT)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def driver_on(output) -> CorralDriver:
    """A CorralDriver (made on a running loop, as Textual makes it) writing to `output`."""

    async def make() -> CorralDriver:
        driver = CorralDriver(app=None)
        driver._file = HangupSafeOutput(output)
        driver._was_terminal = output.isatty()
        return driver

    return asyncio.run(make())


def test_a_sigcont_on_a_hung_up_terminal_does_not_resume() -> None:
    with kept_signal_handlers(), terminal() as (master, output):
        driver = driver_on(output)
        resumed: list[bool] = []
        driver.resume_application_mode = lambda: resumed.append(True)
        driver._sigcont_application(signal.SIGCONT, None)
        assert resumed == [True]  # a live terminal resumes (fg after Ctrl-Z)
        os.close(master)
        assert driver.terminal_gone
        driver._sigcont_application(signal.SIGCONT, None)
        assert resumed == [True]


def test_the_driver_writes_through_the_guard() -> None:
    with kept_signal_handlers():
        driver = asyncio.run(_plain_driver())
        assert isinstance(driver._file, HangupSafeOutput)


async def _plain_driver() -> CorralDriver:
    return CorralDriver(app=None)
