"""A "bare" lab host: a Debian 12 root with sshd and sudo and nothing else, for provisioning.

The root is built once with `debootstrap --variant=minbase --include=openssh-server,sudo
bookworm` and cached in `CACHE` (built in a temporary directory beside it, renamed when
complete), with the .debs `docker.io` needs beside it (`CACHE/debs`). Each bare host is a
throwaway overlay of that root, mounted inside its own mount namespace (so every mount it
holds disappears with its last process) and PID namespace, chrooted, in its own network
namespace on the lab's bridge with its own address, its own hostname and its own sshd
(key auth as user `corral`, who has passwordless sudo, with the lab's key).

The lab's namespaces have no route off the bridge; a bare host reaches the Debian mirror
through a small HTTP proxy (`MirrorProxy`) on the bridge's address, which forwards only
to the mirror named in the root's sources.list; apt in the root is told to use it
(`/etc/apt/apt.conf.d/00corral-lab-proxy`). An INPUT rule tagged `corral-bare-<id>` that
rejects the host's packets to the proxy takes the mirror away (`block_mirror`).

Names derive from the lab's id (`crl<id>-bareN` namespaces, `crl<id>bN` veths), so the
lab's own `down` removes the network objects too. Processes are found by namespace
membership (net or mount) and descent, never by name.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "lab"))
import labkit  # noqa: E402  (the lab's own kit: processes, names, iptables helpers)

#: Where the bare root and its .debs are cached between runs.
CACHE = Path(os.environ.get("CORRAL_BARE_CACHE", "/var/cache/corral-lab/bare-bookworm"))
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
USER = "corral"
#: Host part of the first bare host's address on the lab's /24 (lab hosts use .11…).
FIRST_ADDRESS = 201
#: The packages whose .debs are cached (what provisioning installs).
CACHED_PACKAGES = ("docker.io",)
PROXY_CONF = "/etc/apt/apt.conf.d/00corral-lab-proxy"
SSHD_CONF = "/etc/ssh/corral-lab-sshd.conf"
HOOK = "/usr/local/sbin/corral-lab-ulimit"
BUILD_TIMEOUT = 600


class BareHostError(Exception):
    """The bare host could not be built or started (one line)."""


def run(cmd: list[str], timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """Run a command; a failure raises BareHostError with its last line of output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kwargs)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout or "").strip().splitlines()
        raise BareHostError(f"{' '.join(cmd[:6])}: {lines[-1] if lines else proc.returncode}")
    return proc


# --------------------------------------------------------------------------
# The cached root


def ensure_cache(cache: Path = CACHE) -> Path:
    """The cached bare root (`cache/root`) and its .debs (`cache/debs`), built if missing.

    Built in `cache.tmp-PID` and renamed into place once complete, so an interrupted
    build never leaves a half root behind the cache's name.
    """
    if _cache_complete(cache):
        return cache
    if shutil.which("debootstrap") is None:
        raise BareHostError("missing debootstrap (Debian package debootstrap): run make deps")
    cache.parent.mkdir(parents=True, exist_ok=True)
    # Two xdist workers may both find the cache missing on a cold machine: one builds,
    # the other waits on the lock and then finds it complete.
    with labkit.file_lock(str(cache.parent / f".{cache.name}.lock")):
        if not _cache_complete(cache):
            _build_cache(cache)
    return cache


def _cache_complete(cache: Path) -> bool:
    return (cache / "root" / "etc" / "os-release").is_file() and (cache / "debs").is_dir()


def _build_cache(cache: Path) -> None:
    """Build the cache in `cache.tmp-PID`, renamed into place once complete."""
    for stale in cache.parent.glob(cache.name + ".tmp-*"):
        pid = stale.name.rpartition("-")[2]
        if not (pid.isdigit() and labkit.is_alive(int(pid))):
            shutil.rmtree(stale, ignore_errors=True)
    temp = cache.parent / f"{cache.name}.tmp-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    root = temp / "root"
    try:
        run(["debootstrap", "--variant=minbase", "--include=openssh-server,sudo", SUITE,
             str(root), MIRROR], timeout=BUILD_TIMEOUT)
        chroot = ["chroot", str(root)]
        # The base system's own .debs are not part of a bare host.
        run([*chroot, "apt-get", "clean"])
        run([*chroot, "apt-get", "install", "--download-only", "-y", "-q",
             "--no-install-recommends", *CACHED_PACKAGES], timeout=BUILD_TIMEOUT)
        debs = temp / "debs"
        debs.mkdir()
        for deb in (root / "var/cache/apt/archives").glob("*.deb"):
            shutil.move(str(deb), debs / deb.name)
        run([*chroot, "useradd", "--create-home", "--shell", "/bin/bash", USER])
        # '*' rather than the locked '!': sshd without PAM refuses locked accounts.
        run([*chroot, "usermod", "-p", "*", USER])
        sudoers = root / "etc/sudoers.d" / USER
        sudoers.write_text(f"{USER} ALL=(ALL) NOPASSWD:ALL\n")
        sudoers.chmod(0o440)
        os.rename(temp, cache)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------
