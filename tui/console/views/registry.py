"""Which views the `:` command line knows, and their aliases."""

from __future__ import annotations

from corral.tui.console.views.audit import AuditView
from corral.tui.console.views.base import ResourceView
from corral.tui.console.views.containers import ContainersView
from corral.tui.console.views.events import EventsView
from corral.tui.console.views.hosts import HostsView
from corral.tui.console.views.images import ImagesView
from corral.tui.console.views.nodes import NodesView
from corral.tui.console.views.stacks import StacksView
from corral.tui.console.views.volumes import VolumesView

VIEWS: dict[str, type[ResourceView]] = {
    view.NAME: view
    for view in (ContainersView, HostsView, StacksView, VolumesView, ImagesView, EventsView,
                 AuditView, NodesView)
}

ALIASES: dict[str, str] = {
    "ps": "containers", "co": "containers", "container": "containers", "pods": "containers",
    "host": "hosts", "no": "hosts", "node": "nodes", "swarm": "nodes",
    "st": "stacks", "stack": "stacks", "svc": "stacks", "services": "stacks",
    "vol": "volumes", "volume": "volumes", "pv": "volumes",
    "img": "images", "image": "images",
    "ev": "events", "event": "events",
    "cat": "catalog",
    "aud": "audit", "history": "audit",
}


def resolve_view(word: str) -> str | None:
    """The view a `:` word names (a view name or an alias), or None."""
    word = word.strip().lower()
    if word in VIEWS or word == "catalog":
        return word
    return ALIASES.get(word)


def command_words() -> list[str]:
    """Every word the command line completes, full view names first.

    The suggester offers the first word that starts with what was typed, so
    `vol` completes to `volumes` rather than stopping at the alias `vol`.
    """
    names = [*VIEWS, "catalog", "help", "quit"]
    return names + sorted(set(ALIASES) - set(names))
