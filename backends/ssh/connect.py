"""Opening SSH connections the way OpenSSH would, only stricter.

~/.ssh/config, the agent, identity files and ProxyJump all work as users
expect. Host keys are always checked against known_hosts, whatever
~/.ssh/config says: an unknown key is refused with its fingerprint so that
the operator can accept it explicitly, and a changed key is a hard stop.
"""

from __future__ import annotations

import os
from pathlib import Path

from corral.backends.errors import BackendError, HostKeyChanged, HostKeyUnknown, UnprotectedKey
from corral.backends.inventory.load import HostSpec, SshTarget, key_problem
from corral.backends.ssh import linkwatch, window
from corral.backends.ssh.settings import (  # noqa: F401  (re-exported)
    DEFAULT_KEEPALIVE_COUNT_MAX,
    DEFAULT_KEEPALIVE_INTERVAL,
    DEFAULT_KNOWN_HOSTS,
    SshSettings,
)
from corral.backends.sshlib import asyncssh


class _HostKeyCheck(asyncssh.SSHClient):
    """Decides on host keys that no known_hosts line trusts.

    asyncssh calls `validate_host_public_key` only for such keys. One is
    accepted only if known_hosts lists no key at all for the host and the
    operator accepted its exact fingerprint: an accepted fingerprint never
    overrides a changed key.
    """

    def __init__(self, accepted: frozenset[str], known: asyncssh.SSHKnownHosts):
        self.accepted = accepted
        self.known = known
        self.presented: asyncssh.SSHKey | None = None
        self.peer: tuple[str, str, int] | None = None
        self.changed = False
        self.lost_reason: str | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.lost_reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.presented, self.peer = key, (host, addr, port)
        self.changed = bool(self.known.match(host, addr, port if port != 22 else None)[0])
        return not self.changed and key.get_fingerprint("sha256") in self.accepted


def _host_key_error(check: _HostKeyCheck, name: str, target: SshTarget) -> BackendError | None:
    if check.presented is None:
        return None
    fingerprint = check.presented.get_fingerprint("sha256")
    algorithm = check.presented.get_algorithm()
    if check.changed:
        return HostKeyChanged(
            f"{target} now presents {algorithm} key {fingerprint}, which is NOT the key "
            "recorded in known_hosts. Someone may be intercepting the connection "
            "(man-in-the-middle), or the host was reinstalled. Refusing to connect; "
            "remove the old key from known_hosts only once you have verified the new one.",
            host=name,
            fingerprint=fingerprint,
        )
    return HostKeyUnknown(
        f"{target} presents {algorithm} key {fingerprint}, which is not in known_hosts; "
        "verify it and accept it explicitly to connect",
        host=name,
        fingerprint=fingerprint,
    )


#: asyncssh's own order with AES-GCM first: its ChaCha20-Poly1305 costs several
#: Python-level cipher objects per packet, and a log or shell stream is many
#: small packets on the thread the UI shares the GIL with (GCM: ~1.5x less CPU).
CIPHER_PREFERENCE = [
    "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
    "aes256-ctr", "aes192-ctr", "aes128-ctr",
]


#: The keys asyncssh (like OpenSSH) offers when the inventory names none.
_DEFAULT_KEYS = ("id_ed25519_sk", "id_ecdsa_sk", "id_ed448", "id_ed25519", "id_ecdsa",
                 "id_rsa", "id_dsa")


def check_keys(name: str, identity: tuple[str, ...]) -> None:
    """Refuse private keys that others may read, before any is offered.

    OpenSSH refuses such a key ("UNPROTECTED PRIVATE KEY FILE"); offering it
    silently would hide that someone else could have copied it. The
    inventory's files are checked when it loads; this catches a mode changed
    since, and the default `~/.ssh/id_*` keys used when none is named.

    Raises:
        UnprotectedKey: Naming the file and the fix.
    """
    paths = identity or tuple(str(Path("~", ".ssh", key).expanduser()) for key in _DEFAULT_KEYS)
    for path in paths:
        problem = key_problem(path)
        if problem:
            raise UnprotectedKey(problem, host=name)


