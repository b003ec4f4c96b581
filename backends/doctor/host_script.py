"""The one shell script the doctor runs on each host, and reading its answer.

POSIX `sh` with coreutils only (a minimal Debian has them; `sudo`, `stat -f`,
`base64` are tried and their absence reported, not assumed). It changes
nothing: it reads ids, the socket's mode, the engine daemon's command line and
configuration file, `df` of the data root, the cgroup mount and loaded modules.
"""

from __future__ import annotations

import base64
import binascii
import json
import shlex
from dataclasses import dataclass, field

SCRIPT = r"""
S=$1; ROOT=$2
echo "user=$(id -un)"
echo "uid=$(id -u)"
echo "groups=$(id -Gn | tr ' ' ',')"
if [ -S "$S" ]; then echo socket=present; else echo socket=missing; fi
if [ -r "$S" ] && [ -w "$S" ]; then echo socket_rw=yes; else echo socket_rw=no; fi
echo "socket_mode=$(stat -c '%U:%G:%a' "$S" 2>/dev/null)"
if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null
then echo sudo=yes; else echo sudo=no; fi
echo "hostname=$(cat /proc/sys/kernel/hostname 2>/dev/null)"
echo "cgroupfs=$(stat -fc %T /sys/fs/cgroup 2>/dev/null)"
MODS=/lib/modules/$(uname -r)
for m in vxlan ip_vs; do
  if [ -d /sys/module/$m ]; then echo "module_$m=loaded"
  elif grep -qs "/$m.ko" "$MODS/modules.builtin" "$MODS/modules.dep"
  then echo "module_$m=available"
  else echo "module_$m=missing"; fi
done
df -Pk "$ROOT" 2>/dev/null | tail -n 1 | sed 's/^/df=/'
df -Pi "$ROOT" 2>/dev/null | tail -n 1 | sed 's/^/dfi=/'
for p in /proc/[0-9]*; do
  read -r comm < $p/comm 2>/dev/null || continue
  [ "$comm" = dockerd ] || continue
  c=$(tr '\0' '\037' < $p/cmdline 2>/dev/null)
  case "$c" in *"unix://$S"*) best=$c;; *) [ -z "$any" ] && any=$c;; esac
done
c=${best:-$any}
echo "dockerd=$c"
cfg=/etc/docker/daemon.json
OLD=$IFS; IFS=$(printf '\037'); set -- $c; IFS=$OLD
prev=
for a in "$@"; do
  case "$a" in --config-file=*) cfg=${a#--config-file=};; esac
  [ "$prev" = --config-file ] && cfg=$a
  prev=$a
done
echo "daemon_json_path=$cfg"
if [ -r "$cfg" ]; then echo "daemon_json=$(base64 < "$cfg" | tr -d '\n')"
elif [ -e "$cfg" ]; then echo daemon_json=unreadable; else echo daemon_json=missing; fi
echo "perl=$(command -v perl 2>/dev/null)"
echo end=yes
"""


def command(socket: str, data_root: str) -> str:
    """The command line that runs `SCRIPT` for this socket and data root."""
    return f"sh -c {shlex.quote(SCRIPT)} doctor {shlex.quote(socket)} {shlex.quote(data_root)}"


@dataclass
class HostFacts:
    """What the script saw (empty strings where it saw nothing)."""

    values: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str:
        """One value, "" if absent."""
        return self.values.get(key, "")

    @property
    def complete(self) -> bool:
        """The script ran to its end."""
        return self.get("end") == "yes"

    @property
    def dockerd_args(self) -> list[str]:
        """The engine daemon's command line, split."""
        raw = self.get("dockerd")
        return [part for part in raw.split("\x1f") if part] if raw else []

    def daemon_json(self) -> tuple[dict | None, str]:
        """The daemon's configuration file and a word on how it read.

        Returns:
            (the parsed object or None, `read` / `missing` / `unreadable` / `invalid`).
        """
        raw = self.get("daemon_json")
        if raw in ("missing", "unreadable", ""):
            return None, raw or "missing"
        try:
            value = json.loads(base64.b64decode(raw).decode() or "{}")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None, "invalid"
        return (value, "read") if isinstance(value, dict) else (None, "invalid")

    def df(self, key: str) -> tuple[int, int] | None:
        """(total, free) from a `df -P` line (`df` in KiB blocks, `dfi` in inodes)."""
        fields = self.get(key).split()
        try:
            return int(fields[1]), int(fields[3])
        except (IndexError, ValueError):
            return None


def parse(output: str) -> HostFacts:
    """Read the script's `key=value` lines."""
    values = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep and key and key not in values:
            values[key] = value.strip()
    return HostFacts(values)


def flag_values(args: list[str], name: str) -> list[str]:
    """Every value of a `--name VALUE` or `--name=VALUE` option in a command line."""
    found = []
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            found.append(args[index + 1])
        elif arg.startswith(name + "="):
            found.append(arg[len(name) + 1:])
    return found
