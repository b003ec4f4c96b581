"""Persisted engine tunnels: one-shot reads without a new SSH handshake.

Like OpenSSH's `ControlPersist`: after a read-only command (`corral ps`,
`corral hosts`) connected to a host, a background process
(`persist_process`) keeps an authenticated SSH connection to it and its engine
tunnel for a while (`persist_seconds` in the configuration, default 300 s of
idleness), listening on a UNIX socket. The next such command reads the engine
through that socket: no handshake, no asyncssh.

What keeps it as safe as a direct connection:

* The sockets live in one directory per user, mode 0700, that must belong to
  this user and let nobody else in (else nothing is persisted); each socket is
  0600.
* A socket's name is a hash of everything the connection was made with: the
  user, address, port, jump hosts, identity files (path and inode, size, mode,
  time), engine socket, the known_hosts files' contents, the ssh_config file's
  contents, the agent socket and the keepalive settings. A changed inventory
  entry, key or known_hosts names another socket and never reuses the old
  connection. The host key was checked, strictly, when the connection was made.
* The persisting process holds a lock on `KEY.lock` for its whole life. A
  socket whose lock nobody holds (its process died; another boot) is stale and
  removed; a socket that does not answer falls back to a direct connection,
  and its process is stopped.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import pickle
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from corral.backends.inventory.load import HostSpec
from corral.backends.ssh.settings import SshSettings

#: Idle seconds a persisted tunnel stays by default ("a few minutes").
DEFAULT_SECONDS = 300.0
#: Seconds a command waits for a persisted tunnel's answer before connecting directly.
REUSE_TIMEOUT = 5.0
#: Set to 0 to never persist (tests, scripts); the configuration and
#: `--no-persist` say the same per user and per command.
ENV_SWITCH = "CORRAL_PERSIST"


def runtime_dir(create: bool = False) -> str | None:
    """This user's directory of persisted tunnels, or None (absent, or not private).

    `$XDG_RUNTIME_DIR/corral-persist` (a per-user tmpfs, emptied at logout
    and boot), else `/tmp/corral-persist-UID`. A directory that is a symlink,
    belongs to another user, or lets others in is refused.
    """
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isdir(base) and len(base) <= 40:
        path = os.path.join(base, "corral-persist")
    else:
        path = f"/tmp/corral-persist-{os.getuid()}"
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if (not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid()
            or info.st_mode & 0o077):
        return None
    return path


def enabled(seconds: float) -> bool:
    """Whether tunnels persist: `seconds` > 0 and `$CORRAL_PERSIST` is not 0."""
    return seconds > 0 and os.environ.get(ENV_SWITCH, "1") != "0"


def key(spec: HostSpec, settings: SshSettings) -> str:
    """The name of the persisted tunnel for this host made with these settings.

    Everything that decides which host is reached, how it is authenticated
    and which host key is trusted goes into it (see the module's docstring).
    """
    def file_state(path: str) -> object:
        try:
            info = os.stat(os.path.expanduser(path))
        except OSError:
            return None
        return [info.st_dev, info.st_ino, info.st_size, info.st_mode, info.st_mtime_ns]

    def content(path: str) -> str | None:
        try:
            return hashlib.sha256(Path(path).expanduser().read_bytes()).hexdigest()
        except OSError:
            return None

    configs = settings.config if settings.config is not None else ("~/.ssh/config",)
    parts = {
        "uid": os.getuid(),
        "ssh": str(spec.ssh), "jump": [str(jump) for jump in spec.jump],
        "identity": [[path, file_state(path)] for path in spec.identity],
        "socket": spec.socket, "socket_explicit": spec.socket_explicit,
        "known_hosts": [[path, content(path)] for path in settings.known_hosts_files()],
        "config": [[path, content(path)] for path in configs],
        "agent": os.environ.get("SSH_AUTH_SOCK"),
        "keepalive": [settings.keepalive_interval, settings.keepalive_count_max],
    }
    encoded = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:24]


def live_socket(spec: HostSpec, settings: SshSettings) -> str | None:
    """The socket of this host's persisted tunnel, if one is there (and ours).

    Whether it answers is the caller's to find out (`forget` it if not).
    """
    directory = runtime_dir()
    if directory is None:
        return None
    path = os.path.join(directory, key(spec, settings) + ".sock")
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISSOCK(info.st_mode) or info.st_uid != os.getuid():
        return None
    return path


@dataclass(frozen=True)
class Persisted:
    """One persisted tunnel, as its lock file tells."""

    host: str
    target: str
    pid: int
    key: str
    socket: str


def forget(socket_path: str) -> None:
    """Give up on a persisted tunnel that did not answer: stop its process, remove it."""
    base = socket_path.removesuffix(".sock")
    held, record = _lock_state(base + ".lock")
    if record is not None:
        with contextlib.suppress(OSError):
            os.kill(record.pid, signal.SIGTERM)
    if not held:
        _remove(base)  # else it removes its own files as it ends


def running() -> list[Persisted]:
    """The persisted tunnels alive now; stale ones' files are removed on the way."""
    directory = runtime_dir()
    if directory is None:
        return []
    found = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".lock"):
            continue
        base = os.path.join(directory, name.removesuffix(".lock"))
        held, record = _lock_state(base + ".lock")
        if not held:
            _remove(base)
        elif record is not None:
            found.append(record)
    return found


