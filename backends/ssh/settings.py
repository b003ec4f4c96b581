"""How a Corral process makes its SSH connections: the settings alone.

Kept apart from `connect` so that reading them (the command line does, for
every verb) imports no SSH library.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from corral.backends.errors import BackendError

if TYPE_CHECKING:
    import asyncssh

DEFAULT_KNOWN_HOSTS = ("~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts")
#: An on-call engineer must see a dropped link within seconds, not the
#: 40 s that 10 s × 3 gave: 1 s × (3 + 1) ≈ 4 s. A keepalive is one small
#: packet, sent only when the server has been silent for the interval; on a
#: direct TCP connection the kernel sends it (see `linkwatch`).
DEFAULT_KEEPALIVE_INTERVAL = 1.0
DEFAULT_KEEPALIVE_COUNT_MAX = 3


@dataclass(frozen=True)
class SshSettings:
    """How every SSH connection of a Corral process is made.

    Attributes:
        known_hosts: known_hosts files to trust; empty means OpenSSH's
            defaults (~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts).
        accept_fingerprints: SHA256 fingerprints the operator explicitly
            accepted for hosts not yet in known_hosts.
        connect_timeout: Seconds allowed for TCP connect plus handshake.
        keepalive_interval: Seconds of silence from the server before a
            keepalive is sent (OpenSSH's ServerAliveInterval).
        keepalive_count_max: Unanswered keepalives tolerated (OpenSSH's
            ServerAliveCountMax): a link that silently drops every packet is
            declared dead after about interval × (count + 1) seconds.
        config: ssh_config files to read; None means ~/.ssh/config.
    """

    known_hosts: tuple[str, ...] = ()
    accept_fingerprints: frozenset[str] = field(default_factory=frozenset)
    connect_timeout: float = 10.0
    keepalive_interval: float = DEFAULT_KEEPALIVE_INTERVAL
    keepalive_count_max: int = DEFAULT_KEEPALIVE_COUNT_MAX
    config: tuple[str, ...] | None = None

    @property
    def silent_seconds(self) -> float:
        """How long a host may stay silent before its link counts as dead."""
        return self.keepalive_interval * (self.keepalive_count_max + 1)

    def known_hosts_files(self) -> list[str]:
        """The known_hosts files that exist, in order."""
        names = self.known_hosts or DEFAULT_KNOWN_HOSTS
        paths = [os.path.expanduser(name) for name in names]
        return [path for path in paths if os.path.isfile(path)]

    def known_hosts_for_writes(self) -> str:
        """The file an explicitly accepted key is recorded in."""
        return os.path.expanduser((self.known_hosts or DEFAULT_KNOWN_HOSTS)[0])

    def load_known_hosts(self) -> asyncssh.SSHKnownHosts:
        """Read the known_hosts files afresh (they change when keys are accepted).

        Raises:
            BackendError: A file cannot be parsed.
        """
        from corral.backends.sshlib import asyncssh
        files = self.known_hosts_files()
        try:
            # An empty SSHKnownHosts (not b'') so asyncssh cannot fall back
            # to some other file: no file means every key is unknown.
            return asyncssh.read_known_hosts(files) if files else asyncssh.import_known_hosts("")
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot read known_hosts {files}: {exc}") from None
