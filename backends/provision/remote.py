"""Commands on a host over SSH, as its user or through `sudo -n` (never a password)."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from corral.backends.errors import BackendError, ProvisionError
from corral.backends.inventory.load import HostSpec
from corral.backends.ssh.connect import SshSettings, close_connection, open_connection
from corral.backends.sshlib import asyncssh

#: Seconds one command may take (package installs are the slow ones).
COMMAND_TIMEOUT = 900.0


@dataclass
class Result:
    status: int
    out: str
    err: str

    @property
    def ok(self) -> bool:
        return self.status == 0

    def reason(self) -> str:
        lines = (self.err or self.out).strip().splitlines()
        return lines[-1] if lines else f"exit status {self.status}"


class Remote:
    """One SSH connection to a host being provisioned.

    Args:
        host: The inventory host.
        conn: Its open connection.
        user: The SSH user (root needs no sudo).
    """

    def __init__(self, host: HostSpec, conn: asyncssh.SSHClientConnection, user: str):
        self.host = host
        self.name = host.name
        self.conn = conn
        self.user = user

    @classmethod
    async def open(cls, host: HostSpec, settings: SshSettings) -> Remote:
        """Connect, learn the user, and check that sudo works without a password.

        Raises:
            ProvisionError: sudo needs a password (or is missing); named in one line.
        """
        conn = await open_connection(host, settings)
        try:
            remote = cls(host, conn, "")
            result = await remote.run("id -un", sudo=False)
            if not result.ok:
                raise ProvisionError(f"`id -un` failed: {result.reason()}", host=host.name)
            remote.user = result.out.strip()
            if remote.user != "root":
                check = await remote.run("true")
                if not check.ok:
                    raise ProvisionError(
                        f"sudo for {remote.user} needs a password or is not allowed "
                        f"({check.reason()}); provision needs passwordless sudo (NOPASSWD) "
                        "or the root user", host=host.name)
        except BaseException:
            close_connection(conn)
            raise
        return remote

    def close(self) -> None:
        close_connection(self.conn)

    def command_line(self, command: str, sudo: bool = True) -> str:
        """The shell command as it runs on the host (sudo added for a non-root user)."""
        if sudo and self.user != "root":
            # -n: never prompt (a password prompt would hang or echo); sh -c keeps
            # redirections and && inside the privileged shell.
            return f"sudo -n sh -c {shlex.quote(command)}"
        return command

    async def run(self, command: str, *, sudo: bool = True, input: str | None = None,
                  timeout: float = COMMAND_TIMEOUT) -> Result:
        """Run `command` (through sudo unless `sudo=False` or root)."""
        try:
            result = await self.conn.run(self.command_line(command, sudo), input=input,
                                         check=False, timeout=timeout)
        except asyncssh.ProcessError as exc:  # timeouts arrive as TimeoutError's subclass
            raise ProvisionError(f"{command}: {exc}", host=self.name) from None
        except (asyncssh.Error, OSError) as exc:
            raise BackendError(f"SSH failed while running {command}: {exc}",
                               host=self.name) from None
        status = result.exit_status if result.exit_status is not None else 255
        return Result(status, str(result.stdout or ""), str(result.stderr or ""))

    async def must(self, command: str, *, sudo: bool = True, input: str | None = None) -> str:
        """Run `command`; its stdout, or ProvisionError naming it and its last line."""
        result = await self.run(command, sudo=sudo, input=input)
        if not result.ok:
            raise ProvisionError(f"{command}: {result.reason()}", host=self.name)
        return result.out

    async def copy_chunks(self, files: Iterable[tuple[str, Iterable[bytes]]],
                          folder: str) -> None:
        """Write each (name, chunks) as a file in `folder` on the host, as the SSH user."""
        for name, chunks in files:
            target = shlex.quote(f"{folder}/{name}")
            try:
                process = await self.conn.create_process(f"cat > {target}", encoding=None)
                for chunk in chunks:
                    process.stdin.write(chunk)
                    await process.stdin.drain()
                process.stdin.write_eof()
                completed = await process.wait(timeout=COMMAND_TIMEOUT)
            except (asyncssh.Error, OSError) as exc:
                raise BackendError(f"copying {name}: {exc}", host=self.name) from None
            if completed.exit_status != 0:
                raise ProvisionError(f"copying {name} to {folder}: exit status "
                                     f"{completed.exit_status}", host=self.name)
