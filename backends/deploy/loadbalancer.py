"""Load balancer services run as HAProxy containers Corral configures.

A Rancher LB service (`Service.load_balancer`) runs the configured HAProxy
image (`Inventory.load_balancer_image`, default `corral/haproxy:2.6`) in
master-worker mode. Its haproxy.cfg (`haproxy.render`) lists the target
services' running containers:

- on the LB's own host, by their address on the stack network they share;
- on another host, by its address on an overlay network it shares with the
  LB container (same network ID on both hosts: the stack's overlay when its
  hosts are in one swarm), else by that host's address and the port the
  target port is published on (a target container that publishes nothing
  there cannot be reached from another host's bridge network: it is left
  out, and `refresh()` says so).

The file (with the certificate files of https/tls rules, mode 0600, never
in a label or the record: only their paths are) is written into the
container through the archive API before its first start (`seed`), and
after every apply that touched the stack (deploy, scale, reconcile…)
`refresh()` writes it again where it changed and sends SIGUSR2, on which
HAProxy's master reloads it without dropping connections (a container
that is not running is started instead). Before an apply removes or replaces
containers, `refresh()` drains them: it reloads without them, then waits
until the workers that still ran the old configuration have ended (`docker
top`: HAProxy's old workers finish their requests, then exit), up to
`DRAIN_SECONDS`. Only then do the containers go, so no request is sent to a
container on its way out.

Blocking (docker-py through `HostSession.call`): run from worker threads.
"""

from __future__ import annotations

import dataclasses
import io
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from corral.backends import labels as L
from corral.backends.deploy import haproxy
from corral.backends.errors import CorralError, DeployError, NotFound
from corral.backends.inventory.load import DEFAULT_LB_IMAGE
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession
from corral.catalog.spec import Service, Stack

#: Seconds a drain waits for HAProxy's old workers to end (a long-lived
#: connection, such as a WebSocket, keeps one going; the apply then goes on).
DRAIN_SECONDS = 10.0
#: Seconds between two looks at the LB container's processes while draining.
_DRAIN_POLL = 0.1


def image_of(fleet: Fleet | None) -> str:
    """The HAProxy image the fleet's inventory names (`load_balancer_image`), or the default."""
    inventory = getattr(fleet, "inventory", None)
    return getattr(inventory, "load_balancer_image", None) or DEFAULT_LB_IMAGE


def resolve(stack: Stack, image: str) -> Stack:
    """The stack with each LB service running `image` with HAProxy's command.

    Idempotent: a stack read back from a record is already resolved.
    """
    if not any(s.load_balancer is not None for s in stack.services):
        return stack
    services = tuple(
        dataclasses.replace(s, image=image, command=haproxy.COMMAND, entrypoint=None)
        if s.load_balancer is not None else s for s in stack.services)
    return dataclasses.replace(stack, services=services)


def _containers(session: HostSession, stack: str) -> list[dict]:
    return session.call(lambda client: client.api.containers(
        all=True, filters={"label": f"{L.STACK}={stack}"}))


def _name(container: dict) -> str:
    return (container.get("Names") or ["/?"])[0].lstrip("/")


def _networks(container: dict) -> dict[str, dict]:
    return (container.get("NetworkSettings") or {}).get("Networks") or {}


def servers_for(stack: Stack, lb_host: str, lb_container: dict,
                view: dict[str, list[dict]], addresses: dict[str, str],
                leaving: frozenset[str] = frozenset()
                ) -> tuple[dict[tuple[str, int], list[haproxy.Server]], list[str]]:
    """Each rule's servers as the LB container on `lb_host` reaches them.

    Args:
        stack: The stack (its LB service names the rules).
        lb_host: Where the LB container runs.
        lb_container: The LB container as the engine lists it.
        view: Host -> the stack's containers there (`containers` listing).
        addresses: Host -> its address, for targets on other hosts.
        leaving: Containers about to be removed: left out (drained) unless
            nothing else would serve their rule.

    Returns:
        (target service, target port) -> servers, and why some running target
        containers are left out.
    """
    service = stack.service(lb_container["Labels"][L.SERVICE])
    assert service.load_balancer is not None
    ours = set(_networks(lb_container))
    # A bridge of the same name has another ID on each host; an overlay keeps one.
    overlay_ids = {net.get("NetworkID") for net in _networks(lb_container).values()} - {None, ""}
    servers: dict[tuple[str, int], list[haproxy.Server]] = {}
    problems: list[str] = []
    for rule in service.load_balancer.rules:
        key = (rule.service, rule.target_port)
        if key in servers:
            continue
        found: list[haproxy.Server] = []
        for host in sorted(view):
            for container in sorted(view[host], key=_name):
                labels = container.get("Labels") or {}
                if labels.get(L.SERVICE) != rule.service or container.get("State") != "running":
                    continue
                name = _name(container)
                if host == lb_host:
                    shared = sorted(set(_networks(container)) & ours)
                    address = _networks(container)[shared[0]].get("IPAddress") if shared else None
                    if address:
                        found.append(haproxy.Server(name, address, rule.target_port))
                    else:
                        problems.append(f"{name} shares no network with {_name(lb_container)}")
                    continue
                across = next((net.get("IPAddress") for _, net in sorted(
                    _networks(container).items()) if net.get("NetworkID") in overlay_ids
                    and net.get("IPAddress")), None)
                if across:
                    found.append(haproxy.Server(name, across, rule.target_port))
                    continue
                public = next((p.get("PublicPort") for p in container.get("Ports") or []
                               if p.get("PrivatePort") == rule.target_port
                               and p.get("Type", "tcp") == "tcp" and p.get("PublicPort")), None)
                if public and host in addresses:
                    found.append(haproxy.Server(name, addresses[host], int(public)))
                else:
                    problems.append(f"{name} on {host} publishes no port for {rule.target_port};"
                                    f" {_name(lb_container)} on {lb_host} cannot reach it")
        staying = [server for server in found if server.name not in leaving]
        servers[key] = staying or found
    return servers, problems