# A proxy to the mirror (the lab has no route off its bridge)


class MirrorProxy:
    """A plain-HTTP forward proxy on `address` that only forwards to `mirror_host`.

    Attributes:
        requests: Paths asked through it, so a test can tell that apt went online.
    """

    def __init__(self, address: str, mirror_host: str):
        self.requests: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                self._forward(body=True)

            def do_HEAD(self) -> None:  # noqa: N802
                self._forward(body=False)

            def _forward(self, body: bool) -> None:
                url = urllib.parse.urlsplit(self.path)
                if url.scheme != "http" or url.hostname != mirror_host:
                    self.send_error(403, "only the Debian mirror")
                    return
                proxy.requests.append(url.path)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("proxy-connection", "connection", "host")}
                upstream = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=60)
                try:
                    path = url.path + (f"?{url.query}" if url.query else "")
                    upstream.request(self.command, path, headers=headers)
                    reply = upstream.getresponse()
                    self.send_response(reply.status, reply.reason)
                    for key, value in reply.getheaders():
                        if key.lower() not in ("connection", "transfer-encoding", "keep-alive"):
                            self.send_header(key, value)
                    length = reply.getheader("Content-Length")
                    if length is None and body:
                        data = reply.read()
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return
                    self.end_headers()
                    while body:
                        chunk = reply.read(1 << 16)
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                finally:
                    upstream.close()

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server((address, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="bare-mirror-proxy")
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------
# Bare hosts


@dataclass
class BareHost:
    """One running bare host.

    Attributes:
        name: `bareN`.
        address: Its address on the lab's bridge.
        dir: Its files: `upper/` and `work/` (the overlay's), `root/` (the mount
            point, seen only inside its namespace), `data/` (docker's data root).
        sshd_pid: The listening sshd (its /proc/PID/root is the host's root).
    """

    name: str
    index: int
    address: str
    netns: str
    veth: str
    dir: Path
    lab_id: str
    sshd_pid: int = 0
    known_hosts: Path = field(default_factory=Path)
    inventory: Path = field(default_factory=Path)

    @property
    def root(self) -> Path:
        """The host's `/` as its processes see it (through the sshd's /proc root)."""
        return Path(f"/proc/{self.sshd_pid}/root")

    @property
    def comment(self) -> str:
        return f"corral-bare-{self.lab_id}"

    def corral_args(self) -> list[str]:
        return ["--inventory", str(self.inventory), "--known-hosts", str(self.known_hosts)]

    def ssh(self, *command: str, user: str = USER) -> list[str]:
        """An ssh command line running `command` on the host as `user`."""
        key = self.dir.parent.parent / "id_ed25519"
        return ["ssh", "-i", str(key), "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                "-o", "ConnectTimeout=5", f"{user}@{self.address}", *command]

    def processes(self) -> set[int]:
        """Every process of this host: in its network or mount namespace, and below."""
        return bare_processes(self.netns, self.dir)


def bare_processes(netns: str, directory: Path) -> set[int]:
    table = labkit.process_table()
    net = labkit.namespace_inode(f"{labkit.NETNS_DIR}/{netns}")
    marker = str(directory / "root")
    roots = set()
    for proc in table.values():
        if net is not None and labkit.namespace_inode(f"/proc/{proc.pid}/ns/net") == net:
            roots.add(proc.pid)
            continue
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{proc.pid}/root") == marker:
                roots.add(proc.pid)
    return labkit.descendants(roots, table) - labkit.ancestors(os.getpid(), table)


def stop_bare(lab_dir: Path, lab_id: str, index: int) -> None:
    """Remove bare host `index` of the lab: its processes (by namespace, pid), its
    network namespace and veth (by name), its tagged rules and its files."""
    netns, veth = f"crl{lab_id}-bare{index}", f"crl{lab_id}b{index}"
    directory = lab_dir / "bare" / f"bare{index}"
    for _ in range(3):
        pids = bare_processes(netns, directory)
        if not pids:
            break
        labkit.send_signal(pids, signal.SIGKILL)
        labkit.wait_gone(pids, 5)
    subprocess.run(["ip", "link", "del", veth], capture_output=True)
    subprocess.run(["ip", "netns", "del", netns], capture_output=True)
    shutil.rmtree(directory, ignore_errors=True)


def delete_rules(lab_id: str) -> None:
    labkit.delete_tagged_rules(f"corral-bare-{lab_id}")


def start_bare(lab_dir: Path, index: int, proxy: MirrorProxy | None,
               cache: Path = CACHE) -> BareHost:
    """Start bare host `index` on the lab in `lab_dir` (its bridge, key and known_hosts).

    Args:
        lab_dir: The running lab's directory.
        index: 1, 2…: names `bareN`, address .201, .202…
        proxy: The mirror proxy apt should use, or None (no way to the mirror).
        cache: The cached root (`ensure_cache`).
    """
    state = json.loads((lab_dir / "lab.json").read_text())
    lab_id, gateway, bridge = state["id"], state["gateway"], state["bridge"]
    stop_bare(lab_dir, lab_id, index)
    name = f"bare{index}"
    address = gateway.rsplit(".", 1)[0] + f".{FIRST_ADDRESS + index - 1}"
    host = BareHost(name=name, index=index, address=address, netns=f"crl{lab_id}-{name}",
                    veth=f"crl{lab_id}b{index}", dir=lab_dir / "bare" / name, lab_id=lab_id)
    upper, work, mount, data = (host.dir / part for part in ("upper", "work", "root", "data"))
    for folder in (upper, work, mount, data / "docker", data / "containerd"):
        folder.mkdir(parents=True, exist_ok=True)
    _seed_upper(host, upper, cache, lab_dir, proxy, gateway)

    run(["ip", "netns", "add", host.netns])
    run(["ip", "link", "add", host.veth, "type", "veth", "peer", "name", "eth0",
         "netns", host.netns])
    run(["ip", "link", "set", host.veth, "master", bridge, "up"])
    ns = ["ip", "-n", host.netns]
    run([*ns, "addr", "add", f"{address}/24", "dev", "eth0"])
    run([*ns, "link", "set", "eth0", "up"])
    run([*ns, "link", "set", "lo", "up"])

    m = str(mount)
    script = "; ".join([
        "set -e",
        f"mount -t overlay overlay -o lowerdir={cache / 'root'},upperdir={upper},"
        f"workdir={work} {m}",
        f"mount --bind {data / 'docker'} {m}/var/lib/docker",
        f"mount --bind {data / 'containerd'} {m}/var/lib/containerd",
        f"mount -t proc proc {m}/proc",
        f"mount --rbind /sys {m}/sys",
        f"mount --rbind /dev {m}/dev",
        f"mount -t tmpfs -o mode=755 tmpfs {m}/run",
        f"mkdir -p {m}/run/sshd {m}/run/lock",
        f"hostname {name}",
        # sshd stays in the foreground as the PID namespace's init (its exit ends
        # the namespace); it reaps whatever is re-parented to it.
        f"exec chroot {m} /usr/sbin/sshd -D -f {SSHD_CONF} -E /var/log/corral-lab-sshd.log",
    ])
    # Its own PID namespace too: the host's /proc shows its own processes only (the
    # doctor looks for the engine's process there), as on a real machine.
    with open(host.dir / "start.log", "wb") as log:
        subprocess.Popen(["nsenter", f"--net={labkit.NETNS_DIR}/{host.netns}", "--", "unshare",
                          "--mount", "--uts", "--pid", "--fork", "--propagation", "private",
                          "--", "/bin/sh", "-c", script],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True)
    deadline = time.monotonic() + 10
    while True:
        pid = _listening_sshd(host)
        if pid:
            host.sshd_pid = pid
            break
        if time.monotonic() > deadline:
            raise BareHostError(f"{name}: sshd did not start: "
                                f"{labkit.last_line(str(host.dir / 'start.log'))}")
        time.sleep(0.05)
    labkit.wait_reachable(address, 22, timeout=10)

    key = (cache / "root/etc/ssh/ssh_host_ed25519_key.pub").read_text().split()[:2]
    host.known_hosts = host.dir / "known_hosts"
    host.known_hosts.write_text(f"{address} {' '.join(key)}\n")
    host.inventory = host.dir / "inventory.yaml"
    host.inventory.write_text(
        "hosts:\n"
        f"  - name: {name}\n"
        f"    ssh: {USER}@{address}:22\n"
        f"    identity: {lab_dir / 'id_ed25519'}\n")
    return host


def _seed_upper(host: BareHost, upper: Path, cache: Path, lab_dir: Path,
                proxy: MirrorProxy | None, gateway: str) -> None:
    """Files the test harness adds to the cached root: sshd's config, the user's key,
    the proxy for apt, and the cached .debs (apt checks them against the mirror's index)."""
    etc = upper / "etc"
    (etc / "ssh").mkdir(parents=True, exist_ok=True)
    (etc / "ssh" / SSHD_CONF.rsplit("/", 1)[1]).write_text(f"""\
# The bare lab host {host.name} (tests/support/bare_host.py)
ListenAddress {host.address}:22
PidFile /run/sshd.pid
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
UsePAM no
StrictModes no
AllowStreamLocalForwarding yes
AllowTcpForwarding local
ClientAliveInterval 5
MaxSessions 64
MaxStartups 100
PrintMotd no
Subsystem sftp internal-sftp
""")
    hosts = (cache / "root/etc/hosts").read_text() if (cache / "root/etc/hosts").exists() else ""
    (etc / "hosts").write_text(hosts + f"127.0.1.1 {host.name}\n")  # sudo resolves it
    home = upper / "home" / USER / ".ssh"
    home.mkdir(parents=True, exist_ok=True)
    (home / "authorized_keys").write_text(labkit.public_key(str(lab_dir / "id_ed25519")) + "\n")
    uid_gid = _ids(cache / "root", USER)
    for path in (home.parent, home, home / "authorized_keys"):
        os.chown(path, *uid_gid)
    if proxy is not None:
        (etc / "apt/apt.conf.d").mkdir(parents=True, exist_ok=True)
        (upper / PROXY_CONF.lstrip("/")).write_text(
            f'Acquire::http::Proxy "http://{gateway}:{proxy.port}/";\n'
            # Translations are not needed to install: a third of `apt-get update`.
            'Acquire::Languages "none";\n')
    # This sandbox lacks CAP_SYS_RESOURCE, so the sysvinit script's `ulimit -n 1048576`
    # (above the 20000 hard limit here) fails and stops `service docker start`; a
    # real host has the capability. A dpkg hook makes those lines non-fatal after
    # each install, whether through apt or `dpkg -i` (the offline path).
    hook = upper / HOOK.lstrip("/")
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\n[ -f /etc/init.d/docker ] && sed -i "
                    "'/^[[:space:]]*ulimit /{/|| true/!s/$/ 2>\\/dev\\/null || true/}' "
                    "/etc/init.d/docker\nexit 0\n")
    hook.chmod(0o755)
    (etc / "dpkg/dpkg.cfg.d").mkdir(parents=True, exist_ok=True)
    # No fsync per unpacked file: a throwaway root needs no crash safety, and the
    # install is most of a provisioning test's time.
    (etc / "dpkg/dpkg.cfg.d/corral-lab").write_text(f"post-invoke={HOOK}\nforce-unsafe-io\n")
    for mount_point in ("var/lib/docker", "var/lib/containerd"):
        (upper / mount_point).mkdir(parents=True, exist_ok=True)
    archives = upper / "var/cache/apt/archives"
    archives.mkdir(parents=True, exist_ok=True)
    for deb in (cache / "debs").glob("*.deb"):
        os.link(deb, archives / deb.name)


def _ids(root: Path, user: str) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise BareHostError(f"no user {user} in {root}/etc/passwd")


def _listening_sshd(host: BareHost) -> int | None:
    marker = str(host.dir / "root")
    for proc in labkit.process_table().values():
        if SSHD_CONF in proc.cmdline and proc.state not in "ZX":
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{proc.pid}/root") == marker:
                    return proc.pid
    return None


def block_mirror(host: BareHost, gateway: str, proxy: MirrorProxy) -> list[str]:
    """Reject the host's packets to the mirror proxy (its only way to the mirror); returns
    the rule, for `unblock_mirror`. Tagged `corral-bare-<id>`."""
    rule = ["INPUT", "-s", host.address, "-d", gateway, "-p", "tcp", "--dport",
            str(proxy.port), "-m", "comment", "--comment", host.comment, "-j", "REJECT",
            "--reject-with", "tcp-reset"]
    run(["iptables", "-w", "-I", *rule])
    return rule


def unblock_mirror(rule: list[str]) -> None:
    subprocess.run(["iptables", "-w", "-D", *rule], capture_output=True)


def wait_ssh(host: BareHost, timeout: float = 15) -> None:
    """Wait until `ssh corral@host true` works (the key, the sudo user)."""
    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run(host.ssh("true"), capture_output=True, text=True, timeout=15)
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise BareHostError(f"{host.name}: ssh does not answer: {result.stderr.strip()}")
        time.sleep(0.1)


def free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]
