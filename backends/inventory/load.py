"""The inventory: which Docker hosts Corral manages and how to reach them.

The file is YAML::

    hosts:
      - name: edge1
        ssh: deploy@10.0.0.5:22      # or an alias from ~/.ssh/config
        identity: ~/.ssh/corral       # optional, relative to this file
        socket: /var/run/docker.sock  # optional, the remote engine's socket
        labels: {zone: a, role: edge}
        jump: bastion.example         # optional, one target or a list
    registries:                       # optional: credentials for image pulls
      10.0.0.5:5000: {username: deploy, password_file: registry.pw}  # chmod 600
    load_balancer_image: 10.0.0.5:5000/haproxy:2.6  # optional: runs Rancher LB services
    engine: swarm                     # optional: deploy stacks as Swarm services (default
                                      # standalone: containers Corral places itself)

Everything wrong with it is reported as one `InventoryError` naming the file
and line before any host is contacted.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corral.backends.errors import InventoryError, UnknownHost
from corral.backends.inventory.paths import default_inventory_path
from corral.backends.inventory.registries import RegistryAuth, read_registries
from corral.catalog.errors import YamlError
from corral.catalog.excerpt import quoted
from corral.catalog.yamlsource import Mapping, Sequence, load_file

DEFAULT_SOCKET = "/var/run/docker.sock"
LOCAL_HOST_NAME = "local"
ENV_INVENTORY = "CORRAL_INVENTORY"

#: What a host name may be (it appears in `host/container` targets).
HOST_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
LABEL_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]*$")
_TARGET = re.compile(
    r"^(?:(?P<user>[^@\s:/\[\]]+)@)?"
    r"(?P<address>\[[0-9A-Fa-f:.]+\]|[^@\s:/\[\]]+)"
    r"(?::(?P<port>\d{1,5}))?$"
)
# What OpenSSH refuses in a host name (`valid_hostname()`) and a user name
# (`valid_ruser()`): a ProxyCommand or Match exec expands %h and %r in a
# shell, so such a name would run commands on the operator's machine.
_HOST_REFUSED = "'`\"$\\;&<>|(){},"
_USER_REFUSED = "'`\";&<>|(){}"
_HOST_KEYS = {"name", "ssh", "identity", "socket", "labels", "jump"}
_TOP_KEYS = {"hosts", "registries", "load_balancer_image", "engine"}
#: How stacks are run: containers Corral places (`standalone`) or Swarm services.
ENGINES = ("standalone", "swarm")
#: The HAProxy image Rancher load balancer services run unless the inventory names another.
DEFAULT_LB_IMAGE = "corral/haproxy:2.6"


@dataclass(frozen=True)
class SshTarget:
    """Where to open an SSH connection: `user@address:port` or a config alias.

    Attributes:
        address: Host name, IP address or ~/.ssh/config alias.
        user: Login name, or None to let ~/.ssh/config or the local user decide.
        port: TCP port, or None for the config's or the default.
    """

    address: str
    user: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        address = f"[{self.address}]" if ":" in self.address else self.address
        text = f"{self.user}@{address}" if self.user else address
        return f"{text}:{self.port}" if self.port else text


@dataclass(frozen=True)
class HostSpec:
    """One inventory host.

    Attributes:
        name: The name Corral shows and commands take.
        ssh: How to reach it, or None for the local engine.
        identity: Private key files to offer, already resolved to paths.
        socket: The remote engine's UNIX socket.
        socket_explicit: Whether the inventory named the socket (otherwise a
            remote `docker` command may rely on the host's own DOCKER_HOST).
        labels: Scheduling labels (Rancher's host labels).
        jump: Jump hosts to pass through, outermost first.
        line: Line of this host in the inventory, for messages.
    """

    name: str
    ssh: SshTarget | None
    identity: tuple[str, ...] = ()
    socket: str = DEFAULT_SOCKET
    socket_explicit: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    jump: tuple[SshTarget, ...] = ()
    line: int = 0

    @property
    def is_local(self) -> bool:
        """True for the engine on this machine, reached without SSH."""
        return self.ssh is None

    @property
    def address(self) -> str:
        """What to show as the host's address."""
        return self.ssh.address if self.ssh else "localhost"


@dataclass(frozen=True)
class Inventory:
    """The hosts Corral manages, in inventory order.

    Attributes:
        hosts: Every host.
        path: The file they came from, or None for the implicit local host.
        registries: Registry address -> credentials for pulls (`registries:`;
            see `registries.py`): where the password is, never the password.
        load_balancer_image: The HAProxy image Rancher load balancer services
            run (`load_balancer_image:`; `DEFAULT_LB_IMAGE` unless given).
        engine: How stacks run (`engine:`): `standalone` or `swarm`.
    """

    hosts: tuple[HostSpec, ...]
    path: Path | None = None
    registries: dict[str, RegistryAuth] = field(default_factory=dict)
    load_balancer_image: str = DEFAULT_LB_IMAGE
    engine: str = "standalone"

    def names(self) -> list[str]:
        """The host names, in inventory order."""
        return [host.name for host in self.hosts]

    def get(self, name: str) -> HostSpec:
        """The host called `name`.

        Raises:
            UnknownHost: No host has that name.
        """
        for host in self.hosts:
            if host.name == name:
                return host
        known = ", ".join(self.names()) or "none"
        raise UnknownHost(f"no host named {quoted(name)} in the inventory (hosts: {known})")


def locate_inventory(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """Find the inventory file to use.

    Args:
        explicit: A path given on the command line; it wins and must exist.

    Returns:
        `explicit`, else `$CORRAL_INVENTORY`, else the XDG config file if it
        exists, else None.

    Raises:
        InventoryError: An explicitly named file does not exist.
    """
    for candidate in (explicit, os.environ.get(ENV_INVENTORY) or None):
        if candidate:
            path = Path(candidate).expanduser()
            if not path.is_file():
                raise InventoryError("inventory file not found", file=str(path))
            return path
    path = default_inventory_path()
    return path if path.is_file() else None


def local_inventory(socket: str = DEFAULT_SOCKET) -> Inventory | None:
    """The implicit inventory of the local engine, if this machine has one."""
    if not Path(socket).is_socket():
        return None
    host = HostSpec(name=LOCAL_HOST_NAME, ssh=None, socket=socket, socket_explicit=True)
    return Inventory(hosts=(host,))


def load_inventory(path: str | os.PathLike[str]) -> Inventory:
    """Read and check an inventory file.

    Args:
        path: The YAML file.

    Returns:
        The inventory.

    Raises:
        InventoryError: Naming file and line, for the first problem found.
    """
    path = Path(path)
    try:
        document = load_file(path)
    except YamlError as exc:
        raise InventoryError(exc.message, file=exc.file, line=exc.line) from None
    return _Reader(path).inventory(document)


def parse_target(text: str) -> SshTarget:
    """Parse `user@address:port` (each part but the address optional).

    User and host names are held to OpenSSH's own rules: no shell
    metacharacters, control characters or leading `-`.

    Raises:
        ValueError: The text is not of that form.
    """
    match = _TARGET.match(text.strip())
    if not match:
        raise ValueError(f"{quoted(text)} is not user@address:port or an ssh config alias")
    port = match["port"]
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError(f"port {port} is out of range")
    address, user = match["address"].strip("[]"), match["user"]
    problem = _name_problem(address, _HOST_REFUSED, "host name")
    if user is not None:
        problem = _name_problem(user, _USER_REFUSED, "user name") or problem
    if problem:
        raise ValueError(f"{text!r}: {problem}")
    return SshTarget(address=address, user=user, port=int(port) if port else None)


def _name_problem(name: str, refused: str, what: str) -> str | None:
    """Why OpenSSH would refuse `name` as a user or host name, or None."""
    if name.startswith("-"):
        return f"a {what} may not start with '-' (OpenSSH refuses it)"
    for char in name:
        if char in refused or ord(char) < 32 or ord(char) == 127 or char.isspace():
            shown = repr(char) if char.isprintable() else f"\\x{ord(char):02x}"
            return f"{shown} is not allowed in a {what} (OpenSSH refuses it)"
    return None


def key_problem(path: str | os.PathLike[str]) -> str | None:
    """Why OpenSSH would refuse a private key file for its permissions, or None.

    Like OpenSSH (`sshkey_perm_ok()`), a key the user owns that the group
    or others may read or write is refused, not used silently.
    """
    try:
        info = os.stat(path)
    except OSError:
        return None  # missing files are reported by the caller
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        return (f"UNPROTECTED PRIVATE KEY FILE {path}: permissions"
                f" {stat.S_IMODE(info.st_mode):04o} let others read it; run chmod 600 {path}")
    return None


class _Reader:
    """Checks a built YAML document and turns it into an Inventory."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, message: str, line: int | None) -> InventoryError:
        return InventoryError(message, file=str(self.path), line=line)

    def inventory(self, document: Any) -> Inventory:
        if document is None:
            raise self.fail("the inventory is empty; it needs a 'hosts:' list", None)
        if not isinstance(document, Mapping):
            raise self.fail("the inventory must be a mapping with a 'hosts:' list", 1)
        self.reject_unknown(document, _TOP_KEYS, "the inventory")
        hosts_node = document.get("hosts")
        if hosts_node is None:
            hosts_node = Sequence()
            hosts_node.line, hosts_node.item_lines = document.line, []
        if not isinstance(hosts_node, Sequence):
            raise self.fail("'hosts' must be a list of hosts", document.line_of("hosts"))
        hosts: list[HostSpec] = []
        seen: dict[str, int] = {}
        for index, node in enumerate(hosts_node):
            host = self.host(node, hosts_node.line_of(index))
            if host.name in seen:
                raise self.fail(
                    f"duplicate host name {quoted(host.name)} (first at line {seen[host.name]})",
                    host.line,
                )
            seen[host.name] = host.line
            hosts.append(host)
        registries = read_registries(document.get("registries"), self.path,
                                     document.line_of("registries"))
        image = document.get("load_balancer_image", DEFAULT_LB_IMAGE)
        if not isinstance(image, str) or not image.strip() or any(c.isspace() for c in image):
            raise self.fail("'load_balancer_image' must be an image reference",
                            document.line_of("load_balancer_image"))
        engine = document.get("engine", "standalone")
        if engine not in ENGINES:
            raise self.fail(f"'engine' must be one of {', '.join(ENGINES)}",
                            document.line_of("engine"))
        return Inventory(hosts=tuple(hosts), path=self.path, registries=registries,
                         load_balancer_image=image, engine=engine)

    def reject_unknown(self, node: Mapping, allowed: set[str], what: str) -> None:
        for key in node:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                raise self.fail(
                    f"unknown key {quoted(key)} in {what} (expected: {expected})", node.line_of(key)
                )

    def host(self, node: Any, line: int) -> HostSpec:
        if not isinstance(node, Mapping):
            raise self.fail("each host must be a mapping with at least 'name' and 'ssh'", line)
        name = node.get("name")
        what = f"host {quoted(name)}" if isinstance(name, str) else "a host"
        self.reject_unknown(node, _HOST_KEYS, what)
        if name is None:
            raise self.fail("a host has no 'name'", node.line)
        if not isinstance(name, str) or not HOST_NAME_PATTERN.match(name):
            raise self.fail(
                f"host name {quoted(name)} must be letters, digits, '.', '_' or '-'",
                node.line_of("name"),
            )
        if "ssh" not in node:
            raise self.fail(f"host {quoted(name)} has no 'ssh' target (user@address:port)",
                            node.line)
        return HostSpec(
            name=name,
            ssh=self.target(node, "ssh", name),
            identity=self.identities(node, name),
            socket=self.socket(node, name),
            socket_explicit="socket" in node,
            labels=self.labels(node, name),
            jump=self.jumps(node, name),
            line=node.line,
        )

    def target(self, node: Mapping, key: str, name: str, value: Any = None) -> SshTarget:
        value = node[key] if value is None else value
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"host {quoted(name)}: '{key}' must be a text target",
                            node.line_of(key))
        try:
            return parse_target(value)
        except ValueError as exc:
            raise self.fail(f"host {quoted(name)}: {exc}", node.line_of(key)) from None

    def identities(self, node: Mapping, name: str) -> tuple[str, ...]:
        paths = []
        for value in self.one_or_many(node, "identity", name):
            path = Path(value).expanduser()
            if not path.is_absolute():
                path = self.path.parent / path
            if not path.is_file():
                raise self.fail(
                    f"host {quoted(name)}: identity file {quoted(str(path))} not found",
                    node.line_of("identity"),
                )
            problem = key_problem(path)
            if problem:
                raise self.fail(f"host {name!r}: {problem}", node.line_of("identity"))
            paths.append(str(path))
        return tuple(paths)

    def socket(self, node: Mapping, name: str) -> str:
        value = node.get("socket", DEFAULT_SOCKET)
        if not isinstance(value, str) or not value.startswith("/"):
            raise self.fail(
                f"host {quoted(name)}: 'socket' must be an absolute path to the engine's socket",
                node.line_of("socket"),
            )
        return value

    def labels(self, node: Mapping, name: str) -> dict[str, str]:
        value = node.get("labels")
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(f"host {quoted(name)}: 'labels' must be a mapping",
                            node.line_of("labels"))
        labels = {}
        for key, label in value.items():
            if not isinstance(key, str) or not LABEL_KEY_PATTERN.match(key):
                raise self.fail(f"host {quoted(name)}: bad label name {quoted(key)}",
                                value.line_of(key))
            if isinstance(label, (dict, list)) or label is None:
                raise self.fail(
                    f"host {quoted(name)}: label {quoted(key)} needs a plain value",
                    value.line_of(key),
                )
            labels[key] = str(label).lower() if isinstance(label, bool) else str(label)
        return labels

    def jumps(self, node: Mapping, name: str) -> tuple[SshTarget, ...]:
        return tuple(
            self.target(node, "jump", name, value)
            for value in self.one_or_many(node, "jump", name)
        )

    def one_or_many(self, node: Mapping, key: str, name: str) -> list[str]:
        value = node.get(key)
        if value is None:
            return []
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(item, str) and item.strip() for item in values):
            raise self.fail(
                f"host {quoted(name)}: '{key}' must be a text value or a list of them",
                node.line_of(key),
            )
        return values