async def _connect_one(
    name: str,
    target: SshTarget,
    settings: SshSettings,
    known: asyncssh.SSHKnownHosts,
    identity: tuple[str, ...],
    tunnel: asyncssh.SSHClientConnection | None,
) -> asyncssh.SSHClientConnection:
    check_keys(name, identity)
    check = _HostKeyCheck(settings.accept_fingerprints, known)
    options: dict[str, object] = {
        "known_hosts": known,
        "encryption_algs": CIPHER_PREFERENCE,
        "connect_timeout": settings.connect_timeout,
        "keepalive_interval": settings.keepalive_interval,
        "keepalive_count_max": settings.keepalive_count_max,
        "client_factory": lambda: check,
    }
    if target.user:
        options["username"] = target.user
    if target.port:
        options["port"] = target.port
    if identity:
        options["client_keys"] = list(identity)
    if settings.config is not None:
        options["config"] = list(settings.config)
    if tunnel is not None:
        options["tunnel"] = tunnel
    try:
        conn = await asyncssh.connect(target.address, **options)
    except asyncssh.HostKeyNotVerifiable as exc:
        error = _host_key_error(check, name, target)
        raise (error or _translate(exc, name, str(target))) from exc
    except (OSError, asyncssh.Error, TimeoutError) as exc:
        raise _translate(exc, name, str(target)) from exc
    if check.presented is not None and check.peer is not None:
        # Only an explicitly accepted fingerprint gets here: remember it.
        host, _, port = check.peer
        key_line = check.presented.export_public_key().decode("ascii")
        remember_host_key(settings.known_hosts_for_writes(), host, port, key_line)
    # Extra attributes on asyncssh's connection: pinned by
    # tests/unit/test_dependency_internals.py
    conn.corral_check = check  # type: ignore[attr-defined]
    linkwatch.watch_in_kernel(conn, settings)
    return conn


async def open_connection(host: HostSpec, settings: SshSettings) -> asyncssh.SSHClientConnection:
    """Open an SSH connection to `host`, through its jump hosts if any.

    Jump hosts are checked against the same known_hosts as the host itself;
    closing the returned connection does not close them, so the caller owns
    `conn.corral_jumps` too (see `close_connection`).

    Args:
        host: The inventory host; must not be the local host.
        settings: Process-wide SSH settings.

    Returns:
        The connection.

    Raises:
        BackendError: HostUnreachable, AuthFailed, HostKeyUnknown or
            HostKeyChanged, naming the host.
    """
    window.install()  # bounded channel buffers (see window.py)
    if host.ssh is None:
        raise BackendError("the local host has no SSH connection", host=host.name)
    known = settings.load_known_hosts()
    jumps: list[asyncssh.SSHClientConnection] = []
    try:
        for jump in host.jump:
            previous = jumps[-1] if jumps else None
            jumps.append(
                await _connect_one(host.name, jump, settings, known, host.identity, previous)
            )
        tunnel = jumps[-1] if jumps else None
        conn = await _connect_one(host.name, host.ssh, settings, known, host.identity, tunnel)
    except BaseException:
        for jump in reversed(jumps):
            jump.close()
        raise
    conn.corral_jumps = jumps  # type: ignore[attr-defined]
    return conn


def lost_reason(conn: asyncssh.SSHClientConnection) -> str | None:
    """Why a closed connection was lost (e.g. "Keepalive timeout"), if known."""
    check = getattr(conn, "corral_check", None)
    return check.lost_reason if check is not None else None


def close_connection(conn: asyncssh.SSHClientConnection) -> None:
    """Close a connection from `open_connection` and its jump hosts."""
    conn.close()
    for jump in reversed(getattr(conn, "corral_jumps", [])):
        jump.close()


def remember_host_key(path: str | os.PathLike[str], host: str, port: int, key_line: str) -> None:
    """Append an accepted host key to a known_hosts file.

    Args:
        path: The known_hosts file (created with mode 0600 if missing).
        host: The host name or address the key belongs to.
        port: Its SSH port.
        key_line: The key in OpenSSH public format (`ssh-ed25519 AAAA...`).
    """
    host = host if port == 22 else f"[{host}]:{port}"
    path = Path(path).expanduser()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="ascii") as stream:
        stream.write(f"{host} {key_line.strip()}\n")


def _translate(exc: BaseException, name: str, target: str) -> BackendError:
    # Imported on failure only: `translate` loads docker-py and requests, which
    # the stream relay child (connect + tunnel, nothing else) never needs.
    from corral.backends.translate import translate_ssh_error
    return translate_ssh_error(exc, name, target)
