"""The verdicts: from what was read on a host (engine info, the host script) to checks.

Pure: every function takes plain values and returns `Check`s.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

from corral.backends.doctor.host_script import HostFacts, flag_values
from corral.backends.doctor.model import FAIL, OK, WARN, Check

GIB = 1024**3
#: Free space on the data root below which images stop landing (fail) or soon will (warn).
DISK_FAIL = (2 * GIB, 0.05)
DISK_WARN = (10 * GIB, 0.15)
INODES_FAIL = 0.05
INODES_WARN = 0.15
#: Clock offsets (ms): merged logs misorder, leases expire early beyond these.
CLOCK_WARN_MS = 500.0
CLOCK_FAIL_MS = 5000.0
CLOCK_FIX = "timedatectl set-ntp true (or install chrony)"
#: Log drivers that rotate by themselves, or keep nothing on the host.
SELF_ROTATING = {"local", "journald", "syslog", "fluentd", "gelf", "awslogs", "splunk",
                 "etwlogs", "gcplogs", "logentries"}


def socket_access(facts: HostFacts, socket: str) -> Check:
    """Whether the SSH user can open the engine's socket (Corral's tunnel needs that)."""
    user, ident = facts.get("user") or "?", "ssh.socket-access"
    mode = facts.get("socket_mode") or "?"
    if facts.get("socket") != "present":
        return Check(ident, FAIL, f"no engine socket at {socket}", "provision:install-docker")
    if facts.get("uid") == "0":
        return Check(ident, OK, f"logged in as root (socket {mode})")
    if facts.get("socket_rw") == "yes":
        groups = facts.get("groups").split(",")
        why = "in group docker" if "docker" in groups else "allowed by the socket's mode"
        return Check(ident, OK, f"{user} can use {socket} ({why}; socket {mode})")
    if facts.get("sudo") == "yes":
        return Check(ident, WARN, f"{user} reaches {socket} only through sudo (socket {mode}): "
                     "Corral's tunnel needs the socket itself", "provision:docker-group")
    return Check(ident, FAIL, f"{user} cannot use {socket} (socket {mode}, groups "
                 f"{facts.get('groups') or '?'}) and has no sudo", "provision:docker-group")


def engine_version(version: Mapping[str, Any], info: Mapping[str, Any]) -> Check:
    """Engine and API version; engines older than Debian 12's 20.10 get a warning."""
    server = str(version.get("Version") or info.get("ServerVersion") or "?")
    api = str(version.get("ApiVersion") or "?")
    seen = f"Docker {server}, API {api}"
    try:
        major, minor = (int(part) for part in server.split(".")[:2])
    except ValueError:
        return Check("engine.version", WARN, f"{seen} (version not understood)")
    if (major, minor) < (20, 10):
        return Check("engine.version", WARN, f"{seen}: older than 20.10, the oldest tested",
                     "provision:install-docker")
    return Check("engine.version", OK, seen)


def storage_driver(info: Mapping[str, Any]) -> Check:
    """overlay2 (or btrfs, zfs) is fine; vfs copies every layer; the others are deprecated."""
    driver = str(info.get("Driver") or "?")
    if driver in ("overlay2", "btrfs", "zfs", "fuse-overlayfs"):
        return Check("engine.storage-driver", OK, driver)
    if driver == "vfs":
        return Check("engine.storage-driver", WARN, "vfs: every layer is a full copy (slow, "
                     "large); the data root's filesystem does not carry overlay2",
                     "put the data root on ext4 or xfs and set \"storage-driver\": \"overlay2\"")
    return Check("engine.storage-driver", WARN, f"{driver}: deprecated by Docker",
                 "set \"storage-driver\": \"overlay2\" in daemon.json (images are re-pulled)")


def _size(number: float) -> str:
    return f"{number / GIB:.1f} GiB"


def disk_space(facts: HostFacts, root: str) -> Check:
    """Free space on the data root's filesystem."""
    found = facts.df("df")
    if found is None:
        return Check("engine.disk-space", WARN, f"df could not read {root}")
    total, free = found[0] * 1024, found[1] * 1024
    share = free / total if total else 0.0
    seen = f"{_size(free)} free of {_size(total)} ({share:.0%}) on {root}"
    fix = "docker image prune (or corral images prune); grow the filesystem"
    if free < DISK_FAIL[0] or share < DISK_FAIL[1]:
        return Check("engine.disk-space", FAIL, seen, fix)
    if free < DISK_WARN[0] or share < DISK_WARN[1]:
        return Check("engine.disk-space", WARN, seen, fix)
    return Check("engine.disk-space", OK, seen)


