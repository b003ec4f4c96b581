"""Corral lab kit: Docker hosts in network namespaces, reached over SSH.

A lab lives in a directory DIR. Each of its hosts (lab1..labN) is a network
namespace on a private bridge, with its own dockerd (own data root, exec root,
socket, pidfile) and two sshd daemons: port 22 allows UNIX-socket forwarding,
port 2222 does not (so clients must fall back to `docker system dial-stdio`).

Everything the lab creates is named after a short id derived from DIR
(`crl<id>...`), so labs in different directories coexist and `down` removes
exactly what its own lab made: processes are found by pidfile, by lab paths in
their command line, by membership of a lab namespace or cgroup, and then by
descent; never by a broad name.

The `lab` script next to this module is the command-line front end.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import fcntl
import hashlib
import http.client
import io
import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DIR = "/tmp/corral-lab"
SSH_PORT = 22
SSH_PORT_NOSTREAM = 2222
SSHD = "/usr/sbin/sshd"
BUSYBOX = "/bin/busybox"
NETNS_DIR = "/run/netns"
# sun_path is 108 bytes including the terminating NUL.
SOCKET_PATH_MAX = 107
# Root's PATH under sudo, cron or a venv may lack the sbin directories.
SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# overlay2 cannot stack on these; dockerd then needs the (slower, copying) vfs driver.
OVERLAY_UNSAFE_FS = {"overlay", "aufs", "zfs", "ecryptfs", "fuse", "fuseblk", "nfs", "nfs4"}
ENGINE_START_TIMEOUT = 60.0
# The lab registry (Debian's docker-registry, distribution 2.8) listens on the bridge's
# own address at this port; every engine trusts it as an insecure (plain HTTP) registry.
REGISTRY_PORT = 5000
# A second registry a test may start on the same address (with htpasswd auth:
# tests/support/auth_registry.py); engines trust it too, and it is found and stopped
# with the lab's own (its files are under the registry directory).
REGISTRY_AUTH_PORT = 5001
REGISTRY_START_TIMEOUT = 10.0
MNT_DETACH = 2

# Each tool the lab runs, and the Debian package that provides it (for the hint).
REQUIRED_TOOLS = {
    "dockerd": "docker.io",
    "containerd": "containerd",
    "runc": "runc",
    "sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "busybox": "busybox-static",
    "ip": "iproute2",
    "iptables": "iptables",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "docker-registry": "docker-registry",
}
TEARDOWN_TOOLS = ("ip", "iptables")


class LabError(Exception):
    """An expected failure: reported as one line on stderr, exit status 1."""


# --------------------------------------------------------------------------
# Progress output and cancellation

_T0 = time.monotonic()
_LOG_LOCK = threading.Lock()
# Set on Ctrl-C or on the first failing host so that other workers stop waiting.
CANCEL = threading.Event()


def log(message: str) -> None:
    """Print one progress line on stderr (threads share it, hence the lock)."""
    with _LOG_LOCK:
        print(f"lab: [{time.monotonic() - _T0:5.1f}s] {message}", file=sys.stderr, flush=True)


def sleep_unless_cancelled(seconds: float) -> None:
    """Sleep, but raise promptly once the run was cancelled."""
    if CANCEL.wait(seconds):
        raise LabError("cancelled")


# --------------------------------------------------------------------------
# Naming and layout


def lab_id(directory: str) -> str:
    """Short id of the lab in `directory`: names of every kernel object derive from it."""
    return hashlib.sha1(os.path.abspath(directory).encode()).hexdigest()[:4]


def default_labels(index: int) -> dict[str, str]:
    """Labels of host `index`: lab1 a/media, lab2 b/media, lab3 a/edge, then alternating."""
    fixed = {1: ("a", "media"), 2: ("b", "media"), 3: ("a", "edge")}
    alternating = ("a" if index % 2 else "b", "edge" if index % 2 == 0 else "media")
    zone, role = fixed.get(index, alternating)
    return {"zone": zone, "role": role}


def registry_access(index: int) -> str:
    """`reachable` or `blocked` (every third host plays the air-gapped room: lab3, lab6…)."""
    return "blocked" if index % 3 == 0 else "reachable"


@dataclass(frozen=True)
class Host:
    """One lab host: where its namespace, daemons and files are."""

    name: str
    index: int
    address: str
    netns: str
    veth: str
    dir: str
    socket: str
    exec_root: str
    labels: dict[str, str]
    #: `reachable`: the host can reach the lab registry; `blocked`: iptables drops it.
    registry: str = "reachable"
    #: ADDR:PORT of the lab registry, which the engine trusts ("" before an address).
    registry_address: str = ""

    @property
    def netns_path(self) -> str:
        return f"{NETNS_DIR}/{self.netns}"

    @property
    def uts_path(self) -> str:
        # A persistent UTS namespace (bind-mounted like `ip netns` does for net) gives
        # the host its own hostname: `docker info` Name, swarm node names, ssh prompts.
        return f"{self.exec_root}.uts"

    @property
    def nsenter(self) -> list[str]:
        """Command prefix that runs a program inside this host's namespaces."""
        return ["nsenter", f"--net={self.netns_path}", f"--uts={self.uts_path}", "--"]

    @property
    def data_root(self) -> str:
        return f"{self.dir}/docker"

    @property
    def dockerd_pidfile(self) -> str:
        return f"{self.dir}/dockerd.pid"

    @property
    def dockerd_log(self) -> str:
        return f"{self.dir}/dockerd.log"

    @property
    def daemon_json(self) -> str:
        return f"{self.dir}/daemon.json"

    @property
    def host_key(self) -> str:
        return f"{self.dir}/ssh_host_ed25519_key"

    @property
    def cgroup_parent(self) -> str:
        # Absolute, like docker's default /docker, so that containers never nest below
        # the cgroup of whoever ran `lab up` (its owner could not remove it then); named
        # per host so that the lab finds its container processes and cgroups.
        return f"/{self.netns}"

    def sshd_config(self, port: int) -> str:
        return f"{self.dir}/sshd{port}.conf"

    @property
    def home(self) -> str:
        """HOME of the lab's SSH sessions on this host (see `sshd_config_text`)."""
        return f"{self.dir}/home"

    def sshd_pidfile(self, port: int) -> str:
        return f"{self.dir}/sshd{port}.pid"

    def sshd_log(self, port: int) -> str:
        return f"{self.dir}/sshd{port}.log"

    def as_json(self) -> dict:
        """Everything a reader of lab.json may want about this host."""
        return {
            "name": self.name,
            "index": self.index,
            "address": self.address,
            "ssh_port": SSH_PORT,
            "ssh_port_nostream": SSH_PORT_NOSTREAM,
            "socket": self.socket,
            "labels": self.labels,
            "registry": self.registry,
            "netns": self.netns,
            "veth": self.veth,
            "dir": self.dir,
            "exec_root": self.exec_root,
            "data_root": self.data_root,
            "dockerd_pidfile": self.dockerd_pidfile,
            "dockerd_log": self.dockerd_log,
            "sshd": [
                {
                    "port": port,
                    "config": self.sshd_config(port),
                    "pidfile": self.sshd_pidfile(port),
                    "log": self.sshd_log(port),
                }
                for port in (SSH_PORT, SSH_PORT_NOSTREAM)
            ],
        }


