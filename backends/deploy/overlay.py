"""A stack's network as one overlay across its hosts, when they are one swarm.

When every host a plan uses is an active member of one swarm (the plan's
`overlay`), the stack's networks are attachable overlays made once through
a manager, and each host's containers join them by name: links and service
names then resolve on every host. A stack that ran on per-host bridge
networks of the same name moves: on each host its containers on the bridge
(all being recreated, since their configuration hash says "bridge") are
removed and the bridge with them, before the overlay is made, so no host
ever sees two networks of one name.

Blocking (docker-py through `HostSession.call`): called by `apply` before
the hosts converge.
"""

from __future__ import annotations

from corral.backends import labels as L
from corral.backends.deploy.objects import network_settings, object_labels, remove_container
from corral.backends.deploy.prepare import Prepared, Progress, ProgressCallback
from corral.backends.errors import BackendError, DeployError
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession
from corral.catalog.spec import Stack


def overlay_names(stack: Stack, networks: set[str]) -> list[str]:
    """The engine networks among `networks` that become overlays (not the external ones)."""
    external = {n.external_name or n.name for n in stack.networks if n.external}
    return sorted(networks - external)


def _named(session: HostSession, name: str) -> list[dict]:
    found = session.call(lambda client: client.api.networks(names=[name]))
    return [n for n in found if n.get("Name") == name]


def leave_bridge(session: HostSession, stack: str, name: str) -> bool:
    """Remove the host's local network `name` and the stack's containers on it.

    Returns:
        True when a local network was removed.

    Raises:
        DeployError: A container outside the stack uses it; nothing removed.
    """
    local = [n for n in _named(session, name) if n.get("Scope") == "local"]
    for network in local:
        detail = session.call(lambda client, i=network["Id"]: client.api.inspect_network(i))
        attached = list((detail.get("Containers") or {}).keys())
        owners = {}
        for ref in attached:
            inspect = session.call(lambda client, r=ref: client.api.inspect_container(r))
            owners[ref] = ((inspect.get("Config") or {}).get("Labels") or {}).get(L.STACK)
        strangers = [ref[:12] for ref, owner in owners.items() if owner != stack]
        if strangers:
            raise DeployError(f"network {name} cannot move onto the overlay: containers outside"
                              f" the stack use it ({', '.join(strangers)})", host=session.name)
        for ref in attached:
            remove_container(session, ref)
        session.call(lambda client, i=network["Id"]: client.api.remove_network(i))
    return bool(local)


def ensure_overlay(session: HostSession, stack: Stack, name: str) -> bool:
    """Make the attachable overlay `name` through a manager unless it exists; True when made."""
    if any(n.get("Scope") == "swarm" for n in _named(session, name)):
        return False
    spec = next((n for n in stack.networks if f"{stack.name}_{n.name}" == name), None)
    options = dict(spec.driver_opts) if spec else {}
    settings = network_settings(spec)
    labels = object_labels(stack, {"driver": "overlay", "options": options, **settings})
    session.call(lambda client: client.api.create_network(
        name, driver="overlay", attachable=True, options=options or None, labels=labels,
        scope="swarm", check_duplicate=True, **settings))
    return True


def manager_of(prepared: Prepared) -> str:
    """An online inventory host managing the swarm the plan's hosts are in.

    Raises:
        DeployError: None is (the swarm changed since the plan was read).
    """
    hosts = {h.name: h for h in prepared.state.hosts}
    key = hosts[prepared.plan.overlay[0]].swarm
    found = sorted(h.name for h in hosts.values() if h.online and h.swarm == key
                   and h.swarm_manager)
    if not found:
        raise DeployError("no inventory host manages the swarm to make the stack's overlay"
                          " network through; nothing was changed: plan again")
    return found[0]


def move_to_overlay(fleet: Fleet, prepared: Prepared, networks: set[str],
                    report: ProgressCallback, *, upgrade: bool = False) -> None:
    """Remove the stack's bridges of the overlay's names on every host, then make the overlay.

    Args:
        fleet: The hosts.
        prepared: A plan with `overlay` hosts.
        networks: The engine networks the new containers join.
        report: Progress callback.
        upgrade: An upgrade that keeps the previous containers for a rollback:
            those cannot follow a move, so a move is refused.

    Raises:
        DeployError: A bridge is used outside the stack, no manager answers,
            or an upgrade would move the stack; nothing was changed then.
        BackendError: A host failed.
    """
    stack = prepared.stack
    names = overlay_names(stack, networks)
    if not names:
        return
    moving = f"moves onto overlay {stack.name}_default"
    if upgrade and any(step.reason == moving for step in prepared.plan.steps):
        raise DeployError(f"stack {stack.name} would move onto overlay {stack.name}_default"
                          " during an upgrade, and its previous containers could not be kept"
                          " for a rollback; nothing was changed: deploy the running version"
                          " first (that moves it), then upgrade")
    manager = manager_of(prepared)
    hosts = sorted(set(prepared.state.online) & ({s.host for s in prepared.plan.steps}
                                                 | set(prepared.plan.overlay)))

    def leave(session: HostSession) -> None:
        for name in names:
            if leave_bridge(session, stack.name, name):
                report(Progress(session.name, name, "network", "done",
                                "bridge removed: the stack moves onto the overlay"))

    errors = {}
    for result in fleet.query(leave, hosts=hosts):
        if not result.ok:
            error = result.error
            errors[result.host] = error.message if isinstance(error, BackendError) else "failed"
    if errors:
        host, why = sorted(errors.items())[0]
        raise DeployError(f"moving the stack onto its overlay failed: {why}", host=host)
    session = fleet.session(manager)
    for name in names:
        if ensure_overlay(session, stack, name):
            report(Progress(manager, name, "network", "done",
                            f"overlay across {', '.join(prepared.plan.overlay)}"))
