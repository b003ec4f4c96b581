"""Bulk bytes to and from an engine through OpenSSH's own client, when it is there.

An image push moves hundreds of megabytes through two engine links. Through
the session's tunnel, asyncssh encrypts and copies every packet in Python:
`bench/images.py` measured 0.35 s of Corral's CPU per 100 MB per link
against OpenSSH's 0.12, all of it under the interpreter lock (so three
concurrent pushes took turns on one core). A `Pump` moves that work to an
`ssh -N -L LOCAL:REMOTE` child of its own: OpenSSH forwards a private local
socket (mode 0700 directory, never a TCP port) to the engine's socket, and
docker-py talks to it with plain socket calls that release the lock.

The child is made as strict as Corral's own connections: the inventory's
user, port and keys; the same known_hosts files and no others, with
`StrictHostKeyChecking=yes` (an unknown or changed key makes it fail, never
prompt: `BatchMode=yes`); the same keepalives, so a cut link ends it within
the same few seconds. Hosts whose connection OpenSSH cannot reproduce
exactly (jump hosts, several ssh_config files, paths it cannot quote) are
not pumped. When `ssh` is absent, disabled (`CORRAL_OPENSSH_PUMP=0`) or the
child does not come up, the transfer uses the session's own client: slower,
never broken. The child lives for one transfer and is ended and reaped
whatever way the transfer ends; it shares Corral's process group, so a
Ctrl-C or a closed terminal ends it too. (A Corral killed outright leaves it
until its link drops; its socket directory goes with the next Corral's
clean-up of orphaned ones.)
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import docker

from corral.backends.ssh.connect import CIPHER_PREFERENCE, SshSettings
from corral.backends.ssh.tunnel import private_directory

log = logging.getLogger(__name__)

#: Seconds the child may take beyond the SSH connect timeout to forward.
START_SLACK = 5.0
#: Seconds between checks that the child's socket is there.
_POLL = 0.02
#: Seconds an ended child gets to exit before it is killed.
_GRACE = 3.0


def pump_enabled() -> bool:
    """Whether bulk transfers may use OpenSSH (`CORRAL_OPENSSH_PUMP`, default on)."""
    return os.environ.get("CORRAL_OPENSSH_PUMP", "1").strip().lower() not in ("0", "no", "off")


def ssh_command(spec: Any, settings: SshSettings, local: str,
                ssh: str = "ssh") -> list[str] | None:
    """The `ssh` command that forwards `local` to `spec`'s engine socket, or None
    if OpenSSH cannot reach the host exactly as Corral's own connection does.

    Args:
        spec: The inventory host (`HostSpec`), remote.
        settings: The process's SSH settings.
        local: The local socket path to listen on.
        ssh: The `ssh` binary.
    """
    target = spec.ssh
    if target is None or spec.jump:
        return None
    known = settings.known_hosts_files()
    words = [*known, *spec.identity, local, spec.socket, *(settings.config or ())]
    if not known or any(ch.isspace() or ch in "\"'" for word in words for ch in word):
        return None
    if settings.config is not None and len(settings.config) > 1:
        return None
    interval = max(1, round(settings.keepalive_interval))
    command = [
        ssh, "-N", "-T", "-x", "-a",
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={' '.join(known)}",
        "-o", "GlobalKnownHostsFile=none",
        "-o", "ExitOnForwardFailure=yes",
        "-o", "ClearAllForwardings=no",
        "-o", "ControlMaster=no", "-o", "ControlPath=none",
        # A jump from ~/.ssh/config would check its own host key by that file's
        # rules, not the ones above: such a host falls back to Corral's own link.
        "-o", "ProxyJump=none", "-o", "ProxyCommand=none",
        "-o", "StreamLocalBindUnlink=yes",
        "-o", f"ConnectTimeout={max(1, round(settings.connect_timeout))}",
        "-o", f"ServerAliveInterval={interval}",
        "-o", f"ServerAliveCountMax={settings.keepalive_count_max}",
        "-o", f"Ciphers={','.join(CIPHER_PREFERENCE)}",
        "-o", "LogLevel=ERROR",
    ]  # fmt: skip
    if settings.config is not None:
        command += ["-F", settings.config[0] if settings.config else "/dev/null"]
    for key in spec.identity:
        command += ["-i", key]
    if target.user:
        command += ["-l", target.user]
    if target.port:
        command += ["-p", str(target.port)]
    command += ["-L", f"{local}:{spec.socket}", "--", target.address]
    return command


class Pump:
    """One `ssh -N -L` child and the Docker client that talks through it.

    Args:
        spec: The inventory host.
        settings: The process's SSH settings.
        api_version: The engine API version the session negotiated.
        timeout: Seconds a Docker API call may take.
    """

    def __init__(self, spec: Any, settings: SshSettings, api_version: str,
                 timeout: float | None) -> None:
        self.spec = spec
        self.settings = settings
        self.api_version = api_version
        self.timeout = timeout
        #: Why the child did not come up (the transfer then uses the session).
        self.problem: str | None = None
        self.process: subprocess.Popen | None = None
        self.client: docker.DockerClient | None = None
        self._directory: str | None = None

    def start(self) -> docker.DockerClient | None:
        """Start the child and wait until its socket answers; None if it does not.

        Blocking: call from a worker thread. Whatever happens, `close()` ends it.
        """
        binary = shutil.which("ssh")
        if binary is None:
            self.problem = "no ssh command"
            return None
        self._directory = private_directory(f"pump-{self.spec.name}")
        local = os.path.join(self._directory, "docker.sock")
        command = ssh_command(self.spec, self.settings, local, binary)
        if command is None:
            self.problem = "OpenSSH cannot reach this host as Corral does"
            return None
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            # Corral's own process group: a Ctrl-C or hang-up of the terminal
            # ends the child with Corral.
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + self.settings.connect_timeout + START_SLACK
        while not os.path.exists(local):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.problem = self._why()
                return None
            time.sleep(_POLL)
        client = docker.DockerClient(base_url=f"unix://{local}", version=self.api_version,
                                     timeout=self.timeout)
        self.client = client
        while True:
            try:
                client.api.ping()
                return client
            except Exception as exc:  # noqa: BLE001 — any failure: use the session instead
                # The socket appears at the child's bind(), a moment before its
                # listen(): a connect in between is refused. A loaded machine can
                # stretch that moment, so a refusal is asked again until the deadline.
                if not (_refused(exc) and self.process.poll() is None
                        and time.monotonic() < deadline):
                    self.problem = f"the engine did not answer through OpenSSH: {exc}"
                    return None
            time.sleep(_POLL)

    def alive(self) -> bool:
        """Whether the child still runs."""
        return self.process is not None and self.process.poll() is None

    def close(self, wait: bool = True) -> None:
        """End the child, reap it and remove its socket directory (idempotent).

        Args:
            wait: Reap the child before returning; else on a thread (for a caller
                that must not block, such as the backend loop).
        """
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
            if wait:
                _reap(process)
            else:
                threading.Thread(target=_reap, args=(process,), daemon=True).start()
        directory, self._directory = self._directory, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

    def _why(self) -> str:
        process = self.process
        if process is None:
            return "not started"
        if process.poll() is None:
            return "OpenSSH did not forward in time"
        detail = b""
        if process.stderr is not None:
            with contextlib.suppress(OSError):
                detail = process.stderr.read(2000)
        text = detail.decode("utf-8", "replace").strip().splitlines()
        return f"ssh exited with {process.returncode}" + (f": {text[-1]}" if text else "")


def _refused(exc: BaseException) -> bool:
    """Whether `exc` is a refused connect, however deep requests and urllib3 wrapped it."""
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending and len(seen) < 32:
        found = pending.pop()
        if not isinstance(found, BaseException) or id(found) in seen:
            continue
        if isinstance(found, ConnectionRefusedError):
            return True
        seen.add(id(found))
        pending.extend(found.args)
        pending.extend(e for e in (found.__cause__, found.__context__) if e is not None)
    return False


def _reap(process: subprocess.Popen) -> None:
    try:
        process.wait(_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stderr is not None:
        process.stderr.close()


@contextlib.contextmanager
def bulk_client(session: Any) -> Iterator[tuple[docker.DockerClient, Pump | None]]:
    """The Docker client for one bulk transfer with `session`'s engine, and its pump.

    Through an OpenSSH child (`Pump`) when one can start, else the session's
    own stream client (the pump is then None). The child ends with the block.

    Raises:
        HostOffline: The session is not online.
    """
    if not pump_enabled() or session.spec.is_local:
        yield session.stream_client(), None
        return
    base = session.client.api  # raises HostOffline when offline
    pump: Pump | None = Pump(session.spec, session.settings, base.api_version, base.timeout)
    try:
        client = pump.start()
        if client is None:
            log.info("%s: bulk transfer through the session (%s)", session.name, pump.problem)
            pump.close()
            pump = None
            # Only now: in the console it may start the host's stream relay.
            client = session.stream_client()
        yield client, pump
    finally:
        if pump is not None:
            pump.close()