def config_for(stack: Stack, lb_host: str, lb_container: dict, view: dict[str, list[dict]],
               addresses: dict[str, str], leaving: frozenset[str] = frozenset()
               ) -> tuple[str, list[str]]:
    """The haproxy.cfg text for one LB container, and the targets it cannot reach."""
    service = stack.service(lb_container["Labels"][L.SERVICE])
    assert service.load_balancer is not None
    servers, problems = servers_for(stack, lb_host, lb_container, view, addresses, leaving)
    checks = {s.name: s.health_check for s in stack.services}
    return haproxy.render(service.name, service.load_balancer, servers, checks), problems


def _archive(text: str, certs: list[bytes] | None = None) -> bytes:
    """A tar holding the configuration (and certificate files) at their paths, parents too."""
    buffer = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buffer, mode="w") as tar:

        def add(path: str, mode: int, data: bytes | None = None) -> None:
            info = tarfile.TarInfo(path.lstrip("/"))
            info.mode, info.mtime = mode, now
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))

        parts = haproxy.CONFIG_DIR.strip("/").split("/")
        for depth in range(1, len(parts) + 1):
            add("/".join(parts[:depth]), 0o755)
        add(haproxy.CONFIG_PATH, 0o644, text.encode())
        if certs:
            add(haproxy.CERT_DIR, 0o700)
            for index, pem in enumerate(certs):
                add(haproxy.cert_path(index), 0o600, pem)  # holds a private key
    return buffer.getvalue()


def _read(session: HostSession, container: str, path: str) -> bytes | None:
    """A file inside the container, or None when there is none."""
    def read(client) -> bytes:
        stream, _ = client.api.get_archive(container, path)
        return b"".join(stream)

    try:
        data = session.call(read)
    except NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = next((m for m in tar.getmembers() if m.isfile()), None)
        extracted = tar.extractfile(member) if member else None
        return extracted.read() if extracted else None


def current_config(session: HostSession, container: str) -> str | None:
    """The haproxy.cfg inside the container, or None when there is none."""
    data = _read(session, container, haproxy.CONFIG_PATH)
    return None if data is None else data.decode(errors="replace")


def local_certs(service: Service) -> list[bytes] | None:
    """The LB's certificate files as this machine holds them; None if one is missing."""
    assert service.load_balancer is not None
    try:
        return [Path(path).read_bytes() for path in service.load_balancer.cert_files]
    except OSError:
        return None


def write_config(session: HostSession, container: str, text: str,
                 certs: list[bytes] | None = None) -> None:
    """Put `text` (and `certs`) at their paths inside the container (running or not)."""
    data = _archive(text, certs)
    session.call(lambda client: client.api.put_archive(container, "/", data))


def seed(session: HostSession, fleet: Fleet, stack: Stack, container: str) -> None:
    """Write a created (not yet started) LB container's first configuration.

    Only this host's containers are read: `refresh()` after the apply adds
    targets elsewhere.
    """
    listing = _containers(session, stack.name)
    lb = next((c for c in listing if _name(c) == container), None)
    if lb is None:
        return
    text, _ = config_for(stack, session.name, lb, {session.name: listing},
                         _addresses(fleet))
    service = stack.service(lb["Labels"][L.SERVICE])
    certs = local_certs(service)
    if certs is None:
        raise DeployError(f"load balancer {container}: a certificate file of"
                          f" {', '.join(service.load_balancer.certs)} is not on this machine;"  # type: ignore[union-attr]
                          " deploy from the folder that holds it", host=session.name)
    write_config(session, container, text, certs)


def _addresses(fleet: Fleet) -> dict[str, str]:
    return {host.name: host.address for host in fleet.inventory.hosts}


