"""The process that keeps persisted engine tunnels (see `persist`).

Run as `python -m corral.backends.ssh.persist_process`, detached (its own
session), by `persist.hand_over`. Reads a pickled `([(HostSpec, base), ...],
SshSettings, idle_seconds)` from stdin. For each host whose lock it can take
it connects (the same strict host-key check as any connection), listens on
`BASE.sock` (0600) and joins every local connection to the engine. A host's
tunnel ends when nothing used it for `idle_seconds`, when its SSH connection
is lost, or on SIGTERM / SIGHUP / SIGINT (`corral hosts disconnect`); its
files go with it. The process ends with its last tunnel. What goes wrong is
one line on stderr (the runtime directory's `persist.log`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import sys
import time

from corral.backends.errors import BackendError
from corral.backends.inventory.load import HostSpec
from corral.backends.ssh import persist
from corral.backends.ssh.connect import SshSettings, close_connection, open_connection
from corral.backends.ssh.niceness import lower_priority
from corral.backends.ssh.tunnel import serve_engine


class _Idle:
    """Counts open local connections; knows how long none has been open."""

    def __init__(self) -> None:
        self.open = 0
        self.since = time.monotonic()

    def opened(self) -> None:
        self.open += 1

    def closed(self) -> None:
        self.open -= 1
        self.since = time.monotonic()

    def idle_for(self) -> float:
        return 0.0 if self.open else time.monotonic() - self.since


async def keep(spec: HostSpec, base: str, settings: SshSettings, seconds: float,
               stop: asyncio.Event) -> None:
    """Persist one host's tunnel until idle, lost or stopped."""
    lock = persist.take_lock(base, spec)
    if lock is None:
        return  # another process persists this one
    conn = server = None
    try:
        conn = await open_connection(spec, settings)
        idle = _Idle()
        temporary = f"{base}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        server, mode = await serve_engine(
            conn, temporary, name=spec.name, remote_socket=spec.socket,
            socket_explicit=spec.socket_explicit, on_open=idle.opened, on_close=idle.closed)
        os.chmod(temporary, 0o600)
        os.replace(temporary, base + ".sock")  # appears whole, already private
        _say(f"{spec.name}: persisted ({mode}) for {seconds:g} s idle")
        lost = asyncio.ensure_future(conn.wait_closed())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while True:
                await asyncio.wait((lost, stopping), timeout=min(1.0, seconds))
                if lost.done() or stopping.done() or idle.idle_for() >= seconds:
                    break
        finally:
            lost.cancel()
            stopping.cancel()
    except BackendError as exc:
        _say(f"{spec.name}: {exc.message}")
    except Exception as exc:  # noqa: BLE001 — one line in the log, never a traceback
        _say(f"{spec.name}: {type(exc).__name__}: {exc}")
    finally:
        persist.remove_files(base)  # no new client finds it from here on
        if server is not None:
            server.close()
        if conn is not None:
            close_connection(conn)
        os.close(lock)


async def serve(hosts: list[tuple[HostSpec, str]], settings: SshSettings,
                seconds: float) -> int:
    """Persist every host's tunnel; return once all have ended."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    await asyncio.gather(*(keep(spec, base, settings, seconds, stop) for spec, base in hosts))
    return 0


def _say(line: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    sys.stderr.write(f"{stamp} persist[{os.getpid()}] " + " ".join(line.splitlines()) + "\n")
    sys.stderr.flush()


def main() -> int:
    """Read the request from stdin and serve it."""
    lower_priority()
    try:
        hosts, settings, seconds = pickle.load(sys.stdin.buffer)
    except Exception as exc:  # noqa: BLE001
        _say(f"bad request: {exc}")
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(serve(hosts, settings, float(seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
