"""The child side of a stream relay: one SSH connection, one engine tunnel.

Run as `python -m corral.backends.ssh.relay_process`. The parent writes a
pickled `(HostSpec, SshSettings)` to stdin and keeps stdin open; this
process connects (with the same strict host-key checks as the parent),
opens a tunnel to the engine and answers one line on stdout:

    ready <socket path>
    error <one-line reason>

It then serves the tunnel until stdin reaches EOF (the parent closed the
relay, or died) or the SSH connection is lost, and exits; the tunnel's
private directory goes with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import sys

from corral.backends.errors import BackendError
from corral.backends.inventory.load import HostSpec
from corral.backends.ssh.connect import SshSettings, close_connection, open_connection
from corral.backends.ssh.niceness import lower_priority
from corral.backends.ssh.tunnel import open_tunnel


async def serve(spec: HostSpec, settings: SshSettings, stdin_fd: int) -> int:
    """Connect, announce the tunnel, serve it until told to stop.

    Returns:
        The exit status: 0 after a clean stop, 1 if the connection failed or was lost.
    """
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    # A terminal that closes (SIGHUP) or a `kill` of the process group
    # (SIGTERM, SIGINT) reaches the relay too: stop as on EOF, so the
    # tunnel's private directory goes with it (a signal during the connect
    # is kept: the wait below then ends at once). A signal the parent was
    # started with ignored (`nohup`, a background shell) stays ignored, as it
    # does for Corral itself and for an OpenSSH child.
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        if signal.getsignal(sig) == signal.SIG_IGN:
            continue
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, _stop, stop)
    try:
        conn = await open_connection(spec, settings)
        tunnel = await open_tunnel(
            conn, name=spec.name, remote_socket=spec.socket, socket_explicit=spec.socket_explicit
        )
    except BackendError as exc:
        _say(f"error {exc.message}")
        return 1
    except Exception as exc:  # noqa: BLE001 — the parent gets one line, never a traceback
        _say(f"error {type(exc).__name__}: {exc}")
        return 1
    _say(f"ready {tunnel.path}")
    loop.add_reader(stdin_fd, _on_stdin, stdin_fd, stop)
    lost = asyncio.ensure_future(conn.wait_closed())
    try:
        await asyncio.wait([stop, lost], return_when=asyncio.FIRST_COMPLETED)
    finally:
        loop.remove_reader(stdin_fd)
        tunnel.close()
        close_connection(conn)
    return 0 if stop.done() else 1


def _stop(stop: asyncio.Future) -> None:
    if not stop.done():
        stop.set_result(None)


def _on_stdin(fd: int, stop: asyncio.Future) -> None:
    # Anything but EOF is ignored: the parent never writes after the request.
    try:
        data = os.read(fd, 4096)
    except OSError:
        data = b""
    if not data and not stop.done():
        stop.set_result(None)


def _say(line: str) -> None:
    sys.stdout.write(" ".join(line.splitlines()) + "\n")
    sys.stdout.flush()


def main() -> int:
    """Read the request from stdin and serve it."""
    lower_priority()  # before asyncio starts threads: they inherit it
    stdin = sys.stdin.buffer
    try:
        spec, settings = pickle.load(stdin)
    except Exception as exc:  # noqa: BLE001
        _say(f"error bad relay request: {exc}")
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(serve(spec, settings, stdin.fileno()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