@dataclass(frozen=True)
class Lab:
    """A lab: its directory, id, subnet and hosts."""

    dir: str
    id: str
    subnet_n: int | None
    hosts: tuple[Host, ...]

    @property
    def prefix(self) -> str:
        return f"crl{self.id}"

    @property
    def bridge(self) -> str:
        return f"{self.prefix}br"

    @property
    def run_root(self) -> str:
        return f"/run/{self.prefix}"

    @property
    def comment(self) -> str:
        return f"corral-lab-{self.id}"

    @property
    def subnet(self) -> str:
        return f"10.213.{self.subnet_n}.0/24"

    @property
    def gateway(self) -> str:
        return f"10.213.{self.subnet_n}.1"

    @property
    def hosts_dir(self) -> str:
        return f"{self.dir}/hosts"

    @property
    def identity(self) -> str:
        return f"{self.dir}/id_ed25519"

    @property
    def authorized_keys(self) -> str:
        return f"{self.dir}/authorized_keys"

    @property
    def known_hosts(self) -> str:
        return f"{self.dir}/known_hosts"

    @property
    def inventory(self) -> str:
        return f"{self.dir}/inventory.yaml"

    @property
    def state_file(self) -> str:
        return f"{self.dir}/lab.json"

    @property
    def registry_dir(self) -> str:
        return f"{self.dir}/registry"

    @property
    def registry_config(self) -> str:
        return f"{self.registry_dir}/config.yml"

    @property
    def registry_pidfile(self) -> str:
        return f"{self.registry_dir}/registry.pid"

    @property
    def registry_log(self) -> str:
        return f"{self.registry_dir}/registry.log"

    @property
    def registry_address(self) -> str:
        """ADDR:PORT of the registry: the bridge's address, so only lab hosts see it."""
        return f"{self.gateway}:{REGISTRY_PORT}"

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        names = ", ".join(h.name for h in self.hosts) or "none"
        raise LabError(f"no host {name!r} in the lab at {self.dir} (hosts: {names})")


def make_lab(directory: str, count: int, subnet_n: int | None) -> Lab:
    """Lay out a lab of `count` hosts; a pure function of its arguments."""
    directory = os.path.abspath(directory)
    ident = lab_id(directory)
    prefix = f"crl{ident}"
    hosts = []
    for index in range(1, count + 1):
        name = f"lab{index}"
        host_dir = f"{directory}/hosts/{name}"
        exec_root = f"/run/{prefix}/{name}"
        sock = f"{host_dir}/docker.sock"
        if len(sock) > SOCKET_PATH_MAX:
            sock = f"{exec_root}/docker.sock"
        address = f"10.213.{subnet_n}.{10 + index}" if subnet_n is not None else ""
        registry = f"10.213.{subnet_n}.1:{REGISTRY_PORT}" if subnet_n is not None else ""
        hosts.append(
            Host(
                name=name,
                index=index,
                address=address,
                netns=f"{prefix}-{name}",
                veth=f"{prefix}v{index}",
                dir=host_dir,
                socket=sock,
                exec_root=exec_root,
                labels=default_labels(index),
                registry=registry_access(index),
                registry_address=registry,
            )
        )
    return Lab(dir=directory, id=ident, subnet_n=subnet_n, hosts=tuple(hosts))


def save_lab(lab: Lab) -> None:
    """Write DIR/lab.json, the record that status, fault and down read."""
    state = {
        "version": 1,
        "dir": lab.dir,
        "id": lab.id,
        "subnet": lab.subnet,
        "subnet_n": lab.subnet_n,
        "gateway": lab.gateway,
        "bridge": lab.bridge,
        "run_root": lab.run_root,
        "iptables_comment": lab.comment,
        "identity": lab.identity,
        "known_hosts": lab.known_hosts,
        "inventory": lab.inventory,
        "registry": {
            "address": lab.registry_address,
            "config": lab.registry_config,
            "pidfile": lab.registry_pidfile,
            "log": lab.registry_log,
            "reachable_from": [h.name for h in lab.hosts if h.registry == "reachable"],
        },
        "hosts": [host.as_json() for host in lab.hosts],
    }
    write_file(lab.state_file, json.dumps(state, indent=2) + "\n")