@dataclass
class Refreshed:
    """What `refresh()` did.

    Attributes:
        reloaded: (host, container) of LB containers reloaded or started.
        undrained: (host, container) of LB containers whose old workers still
            ran after `DRAIN_SECONDS` of a drain.
        unreachable: Host -> target containers its LB containers cannot reach.
        errors: Host -> why its LB configuration could not be read or written.
    """

    reloaded: list[tuple[str, str]] = field(default_factory=list)
    undrained: list[tuple[str, str]] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def refresh(fleet: Fleet, stack: Stack, hosts: list[str],
            leaving: frozenset[str] = frozenset()) -> Refreshed:
    """Regenerate every LB container's configuration; reload those that changed.

    Args:
        fleet: The fleet.
        stack: The stack as applied.
        hosts: The online hosts (where the stack's containers are read).
        leaving: Containers an apply is about to remove or replace: called
            first with them, the LBs stop sending new requests there before
            they go (a removed container's address would hang connects).
    """
    done = Refreshed()
    if not any(s.load_balancer is not None for s in stack.services):
        return done
    lb_names = {s.name for s in stack.services if s.load_balancer is not None}
    view: dict[str, list[dict]] = {}
    for result in fleet.query(lambda session: _containers(session, stack.name), hosts=hosts):
        if result.ok:
            view[result.host] = result.value or []
        else:
            done.errors[result.host] = result.error.message  # type: ignore[union-attr]
    addresses = _addresses(fleet)
    work: dict[str, list[tuple[str, str, bool]]] = {}
    for host, listing in view.items():
        for container in listing:
            if (container.get("Labels") or {}).get(L.SERVICE) not in lb_names:
                continue
            text, unreachable = config_for(stack, host, container, view, addresses, leaving)
            if unreachable:
                done.unreachable[host] = "; ".join(unreachable)
            certs = local_certs(stack.service(container["Labels"][L.SERVICE]))
            work.setdefault(host, []).append(
                (_name(container), text, certs, container.get("State") == "running"))

    def deliver(session: HostSession) -> list[tuple[str, bool]]:
        changed = []
        for name, text, certs, running in work[session.name]:
            # Certificates are rewritten when this machine has them and they changed
            # (renewed); otherwise those in the container stay.
            same_certs = certs is None or all(
                _read(session, name, haproxy.cert_path(i)) == pem for i, pem in enumerate(certs))
            if current_config(session, name) == text and same_certs and running:
                continue
            write_config(session, name, text, None if same_certs else certs)
            drained = True
            if running:
                old = workers(session, name) if leaving else set()
                session.call(lambda client, n=name: client.api.kill(n, signal="SIGUSR2"))
                drained = not old or wait_drained(session, name, old)
            else:
                session.call(lambda client, n=name: client.api.start(n))
            changed.append((name, drained))
        return changed

    for result in fleet.query(deliver, hosts=sorted(work)):
        if result.ok:
            for name, drained in result.value or []:
                done.reloaded.append((result.host, name))
                if not drained:
                    done.undrained.append((result.host, name))
        else:
            done.errors[result.host] = \
                f"load balancer configuration: {result.error.message}"  # type: ignore[union-attr]
    return done


def workers(session: HostSession, container: str) -> set[str]:
    """The PIDs of HAProxy's workers in `container`: its processes without children.

    The master forks the workers, and may itself be the child of an init
    (`docker-init` when the container runs with one). Read with `docker top`
    (the host's `ps`), so nothing runs in the container.
    """
    try:
        listing = session.call(lambda client: client.api.top(container)) or {}
    except CorralError:  # gone or stopped meanwhile: nothing of it to wait for
        return set()
    titles = listing.get("Titles") or []
    if "PID" not in titles or "PPID" not in titles:
        return set()
    pid, ppid = titles.index("PID"), titles.index("PPID")
    rows = listing.get("Processes") or []
    parents = {row[ppid] for row in rows}
    return {row[pid] for row in rows if row[pid] not in parents}


def wait_drained(session: HostSession, container: str, old: set[str],
                 timeout: float = DRAIN_SECONDS) -> bool:
    """Wait until none of the `old` workers runs in `container` any more.

    After SIGUSR2, HAProxy's master starts workers with the new configuration;
    the old ones stop accepting, finish the requests they hold, and exit. Until
    then they may still send a request to a container the apply is removing.

    Returns:
        Whether they ended within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while workers(session, container) & old:
        if time.monotonic() >= deadline:
            return False
        time.sleep(_DRAIN_POLL)
    return True


def describe(service: Service) -> list[str]:
    """One line per rule, for the plan: `:80 -> web:80 http host a.example path /x`."""
    balancer = service.load_balancer
    if balancer is None:
        return []
    lines = []
    for _, rule in haproxy.ordered(balancer.rules):
        words = [f":{rule.source_port} -> {rule.service}:{rule.target_port}", rule.protocol]
        if rule.hostname:
            words.append(f"host {rule.hostname}")
        if rule.path:
            words.append(f"path {rule.path}")
        if rule.priority is not None:
            words.append(f"priority {rule.priority}")
        lines.append(" ".join(words))
    if balancer.stickiness is not None:
        lines.append(f"sticky cookie {balancer.stickiness.cookie} ({balancer.stickiness.mode})")
    return lines or ["no rules: forwards nothing"]

