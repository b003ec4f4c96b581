"""A second path to a host's engine, for long byte streams, in a child process.

Log floods and shell output are many small SSH packets. Decrypting them and
copying them into the local tunnel is Python work, and on the backend thread
it competes for the GIL with the UI thread that draws those very lines: the
UI stalls and the stream slows down. A `StreamRelay` moves that work to a
child process with its own SSH connection (same settings, same strict host-key
checks) and its own local socket; streams read from it with a plain socket,
which releases the GIL.

The child is OpenSSH's own client when it can reach the host exactly as Corral
does (`pump.Pump`: `ssh -N -L SOCKET:ENGINE_SOCKET`, C ciphers, ~6 MB resident),
else a Python child (`relay_process`: asyncssh, ~45 MB, and its decryption in
Python on the console's CPUs). `CORRAL_OPENSSH_PUMP=0` keeps the Python child.

The relay starts on first use, serves every stream of its host, and ends
when the session drops (streams then break and reconnect like any other)
or when the parent process exits (the Python child sees EOF on its stdin;
OpenSSH's shares Corral's process group, and its link's keepalives end it).
If the relay cannot start, streams use the session's own client: slower,
never broken. `CORRAL_STREAM_RELAY=0` turns relays off.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import subprocess
import sys
import threading
import time

import docker

from corral.backends.inventory.load import HostSpec
from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.pump import Pump, pump_enabled

#: Seconds the child may take beyond the SSH connect timeout to start answering.
START_SLACK = 10.0
#: After a failed start, seconds before trying again (streams use the session meanwhile).
RETRY_AFTER = 30.0


def relays_enabled() -> bool:
    """Whether streams go through relay processes (`CORRAL_STREAM_RELAY`, default on)."""
    return os.environ.get("CORRAL_STREAM_RELAY", "1").strip().lower() not in ("0", "no", "off")


#: The child's module, found from this package so that a move cannot leave it stale
#: (a wrong path would make every stream fall back to the in-process tunnel).
CHILD_MODULE = f"{__package__}.relay_process"


def child_command() -> list[str]:
    """The command that starts a relay child with this interpreter."""
    return [sys.executable, "-m", CHILD_MODULE]


class StreamRelay:
    """One host's relay process and the Docker client that talks through it.

    Thread-safe; `client()` blocks while the child starts, so call it from a
    worker thread.

    Args:
        spec: The host.
        settings: The process's SSH settings.
        api_version: The engine API version the session negotiated.
        timeout: Seconds a Docker API call may take.
    """

    def __init__(self, spec: HostSpec, settings: SshSettings, api_version: str,
                 timeout: float) -> None:
        self.spec = spec
        self.settings = settings
        self.api_version = api_version
        self.timeout = timeout
        #: Why the last start failed (streams then use the session's client).
        self.problem: str | None = None
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._pump: Pump | None = None  # when the child is OpenSSH's
        self._client: docker.DockerClient | None = None
        self._failed_at = 0.0
        self._closed = False

    def client(self) -> docker.DockerClient | None:
        """The client for streams, starting the relay if needed; None if it cannot start."""
        with self._lock:
            if self._closed:
                return None
            if self._client is not None and self._process is not None:
                if self._process.poll() is None:
                    return self._client
                self._discard()
            if time.monotonic() - self._failed_at < RETRY_AFTER:
                return None
            try:
                self._start()
            except OSError as exc:
                self.problem = f"cannot start the stream relay: {exc}"
            if self._client is None or self._closed:
                self._failed_at = time.monotonic()
                self._discard()
            return self._client

    def close(self) -> None:
        """End the child (its streams break); later `client()` calls return None.

        Never waits for a start in progress (the backend loop calls this):
        the starting thread sees the flag and ends the child itself.
        """
        self._closed = True
        if self._lock.acquire(blocking=False):
            try:
                self._discard()
            finally:
                self._lock.release()

    def _start(self) -> None:
        if pump_enabled() and self._start_openssh():
            return
        process = subprocess.Popen(
            child_command(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self._process = process
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(pickle.dumps((self.spec, self.settings)))
        process.stdin.flush()  # stdin stays open: closing it tells the child to stop
        answer = _read_line(process.stdout, self.settings.connect_timeout + START_SLACK)
        kind, _, detail = answer.partition(" ")
        if kind != "ready" or not detail:
            self.problem = detail or "the stream relay did not start"
            return
        self._client = docker.DockerClient(
            base_url=f"unix://{detail}", version=self.api_version, timeout=self.timeout
        )
        self.problem = None

    def _start_openssh(self) -> bool:
        pump = Pump(self.spec, self.settings, self.api_version, self.timeout)
        try:
            client = pump.start()
        except OSError:
            client = None
        if client is None:
            pump.close()
            return False
        self._pump, self._process, self._client = pump, pump.process, client
        self.problem = None
        return True

    def _discard(self) -> None:
        pump, self._pump = self._pump, None
        if pump is not None:  # its client, child and socket directory
            self._client = self._process = None
            pump.close(wait=False)  # reaped on a thread, as below
            return
        client, self._client = self._client, None
        process, self._process = self._process, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        if process is not None:
            for pipe in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):
                    pipe.close()  # type: ignore[union-attr]
            process.terminate()
            # Reaped on a thread: a child stuck in its SSH close must not hold us.
            threading.Thread(target=_reap, args=(process,), daemon=True).start()


def _read_line(stream, timeout: float) -> str:
    """One line from the child, or "" if none comes within `timeout`."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        return ""
    return stream.readline().decode("utf-8", "replace").strip()


def _reap(process: subprocess.Popen) -> None:
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