def load_lab(directory: str) -> Lab | None:
    """The lab recorded in DIR/lab.json, or None when there is none."""
    directory = os.path.abspath(directory)
    try:
        state = json.loads(Path(directory, "lab.json").read_text())
        return make_lab(directory, len(state["hosts"]), int(state["subnet_n"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def discover_lab(directory: str) -> Lab:
    """The lab to clean up in DIR: the recorded one, widened by whatever exists on disk or
    in the kernel, so that a lab that crashed before recording itself is still found."""
    directory = os.path.abspath(directory)
    recorded = load_lab(directory)
    count = len(recorded.hosts) if recorded else 0
    netns = list_netns(f"crl{lab_id(directory)}-lab")
    names = list_dir(f"{directory}/hosts") + [name.split("-", 1)[1] for name in netns]
    for name in names:
        match = re.fullmatch(r"lab(\d+)", name)
        if match:
            count = max(count, int(match.group(1)))
    return make_lab(directory, count, recorded.subnet_n if recorded else None)


# --------------------------------------------------------------------------
# Small helpers: files, commands, prerequisites


def write_file(path: str, text: str, mode: int = 0o644) -> None:
    """Write `text` to `path` atomically with `mode`."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def list_dir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def last_line(path: str, limit: int = 240) -> str:
    """Last non-empty line of a log file, to explain a daemon's death in one line."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 8192))
            lines = [ln for ln in handle.read().decode(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no log)"
    return lines[-1][:limit] if lines else "(empty log)"


def run(cmd: list[str], *, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a command, capturing output; a failure becomes a one-line LabError."""
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError as exc:
        raise LabError(f"{cmd[0]}: command not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{shlex.join(cmd)}: timed out after {timeout:g}s") from exc
    if check and proc.returncode != 0:
        lines = (proc.stderr or proc.stdout or "").strip().splitlines()
        reason = lines[-1] if lines else f"exit status {proc.returncode}"
        raise LabError(f"{shlex.join(cmd)}: {reason}")
    return proc


def is_static_elf(path: str) -> bool:
    """True if `path` is an ELF executable without a program interpreter (PT_INTERP)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8192)
    except OSError:
        return False
    if head[:4] != b"\x7fELF" or head[4] not in (1, 2):
        return False
    order = "<" if head[5] == 1 else ">"
    if head[4] == 2:
        (phoff,) = struct.unpack_from(order + "Q", head, 0x20)
        phentsize, phnum = struct.unpack_from(order + "HH", head, 0x36)
    else:
        (phoff,) = struct.unpack_from(order + "I", head, 0x1C)
        phentsize, phnum = struct.unpack_from(order + "HH", head, 0x2A)
    for i in range(phnum):
        offset = phoff + i * phentsize
        if offset + 4 > len(head):
            return False
        if struct.unpack_from(order + "I", head, offset)[0] == 3:  # PT_INTERP
            return False
    return True


def tool_path(name: str) -> str | None:
    """Where a required tool is, or None."""
    fixed = {"sshd": SSHD, "busybox": BUSYBOX}
    if name in fixed:
        return fixed[name] if os.access(fixed[name], os.X_OK) else None
    return shutil.which(name, path=os.environ.get("PATH", "") + ":" + SEARCH_PATH)


def check_prerequisites(tools: Iterable[str]) -> None:
    """Fail with one clear line if not root or a tool is missing."""
    if os.geteuid() != 0:
        raise LabError("must run as root (network namespaces, dockerd and sshd need it)")
    for name in tools:
        if tool_path(name) is None:
            raise LabError(f"missing {name} (Debian package {REQUIRED_TOOLS[name]}): run make deps")
    if "busybox" in tools and not is_static_elf(BUSYBOX):
        raise LabError(f"{BUSYBOX} is not statically linked: install busybox-static (make deps)")
    if "sshd" in tools and root_account_locked():
        raise LabError(
            "root's password field starts with '!' (locked): sshd with UsePAM no refuses "
            "key logins for it; unlock with: usermod -p '*' root"
        )


def root_account_locked() -> bool:
    """sshd without PAM refuses every login to an account whose password starts with '!'."""
    try:
        for line in Path("/etc/shadow").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == "root" and len(fields) > 1:
                return fields[1].startswith("!")
    except OSError:
        pass
    return False


@contextlib.contextmanager
def lab_lock(directory: str, create: bool = False) -> Iterator[None]:
    """Serialise up/down/fault on one lab directory (made if `create`; a directory that
    does not exist holds no lab to race on)."""
    if create:
        os.makedirs(directory, exist_ok=True)
    elif not os.path.isdir(directory):
        yield
        return
    fd = os.open(f"{directory}/.lab.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another lab command on {directory}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


#: Machine-wide lock held while a lab picks its subnet and creates its bridge, so two
#: labs coming up at once (xdist workers) never take the same 10.213.n.0/24.
NETWORK_LOCK = "/run/corral-lab-network.lock"


@contextlib.contextmanager
def file_lock(path: str) -> Iterator[None]:
    """An exclusive flock on `path` (made if missing), released on exit or process death."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def parallel(func: Callable, items: Iterable, workers: int = 8) -> list:
    """Run func(item) for each item in threads; the first failure cancels the rest and is
    raised once every worker has returned."""
    items = list(items)
    if not items:
        return []
    errors: list[BaseException] = []
    results = [None] * len(items)
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = {pool.submit(func, item): i for i, item in enumerate(items)}
        pending = set(futures)
        try:
            while pending:
                done, pending = concurrent.futures.wait(pending, timeout=0.2)
                for future in done:
                    exc = future.exception()
                    if exc is not None:
                        errors.append(exc)
                        CANCEL.set()
                    else:
                        results[futures[future]] = future.result()
        except KeyboardInterrupt:
            CANCEL.set()
            raise
    real = [e for e in errors if str(e) != "cancelled"] or errors
    if real:
        raise real[0]
    return results


# --------------------------------------------------------------------------
# Processes, found through /proc


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    state: str
    cmdline: str  # arguments joined by spaces (after setproctitle it is one string anyway)


def read_proc(pid: int) -> Proc | None:
    """One process's parent, state and command line; None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    # The command name in field 2 may contain spaces or ')': split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    cmdline = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    return Proc(pid=pid, ppid=int(fields[1]), state=fields[0], cmdline=cmdline)


def process_table() -> dict[int, Proc]:
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            proc = read_proc(int(entry))
            if proc is not None:
                table[proc.pid] = proc
    return table


def is_alive(pid: int) -> bool:
    proc = read_proc(pid)
    return proc is not None and proc.state not in ("Z", "X")


def descendants(roots: Iterable[int], table: dict[int, Proc]) -> set[int]:
    """The roots and every process below them."""
    children: dict[int, list[int]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    found: set[int] = set()
    stack = [pid for pid in roots if pid in table]
    while stack:
        pid = stack.pop()
        if pid not in found:
            found.add(pid)
            stack.extend(children.get(pid, ()))
    return found


def ancestors(pid: int, table: dict[int, Proc]) -> set[int]:
    found = set()
    while pid in table and pid not in found and pid > 1:
        found.add(pid)
        pid = table[pid].ppid
    return found


def send_signal(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def wait_gone(pids: Iterable[int], timeout: float) -> set[int]:
    """Wait until the processes have exited (zombies count as gone); return the survivors."""
    remaining = set(pids)
    deadline = time.monotonic() + timeout
    while remaining:
        remaining = {pid for pid in remaining if is_alive(pid)}
        if not remaining or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return remaining


def terminate(pids: Iterable[int], grace: float) -> set[int]:
    """SIGTERM, wait up to `grace`, then SIGKILL what is left; return unkillable pids."""
    pids = set(pids)
    send_signal(pids, signal.SIGTERM)
    left = wait_gone(pids, grace)
    send_signal(left, signal.SIGKILL)
    return wait_gone(left, 5)


def pid_from_file(path: str, marker: str) -> int | None:
    """The live pid in a pidfile, if its command line shows it is ours (pids get reused)."""
    try:
        pid = int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    proc = read_proc(pid)
    if proc is None or proc.state in ("Z", "X") or marker not in proc.cmdline:
        return None
    return pid


def dockerd_pid(host: Host) -> int | None:
    return pid_from_file(host.dockerd_pidfile, host.exec_root)


def sshd_pids(host: Host, port: int, table: dict[int, Proc] | None = None) -> set[int]:
    """The listening sshd for `port` (pidfile or command line: a crash may lose the file)."""
    table = table if table is not None else process_table()
    config = host.sshd_config(port)
    found = {p.pid for p in table.values() if config in p.cmdline and p.state not in "ZX"}
    pid = pid_from_file(host.sshd_pidfile(port), config)
    if pid is not None:
        found.add(pid)
    return found


def namespace_inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def lab_processes(lab: Lab) -> set[int]:
    """Every process this lab started, and their descendants (never this process or its
    ancestors). A process belongs to the lab if its command line holds the lab's exec
    root (containerd, re-parented shims), if it is a daemon (dockerd/sshd/nsenter) whose
    command line holds the lab's hosts directory, if it runs in one of the lab's network
    namespaces, or if it sits in one of the lab's container cgroups."""
    table = process_table()
    netns = {namespace_inode(h.netns_path) for h in lab.hosts} - {None}
    run_marker = lab.run_root + "/"
    hosts_marker = lab.hosts_dir + "/"
    cgroup_marker = f"/{lab.prefix}-lab"
    registry_marker = lab.registry_dir + "/"  # the lab's registry, and a test's beside it
    daemons = ("sshd", "dockerd", "nsenter")
    roots = set()
    for proc in table.values():
        exe = os.path.basename(proc.cmdline.split(" ", 1)[0]).rstrip(":")
        by_name = run_marker in proc.cmdline or (exe in daemons and hosts_marker in proc.cmdline)
        by_name = by_name or (exe == "docker-registry" and registry_marker in proc.cmdline)
        if by_name or (netns and namespace_inode(f"/proc/{proc.pid}/ns/net") in netns):
            roots.add(proc.pid)
        else:
            with contextlib.suppress(OSError):
                if cgroup_marker in Path(f"/proc/{proc.pid}/cgroup").read_text():
                    roots.add(proc.pid)
    return descendants(roots, table) - ancestors(os.getpid(), table)


# --------------------------------------------------------------------------
# The engine API over its UNIX socket


class _UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a UNIX socket: enough for the few engine calls the lab makes."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._unix_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def engine_request(
    sock_path: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, bytes]:
    """One HTTP request to an engine; returns (status, body)."""
    conn = _UnixHTTPConnection(sock_path, timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def engine_ping(sock_path: str, timeout: float = 2.0) -> bool:
    try:
        status, body = engine_request(sock_path, "GET", "/_ping", timeout=timeout)
    except (OSError, http.client.HTTPException):
        return False
    return status == 200 and body.strip() == b"OK"


def kill_containers(host: Host) -> int:
    """SIGKILL every running container of a host through its engine, so that dockerd can
    then stop at once (a busybox PID 1 ignores SIGTERM: a stop would wait 10 s)."""
    if not engine_ping(host.socket, timeout=1.0):
        return 0
    try:
        status, body = engine_request(host.socket, "GET", "/containers/json", timeout=10)
        ids = [c["Id"] for c in json.loads(body)] if status == 200 else []
        for cid in ids:
            engine_request(host.socket, "POST", f"/containers/{cid}/kill", timeout=10)
    except (OSError, http.client.HTTPException, ValueError):
        return 0  # the process sweep that follows gets them anyway
    return len(ids)


# --------------------------------------------------------------------------
# Network: bridge, namespaces, veths, iptables


def list_netns(prefix: str) -> list[str]:
    return [name for name in list_dir(NETNS_DIR) if name.startswith(prefix)]


def used_networks() -> list[ipaddress.IPv4Network]:
    """Networks of every IPv4 address assigned in the root namespace."""
    out = run(["ip", "-4", "-o", "addr", "show"]).stdout
    nets = []
    for match in re.finditer(r"\binet (\S+)", out):
        with contextlib.suppress(ValueError):
            nets.append(ipaddress.ip_interface(match.group(1)).network)
    return nets


def pick_subnet(ident: str) -> int:
    """Third octet of the lab's 10.213.n.0/24: derived from the id, skipping ones in use."""
    used = used_networks()
    start = int(ident, 16) % 200 + 20
    for step in range(200):
        n = (start - 20 + step) % 200 + 20
        candidate = ipaddress.ip_network(f"10.213.{n}.0/24")
        if not any(candidate.overlaps(net) for net in used):
            return n
    raise LabError("no free 10.213.n.0/24 subnet for the lab")


def iptables_rules(lab: Lab) -> list[list[str]]:
    """The lab's filter rules (without the -I/-D verb), each tagged with its comment."""
    tag = ["-m", "comment", "--comment", lab.comment]
    rules = [
        # A dockerd in the root namespace sets FORWARD to DROP; bridged traffic
        # between lab hosts passes FORWARD when br_netfilter is loaded.
        ["FORWARD", "-i", lab.bridge, "-o", lab.bridge, *tag, "-j", "ACCEPT"],
        # Lab traffic never leaves the bridge, even if the root namespace forwards.
        ["FORWARD", "-i", lab.bridge, "!", "-o", lab.bridge, *tag, "-j", "DROP"],
    ]
    # Air-gapped hosts: the registry's packets from them are silently dropped (a
    # firewall that says nothing, the slowest case for a pull to notice).
    rules += [
        ["INPUT", "-i", lab.bridge, "-s", host.address, "-d", lab.gateway, "-p", "tcp",
         "--dport", str(port), *tag, "-j", "DROP"]
        for host in lab.hosts if host.registry == "blocked"
        for port in (REGISTRY_PORT, REGISTRY_AUTH_PORT)
    ]  # fmt: skip
    return rules


def delete_tagged_rules(comment: str) -> None:
    """Delete every filter rule carrying this lab's comment, whichever chain it is in."""
    out = run(["iptables", "-w", "-S"], check=False).stdout
    for line in out.splitlines():
        args = shlex.split(line)
        if args[:1] == ["-A"] and tagged(args, comment):
            run(["iptables", "-w", "-D", *args[1:]], check=False)


def tagged(args: list[str], comment: str) -> bool:
    return any(a == "--comment" and b == comment for a, b in zip(args, args[1:], strict=False))


def create_network(lab: Lab) -> None:
    """Bridge in the root namespace; per host a namespace whose eth0 is a veth on it."""
    run(["ip", "link", "add", lab.bridge, "type", "bridge"])
    run(["ip", "addr", "add", f"{lab.gateway}/24", "dev", lab.bridge])
    run(["ip", "link", "set", lab.bridge, "up"])
    for rule in iptables_rules(lab):
        run(["iptables", "-w", "-I", *rule])
    for host in lab.hosts:
        ns = ["ip", "-n", host.netns]
        run(["ip", "netns", "add", host.netns])
        create_uts_namespace(host)
        run(["ip", "link", "add", host.veth, "type", "veth", "peer", "name", "eth0",
             "netns", host.netns])  # fmt: skip
        run(["ip", "link", "set", host.veth, "master", lab.bridge, "up"])
        run([*ns, "addr", "add", f"{host.address}/24", "dev", "eth0"])
        run([*ns, "link", "set", "eth0", "up"])
        run([*ns, "link", "set", "lo", "up"])
    # No default route in the namespaces: nothing a lab host or container sends can be
    # routed off the bridge (a registry pull or a DNS query fails at once).


def create_uts_namespace(host: Host) -> None:
    """A UTS namespace kept alive by a bind mount on host.uts_path, hostname = host name."""
    os.makedirs(os.path.dirname(host.uts_path), mode=0o755, exist_ok=True)
    Path(host.uts_path).touch()
    run(["unshare", f"--uts={host.uts_path}", "hostname", host.name])


def teardown_network(lab: Lab) -> None:
    """Remove the lab's links, namespaces and iptables rules, by name."""
    links = [name for name in list_dir("/sys/class/net") if name.startswith(lab.prefix)]
    # veths first (deleting one end deletes its peer), the bridge last.
    for name in sorted(links, key=lambda n: n == lab.bridge):
        run(["ip", "link", "del", name], check=False)
    for name in list_netns(lab.prefix + "-"):
        run(["ip", "netns", "del", name], check=False)
    delete_tagged_rules(lab.comment)


def set_link(lab: Lab, host: Host, up: bool) -> None:
    """Set the host's veth down (established connections then hang silently until
    keepalives notice) or up again (and wait until the host answers)."""
    run(["ip", "link", "set", host.veth, "up" if up else "down"])
    if not up:
        return
    # Neighbour entries for the host went FAILED while the link was down; a FAILED
    # entry fails a connect at once ("No route to host") instead of asking again.
    run(["ip", "neigh", "flush", "to", host.address, "dev", lab.bridge], check=False)
    for other in lab.hosts:
        if os.path.exists(other.netns_path):
            scope = ["dev", "eth0"] if other is host else ["to", host.address]
            run(["ip", "-n", other.netns, "neigh", "flush", *scope], check=False)
    wait_reachable(host.address, SSH_PORT, timeout=10)


def set_dropping(lab: Lab, host: Host, drop: bool) -> None:
    """Silently drop every packet in and out of the host's eth0 (a link that dies
    without a word: no carrier change, no reset, no ICMP), or stop dropping.

    Unlike `set_link`, a connect to the host then hangs until its timeout rather
    than failing with "No route to host", as it would across a real dead WAN link.
    """
    tag = ["-m", "comment", "--comment", lab.comment]
    rules = [["INPUT", "-i", "eth0"], ["OUTPUT", "-o", "eth0"],
             ["FORWARD", "-i", "eth0"], ["FORWARD", "-o", "eth0"]]
    iptables = [*host.nsenter, "iptables", "-w"]
    for rule in rules:
        # -C first so that repeating a fault or its repair is harmless.
        present = run([*iptables, "-C", *rule, *tag, "-j", "DROP"], check=False).returncode == 0
        if drop and not present:
            run([*iptables, "-I", *rule, *tag, "-j", "DROP"])
        elif not drop and present:
            run([*iptables, "-D", *rule, *tag, "-j", "DROP"])
    if not drop:
        wait_reachable(host.address, SSH_PORT, timeout=10)


def wait_reachable(address: str, port: int, timeout: float) -> None:
    """Wait until a TCP connect to address:port is answered (accepted or refused)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except ConnectionRefusedError:
            return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise LabError(f"{address} unreachable after {timeout:g}s: {exc}") from exc
            sleep_unless_cancelled(0.1)


def link_is_up(host: Host) -> bool:
    try:
        return Path(f"/sys/class/net/{host.veth}/operstate").read_text().strip() == "up"
    except OSError:
        return False


# --------------------------------------------------------------------------
# Mounts and cgroups left by dockerd/containerd


def mount_table() -> list[tuple[str, str]]:
    """(mount point, filesystem type) of every mount, in mount order."""
    table = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        # mountinfo escapes space, tab, newline and backslash as octal.
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        table.append((point, fields[fields.index("-") + 1]))
    return table


def mount_points() -> list[str]:
    return [point for point, _fstype in mount_table()]


def storage_driver(path: str) -> str:
    """overlay2, unless the filesystem holding `path` cannot carry it."""
    best, fstype = "", ""
    for point, kind in mount_table():
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, fstype = point, kind
    return "vfs" if fstype in OVERLAY_UNSAFE_FS else "overlay2"


def lab_mounts(lab: Lab) -> list[str]:
    prefixes = [lab.run_root, *(h.data_root for h in lab.hosts)]
    return [m for m in mount_points() if any(m == p or m.startswith(p + "/") for p in prefixes)]


def unmount_all(points: Iterable[str]) -> None:
    """Lazily unmount, deepest first (overlay, shm and netns mounts of a killed dockerd)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for point in sorted(set(points), key=len, reverse=True):
        libc.umount2(point.encode(), MNT_DETACH)


def lab_cgroups(lab: Lab) -> list[str]:
    """Container cgroup parents of this lab, at the top of each hierarchy (searched a few
    levels down too: a relative parent would sit below the caller's own cgroup)."""
    found = []
    names = {h.netns for h in lab.hosts}
    for point, fstype in mount_table():
        if fstype in ("cgroup", "cgroup2"):
            for depth in range(4):
                pattern = "/".join(["*"] * depth + [f"{lab.prefix}-lab*"])
                found += [str(p) for p in glob_settled(Path(point), pattern)
                          if p.name in names]
    return found


def glob_settled(root: Path, pattern: str, tries: int = 5) -> list[Path]:
    """`root.glob(pattern)`, tried again when a folder vanishes mid-walk (another lab's
    `down` removing its own cgroups at the same time)."""
    for _ in range(tries - 1):
        try:
            return list(root.glob(pattern))
        except FileNotFoundError:
            sleep_unless_cancelled(0.05)
    return list(root.glob(pattern))


def remove_cgroups(paths: Iterable[str]) -> None:
    for top in paths:
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: -len(w[0])):
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)


# --------------------------------------------------------------------------
# Cleanup (down, and the first step of up)


def cleanup(lab: Lab) -> None:
    """Remove everything `lab` may have left: containers, daemons, every process of its
    namespaces, mounts, network objects, iptables rules, runtime files and cgroups."""
    killed = sum(parallel(kill_containers, lab.hosts))
    if killed:
        log(f"killed {killed} running container(s)")
    # dockerd stops its containerd itself when asked nicely; give it a moment.
    dockerds = {pid for pid in map(dockerd_pid, lab.hosts) if pid is not None}
    if dockerds:
        terminate(dockerds, grace=10)
    stop_registry(lab)
    for _ in range(3):  # repeat: a dying sshd may still fork a child
        pids = lab_processes(lab)
        if not pids:
            break
        send_signal(pids, signal.SIGKILL)
        wait_gone(pids, 5)
    unmount_all(lab_mounts(lab))
    teardown_network(lab)
    shutil.rmtree(lab.run_root, ignore_errors=True)
    shutil.rmtree(lab.registry_dir, ignore_errors=True)
    for host in lab.hosts:
        shutil.rmtree(host.data_root, ignore_errors=True)
        paths = [host.socket, host.dockerd_pidfile]
        paths += [host.sshd_pidfile(p) for p in (SSH_PORT, SSH_PORT_NOSTREAM)]
        for path in paths:
            with contextlib.suppress(OSError):
                os.unlink(path)
    remove_cgroups(lab_cgroups(lab))


def leftovers(lab: Lab) -> list[str]:
    """What of the lab still exists (empty after a clean down)."""
    found = [f"netns {n}" for n in list_netns(lab.prefix + "-")]
    found += [f"link {n}" for n in list_dir("/sys/class/net") if n.startswith(lab.prefix)]
    rules = run(["iptables", "-w", "-S"], check=False).stdout.splitlines()
    found += [f"rule {r}" for r in rules if tagged(shlex.split(r), lab.comment)]
    found += [f"process {pid}" for pid in sorted(lab_processes(lab))]
    found += [f"mount {m}" for m in lab_mounts(lab)]
    found += [f"cgroup {c}" for c in lab_cgroups(lab)]
    return found


# --------------------------------------------------------------------------
# SSH: keys, configs, daemons


def ensure_keypair(path: str, comment: str) -> None:
    """Generate an ed25519 key pair once; later ups keep it so known_hosts stays valid."""
    if os.path.exists(path) and os.path.exists(path + ".pub"):
        return
    for stale in (path, path + ".pub"):
        with contextlib.suppress(OSError):
            os.unlink(stale)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path])
    os.chmod(path, 0o600)


def public_key(path: str) -> str:
    """`ssh-ed25519 AAAA...` from a .pub file, without its comment."""
    return " ".join(Path(path + ".pub").read_text().split()[:2])


def sshd_config_text(lab: Lab, host: Host, port: int) -> str:
    """sshd_config for one of the host's two daemons. Port 22 allows forwarding to the
    engine's UNIX socket, port 2222 does not. OpenSSH 9.2 keys streamlocal permission
    off the TCP forwarding setting (`AllowTcpForwarding no` also refuses every UNIX
    socket forward), so port 22 needs `local`; the namespace has no default route, so
    TCP forwards reach nothing beyond the lab.

    HOME is the host's own (empty) folder: the namespaces share this machine's
    files, and bash run by sshd reads `~/.bashrc`; a login shell setup there (a
    version manager's rehash holding a lock file, say) must not run in lab
    sessions, where a fault that kills a session mid-way would leave its lock
    behind and stall every later command."""
    stream = "yes" if port == SSH_PORT else "no"
    tcp = "local" if port == SSH_PORT else "no"
    return f"""\
# Generated by tests/lab/lab for {host.name} of the Corral lab in {lab.dir}
ListenAddress {host.address}:{port}
PidFile {host.sshd_pidfile(port)}
HostKey {host.host_key}
AuthorizedKeysFile {lab.authorized_keys}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
SetEnv DOCKER_HOST=unix://{host.socket} HOME={host.home}
AllowStreamLocalForwarding {stream}
AllowTcpForwarding {tcp}
AllowAgentForwarding no
X11Forwarding no
ClientAliveInterval 5
ClientAliveCountMax 3
MaxSessions 64
MaxStartups 100
PrintMotd no
PrintLastLog no
LogLevel INFO
Subsystem sftp internal-sftp
"""


def start_sshd(host: Host, port: int, timeout: float = 10.0) -> None:
    """Start the sshd for `port` in the host's namespace, unless it runs already."""
    if sshd_pids(host, port):
        return
    # Privilege separation needs this directory (a fresh machine may lack it).
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    os.chmod("/run/sshd", 0o755)
    with contextlib.suppress(OSError):
        os.unlink(host.sshd_pidfile(port))
    config, log_file = host.sshd_config(port), host.sshd_log(port)
    run([*host.nsenter, SSHD, "-f", config, "-E", log_file])
    # sshd daemonises before it binds and writes its pidfile once listening.
    deadline = time.monotonic() + timeout
    while pid_from_file(host.sshd_pidfile(port), config) is None:
        if time.monotonic() > deadline:
            raise LabError(f"{host.name}: sshd on port {port} did not start: {last_line(log_file)}")
        sleep_unless_cancelled(0.05)


def stop_sshd(host: Host) -> int:
    """End both sshd daemons of a host and every session process they serve, so that
    established connections really drop. Freeze first, so that no daemon forks a new
    session between the survey and the kill; returns how many processes ended."""
    roots = sshd_pids(host, SSH_PORT) | sshd_pids(host, SSH_PORT_NOSTREAM)
    send_signal(roots, signal.SIGSTOP)
    frozen = set(roots)
    for _ in range(10):
        tree = descendants(roots, process_table())
        if tree <= frozen:
            break
        send_signal(tree - frozen, signal.SIGSTOP)
        frozen |= tree
    send_signal(frozen, signal.SIGKILL)
    left = wait_gone(frozen, 5)
    if left:
        raise LabError(f"{host.name}: sshd processes {sorted(left)} did not die")
    for port in (SSH_PORT, SSH_PORT_NOSTREAM):
        with contextlib.suppress(OSError):
            os.unlink(host.sshd_pidfile(port))
    return len(frozen)


# --------------------------------------------------------------------------
# dockerd


def dockerd_command(host: Host) -> list[str]:
    cmd = [
        *host.nsenter, tool_path("dockerd") or "dockerd",
        "--data-root", host.data_root,
        "--exec-root", host.exec_root,
        "--pidfile", host.dockerd_pidfile,
        # Its own daemon.json naming its own trust key: docker 20.10 derives `docker info`
        # ID from /etc/docker/key.json by default, which every lab dockerd would share
        # (namespaces share the filesystem), and Corral tells engines apart by that ID.
        "--config-file", host.daemon_json,
        "-H", f"unix://{host.socket}",
        "--storage-driver", storage_driver(host.dir),
        "--cgroup-parent", host.cgroup_parent,
        # docker-init as PID 1 forwards SIGTERM: busybox sh or httpd as PID 1 ignore it,
        # and every `docker stop` (and dockerd restart) would then wait 10 s.
        "--init",
        "--label", f"corral.lab.host={host.name}",
    ]  # fmt: skip
    for key, value in host.labels.items():
        cmd += ["--label", f"{key}={value}"]
    return cmd


def start_dockerd(host: Host) -> subprocess.Popen:
    """Start dockerd in the host's namespaces (with nsenter: `ip netns exec` would
    remount /sys and dockerd then finds no devices cgroup)."""
    os.makedirs(host.exec_root, mode=0o700, exist_ok=True)
    os.makedirs(host.data_root, mode=0o710, exist_ok=True)
    daemon = {"deprecated-key-path": f"{host.dir}/key.json"}
    if host.registry_address:
        # Every engine trusts the lab registry (plain HTTP); blocked hosts are kept from
        # it by iptables alone, as an air-gapped room is by its network.
        auth_address = f"{host.registry_address.rsplit(':', 1)[0]}:{REGISTRY_AUTH_PORT}"
        daemon["insecure-registries"] = [host.registry_address, auth_address]
    write_file(host.daemon_json, json.dumps(daemon))
    with open(host.dockerd_log, "ab") as log_handle:
        # A new session: a Ctrl-C on `lab up` or a closed terminal leaves the engine be.
        return subprocess.Popen(
            dockerd_command(host),
            stdin=subprocess.DEVNULL,
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_engine(host: Host, proc: subprocess.Popen | None, timeout: float) -> None:
    """Wait until the engine answers /_ping on its socket."""
    deadline = time.monotonic() + timeout
    while not engine_ping(host.socket, timeout=1.0):
        if proc is not None and proc.poll() is not None:
            reason = last_line(host.dockerd_log)
            raise LabError(f"{host.name}: dockerd exited ({proc.returncode}): {reason}")
        if time.monotonic() > deadline:
            raise LabError(f"{host.name}: engine not answering after {timeout:g}s; see "
                           f"{host.dockerd_log}")  # fmt: skip
        sleep_unless_cancelled(0.1)


def stop_dockerd(host: Host, grace: float = 40.0) -> None:
    """Stop dockerd like a service manager: SIGTERM (it stops its containers, up to their
    stop timeout, and its containerd), SIGKILL after `grace`."""
    pid = dockerd_pid(host)
    if pid is not None and terminate({pid}, grace):
        raise LabError(f"{host.name}: dockerd {pid} did not die")


# --------------------------------------------------------------------------
# The lab registry: Debian's docker-registry on the bridge address


def registry_config_text(data_dir: str, address: str, *, htpasswd: str | None = None,
                         comment: str = "") -> str:
    """distribution 2.8 configuration: plain HTTP on ADDRESS, data in DATA_DIR.

    Args:
        data_dir: Where the registry keeps its blobs.
        address: host:port it listens on.
        htpasswd: An htpasswd file: basic auth required when given.
        comment: A first comment line saying who wrote the file.
    """
    text = f"""\
{f"# {comment}" if comment else "#"}
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {data_dir}
  delete:
    enabled: true
http:
  addr: {address}
"""
    if htpasswd:
        text += f"auth:\n  htpasswd:\n    realm: corral-lab\n    path: {htpasswd}\n"
    return text


def start_registry(lab: Lab) -> subprocess.Popen:
    """Start the lab registry (a fresh, empty one) in the root namespace, by pid."""
    os.makedirs(f"{lab.registry_dir}/data", mode=0o755, exist_ok=True)
    write_file(lab.registry_config, registry_config_text(
        f"{lab.registry_dir}/data", lab.registry_address,
        comment=f"Generated by tests/lab/lab for the Corral lab in {lab.dir}"))
    binary = tool_path("docker-registry") or "docker-registry"
    with open(lab.registry_log, "ab") as log_handle:
        proc = subprocess.Popen(
            [binary, "serve", lab.registry_config],
            stdin=subprocess.DEVNULL,
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    write_file(lab.registry_pidfile, f"{proc.pid}\n")
    return proc


def registry_answers(address: str, timeout: float = 1.0) -> bool:
    """True once GET /v2/ on ADDR:PORT says 200 (the registry API's version check)."""
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", "/v2/")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def wait_registry(lab: Lab, proc: subprocess.Popen | None, timeout: float) -> None:
    """Wait until the registry answers on its address."""
    deadline = time.monotonic() + timeout
    while not registry_answers(lab.registry_address):
        if proc is not None and proc.poll() is not None:
            raise LabError(f"registry exited ({proc.returncode}): {last_line(lab.registry_log)}")
        if time.monotonic() > deadline:
            raise LabError(f"registry not answering on {lab.registry_address} after "
                           f"{timeout:g}s; see {lab.registry_log}")  # fmt: skip
        sleep_unless_cancelled(0.05)


def registry_pid(lab: Lab) -> int | None:
    return pid_from_file(lab.registry_pidfile, lab.registry_config)


def stop_registry(lab: Lab) -> None:
    """Stop the registry by its pidfile (the process sweep catches one that lost it)."""
    pid = registry_pid(lab)
    if pid is not None:
        terminate({pid}, grace=5)


# --------------------------------------------------------------------------
# Images, imported from a busybox rootfs (no registry, ever)

WORKER_SCRIPT = r"""#!/bin/sh
# corral-worker: numbered lines "seq=<n> host=<hostname> ts=<epoch>" on stdout,
# RATE lines per second (default 10; 0 = as fast as possible), COUNT lines if
# COUNT > 0, then idle so that the container stays up.
rate=${RATE:-10}
count=${COUNT:-0}
host=$(hostname)
delay=0
if [ "$rate" -gt 0 ]; then delay=$((1000000 / rate)); fi
n=1
while [ "$count" -le 0 ] || [ "$n" -le "$count" ]; do
    echo "seq=$n host=$host ts=$EPOCHSECONDS"
    if [ "$delay" -gt 0 ]; then usleep "$delay"; fi
    n=$((n + 1))
done
while :; do sleep 3600; done
"""

WEB_INDEX = """<!doctype html>
<html><head><title>corral-lab web</title></head>
<body><h1>corral-lab web</h1><p>Served by busybox httpd.</p></body></html>
"""

BASE_CHANGES = ["ENV PATH=/usr/local/bin:/bin", "WORKDIR /"]
IMAGES = [
    ("corral-lab/busybox", "1", {}, ['CMD ["sh"]']),
    (
        "corral-lab/web",
        "1",
        {"www/index.html": (WEB_INDEX, 0o644), "www/health": ("ok\n", 0o644)},
        ['CMD ["httpd","-f","-v","-p","80","-h","/www"]', "EXPOSE 80"],
    ),
    (
        "corral-lab/worker",
        "1",
        {"usr/local/bin/corral-worker": (WORKER_SCRIPT, 0o755)},
        ['CMD ["/usr/local/bin/corral-worker"]'],
    ),
]


def busybox_applets() -> list[str]:
    out = run([BUSYBOX, "--list"]).stdout.split()
    return sorted(set(out) - {"busybox"})


def rootfs_tar(applets: list[str], busybox: bytes, extra: dict[str, tuple[str, int]]) -> bytes:
    """A tar of a minimal busybox root filesystem plus `extra` files."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:

        def add(name: str, kind: bytes, mode: int, data: bytes = b"", link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime, info.size = kind, mode, int(time.time()), len(data)
            info.linkname = link
            tar.addfile(info, io.BytesIO(data) if data else None)

        dirs = {"bin": 0o755, "etc": 0o755, "tmp": 0o1777, "root": 0o700, "www": 0o755,
                "proc": 0o555, "sys": 0o555, "dev": 0o755, "usr": 0o755, "usr/local": 0o755,
                "usr/local/bin": 0o755, "var": 0o755}  # fmt: skip
        for name, mode in dirs.items():
            add(name, tarfile.DIRTYPE, mode)
        add("bin/busybox", tarfile.REGTYPE, 0o755, busybox)
        for applet in applets:
            add(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox")
        passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
        add("etc/passwd", tarfile.REGTYPE, 0o644, passwd)
        add("etc/group", tarfile.REGTYPE, 0o644, b"root:x:0:\nnogroup:x:65534:\n")
        for name, (text, mode) in extra.items():
            add(name, tarfile.REGTYPE, mode, text.encode())
    return buf.getvalue()


def build_images() -> list[tuple[str, str, bytes, list[str]]]:
    """(repo, tag, tar, changes) for every lab image."""
    applets = busybox_applets()
    busybox = Path(BUSYBOX).read_bytes()
    return [
        (repo, tag, rootfs_tar(applets, busybox, extra), BASE_CHANGES + changes)
        for repo, tag, extra, changes in IMAGES
    ]


def import_image(host: Host, repo: str, tag: str, tar: bytes, changes: list[str]) -> None:
    """`docker import` through the engine API (POST /images/create?fromSrc=-)."""
    query = [("fromSrc", "-"), ("repo", repo), ("tag", tag), ("message", "corral lab")]
    query += [("changes", change) for change in changes]
    status, body = engine_request(
        host.socket,
        "POST",
        "/images/create?" + urllib.parse.urlencode(query),
        body=tar,
        headers={"Content-Type": "application/x-tar"},
        timeout=120,
    )
    # Errors may arrive as a 200 with an error object in the progress stream.
    errors = [line for line in body.decode(errors="replace").splitlines() if '"error"' in line]
    if status != 200 or errors:
        detail = errors[0] if errors else body.decode(errors="replace").strip()
        raise LabError(f"{host.name}: import of {repo}:{tag} failed: {detail[:200]}")