def disconnect_persisted(hosts: list[str] | None = None, wait: float = 3.0) -> list[Persisted]:
    """Stop persisted tunnels (every one, or those to these inventory names).

    Returns:
        The tunnels stopped.
    """
    stopped = [item for item in running() if hosts is None or item.host in hosts]
    for item in stopped:
        with contextlib.suppress(OSError):
            os.kill(item.pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    for item in stopped:
        base = item.socket.removesuffix(".sock")
        while _holder(base + ".lock") is not None and time.monotonic() < deadline:
            time.sleep(0.02)
    return stopped


def hand_over(specs: list[HostSpec], settings: SshSettings, seconds: float) -> int | None:
    """Start a process that persists a tunnel to each of these hosts (not waited for).

    Hosts that already have a live one are left out. The process makes its own
    connections with the same settings (but accepts no fingerprint that
    known_hosts does not list: the command that ran first recorded it).

    Returns:
        The process's pid, or None if nothing was started.
    """
    directory = runtime_dir(create=True)
    if directory is None or not specs:
        return None
    strict = SshSettings(
        known_hosts=settings.known_hosts, connect_timeout=settings.connect_timeout,
        keepalive_interval=settings.keepalive_interval,
        keepalive_count_max=settings.keepalive_count_max, config=settings.config,
    )
    wanted = []
    for spec in specs:
        base = os.path.join(directory, key(spec, settings))
        if not _lock_state(base + ".lock")[0]:
            wanted.append((spec, base))
    if not wanted:
        return None
    log = os.open(os.path.join(directory, "persist.log"),
                  os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "corral.backends.ssh.persist_process"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log,
            start_new_session=True, close_fds=True,
        )
    finally:
        os.close(log)
    assert child.stdin is not None
    with contextlib.suppress(OSError):
        child.stdin.write(pickle.dumps((wanted, strict, seconds)))
        child.stdin.close()
    return child.pid


def take_lock(base: str, spec: HostSpec) -> int | None:
    """Hold `BASE.lock` for this process's life (the persisting side).

    Returns:
        The lock's file descriptor, or None if another process holds it.
    """
    path = base + ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_ino != os.stat(path).st_ino:
            raise BlockingIOError(errno.EAGAIN, "removed meanwhile")
    except OSError:
        os.close(fd)
        return None
    record = {"pid": os.getpid(), "host": spec.name, "target": str(spec.ssh)}
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps(record).encode())
    return fd


def remove_files(base: str) -> None:
    """Remove a persisted tunnel's socket and lock file (its owner, ending)."""
    _remove(base)


def _holder(lock_path: str) -> Persisted | None:
    """Who holds this lock (None: nobody, or no such file)."""
    held, record = _lock_state(lock_path)
    return record if held else None


def _lock_state(lock_path: str) -> tuple[bool, Persisted | None]:
    """Whether a process holds this lock, and what it wrote (None until it has)."""
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except OSError:
        return False, None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            pass  # held: read who holds it
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False, None
        try:
            record = json.loads(os.read(fd, 4096) or b"{}")
            pid = int(record["pid"])
        except (ValueError, KeyError, TypeError):
            return True, None
        if pid <= 0:
            return True, None
        base = lock_path.removesuffix(".lock")
        return True, Persisted(str(record.get("host", "?")), str(record.get("target", "?")),
                               pid, os.path.basename(base), base + ".sock")
    finally:
        os.close(fd)


def _remove(base: str) -> None:
    for suffix in (".sock", ".lock"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(base + suffix)