def inodes(facts: HostFacts, root: str) -> Check:
    """Free inodes on the data root's filesystem (many small layers use them up)."""
    found = facts.df("dfi")
    if found is None:
        return Check("engine.inodes", WARN, f"df -i could not read {root}")
    total, free = found
    if total == 0:
        return Check("engine.inodes", OK, f"{root}: the filesystem has no fixed inode count")
    share = free / total
    seen = f"{free} of {total} inodes free ({share:.0%}) on {root}"
    fix = "docker system prune (unused images and stopped containers)"
    if share < INODES_FAIL:
        return Check("engine.inodes", FAIL, seen, fix)
    if share < INODES_WARN:
        return Check("engine.inodes", WARN, seen, fix)
    return Check("engine.inodes", OK, seen)


def log_rotation(facts: HostFacts, info: Mapping[str, Any]) -> Check:
    """The default log driver, and for json-file whether `max-size` is set."""
    ident = "engine.log-rotation"
    driver = str(info.get("LoggingDriver") or "?")
    if driver in SELF_ROTATING:
        return Check(ident, OK, f"log driver {driver} (rotates on its own or keeps nothing "
                     "on the host)")
    if driver == "none":
        return Check(ident, WARN, "log driver none: containers keep no logs (corral logs shows "
                     "nothing)", "provision:log-rotation")
    if driver != "json-file":
        return Check(ident, WARN, f"log driver {driver}: rotation unknown")
    options = {}
    for value in flag_values(facts.dockerd_args, "--log-opt"):
        key, _, setting = value.partition("=")
        options[key] = setting
    config, how = facts.daemon_json()
    path = facts.get("daemon_json_path") or "daemon.json"
    if config is not None:
        options.update({str(k): str(v) for k, v in (config.get("log-opts") or {}).items()})
    size, files = options.get("max-size"), options.get("max-file", "1")
    if size:
        return Check(ident, OK, f"json-file, max-size {size}, max-file {files}")
    if config is None and how != "missing":
        return Check(ident, WARN, f"json-file; {path} is {how}: rotation unknown",
                     "provision:log-rotation")
    return Check(ident, WARN, f"json-file without max-size ({path} {how}): container logs "
                 "grow until the disk is full", "provision:log-rotation")


def live_restore(info: Mapping[str, Any]) -> Check:
    """Containers survive an engine restart only with live-restore (outside swarm mode)."""
    if info.get("LiveRestoreEnabled"):
        return Check("engine.live-restore", OK, "on: containers survive an engine restart")
    if ((info.get("Swarm") or {}).get("LocalNodeState")) == "active":
        return Check("engine.live-restore", OK, "off (swarm mode cannot use live-restore)")
    return Check("engine.live-restore", WARN, "off: an engine restart or upgrade stops every "
                 "container", "provision:live-restore")


def cgroup(facts: HostFacts, info: Mapping[str, Any]) -> Check:
    """cgroup v2 is what current distributions boot; v1 still works, deprecated."""
    version = str(info.get("CgroupVersion") or "")
    if not version:
        version = {"cgroup2fs": "2", "tmpfs": "1"}.get(facts.get("cgroupfs"), "?")
    driver = info.get("CgroupDriver") or "?"
    if version == "2":
        return Check("engine.cgroup", OK, f"cgroup v2 ({driver} driver)")
    return Check("engine.cgroup", WARN, f"cgroup v{version} ({driver} driver): v1 is deprecated",
                 "boot with systemd.unified_cgroup_hierarchy=1")


def clock(host: str, offsets: Mapping[str, float | None]) -> Check | None:
    """This host's engine clock against this machine and against the fleet.

    The fleet's clock is the median of every host's offset, so one skewed host
    is named alone rather than dragging its peers into the verdict.

    Args:
        host: The host judged.
        offsets: Host -> engine clock minus this machine's, in ms (None: unknown).
    """
    mine = offsets.get(host)
    if mine is None:
        return None
    known = [value for value in offsets.values() if value is not None]
    apart = abs(mine - statistics.median(known))
    seen = f"engine clock {mine:+.0f} ms against this machine"
    if len(known) > 1:
        seen += f", {apart:.0f} ms from the fleet's median"
    worst = max(abs(mine), apart)
    status = FAIL if worst > CLOCK_FAIL_MS else WARN if worst > CLOCK_WARN_MS else OK
    return Check("fleet.clock", status, seen, None if status == OK else CLOCK_FIX)


def kernel_module(facts: HostFacts, name: str) -> Check:
    """vxlan (overlay networks across hosts) and ip_vs (service VIPs, the routing mesh)."""
    state = facts.get(f"module_{name}") or "missing"
    ident = f"kernel.{name}"
    if state in ("loaded", "available"):
        return Check(ident, OK, f"{name} {state}")
    if name == "vxlan":
        return Check(ident, FAIL, "vxlan missing: overlay networks cannot span hosts",
                     "modprobe vxlan (or install the kernel's modules package)")
    return Check(ident, WARN, "ip_vs missing: swarm service VIPs and the ingress routing mesh "
                 "do not work; endpoint_mode: dnsrr and host-mode published ports do",
                 "modprobe ip_vs")
