"""The console screen's part that follows the fleet: the inventory file, engines, pauses.

A mixin of `ConsoleScreen` (kept apart so the screen module stays about
views and panes): it re-reads the inventory when its file changes, and
shows what Corral will not act on: hosts paused with `P`, and hosts that are
one engine under two names (see `backends/engine_identity.py`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import work

from corral.backends.errors import InventoryError
from corral.tui.console.views.hosts import HostsView
from corral.tui.console.widgets.host_bar import HostBar

if TYPE_CHECKING:
    from corral.backends.ssh import Fleet
    from corral.tui.console.model.deploy_flow import DeployFlow
    from corral.tui.console.model.inventory_watch import InventoryWatch
    from corral.tui.console.model.store import ContainerStore


class FleetFollow:
    """Inventory reload and the not-acting marks; mixed into `ConsoleScreen`."""

    fleet: Fleet
    flow: DeployFlow
    store: ContainerStore
    readonly: bool
    inventory_watch: InventoryWatch
    #: Hosts that left the inventory: late updates of their watchers are dropped.
    _gone: set[str]
    #: The one-engine-two-hosts problem last told, so it is told once.
    _told_same_engine: str | None
    #: One reload at a time, each to its end (see `reload_inventory`).
    _reloading: asyncio.Lock

    def show_marks(self) -> None:
        """Show paused hosts and hosts that are one engine; tell a new engine problem once."""
        problem = self.fleet.same_engine()
        self.query_one(HostBar).set_marks(self.flow.paused, problem.hosts if problem else ())
        hosts = self.query_one(HostsView)
        if hosts.paused != self.flow.paused:
            hosts.paused = set(self.flow.paused)
            hosts.redraw()
        told = str(problem) if problem else None
        if told is not None and told != self._told_same_engine:
            self.notify(told, title=problem.title, severity="error", timeout=30)
        self._told_same_engine = told

    def on_hosts_view_toggle_pause(self, message: HostsView.TogglePause) -> None:
        if self.readonly:
            self.notify("read-only: changes are disabled", severity="error")
            return
        if self.flow.toggle_pause(message.host):
            self.notify(f"{message.host}: health actions and reconcile leave it alone until "
                        "you press P again (for this console session)", title="Acting paused")
        else:
            self.notify(f"{message.host}: health actions and reconcile resume",
                        title="Acting resumed")
        self.show_marks()

    def poll_inventory(self) -> None:
        """Re-read the inventory when its file changed (one stat per poll)."""
        if self.fleet.backend is not None and self.inventory_watch.changed():
            self.reload_inventory()

    @work(group="inventory")
    async def reload_inventory(self) -> None:
        """Follow the inventory file: hosts added, removed or changed take effect now.

        Reloads queue rather than cancel each other: one cancelled after the
        fleet dropped a host but before its watcher stopped would leave that
        host's rows on screen, and the next reload would see nothing removed.
        """
        async with self._reloading:
            await self._reload_inventory()

    async def _reload_inventory(self) -> None:
        try:
            inventory = await asyncio.to_thread(self.inventory_watch.read)
        except InventoryError as exc:
            self.notify(f"{exc}; still using the hosts read before", title="Inventory not reloaded",
                        severity="error", timeout=15)
            return
        removed, added = await self.fleet.backend.arun(self.fleet.apply_inventory(inventory))
        bar = self.query_one(HostBar)
        for name in removed:
            watcher = self.watchers.pop(name, None)
            if watcher is not None:
                watcher.stop()
            bar.drop(name)
        self._gone = (self._gone | set(removed)) - set(added)
        for name in added:
            bar.set_status(self.fleet.sessions[name].status)
        self.watch_new_hosts()
        self.sub_title = f"{len(self.fleet.sessions)} hosts"
        if self.fleet.sessions:
            self.query("#no-hosts").remove()
        self.show_marks()
        self.load_hosts()
        if removed or added:
            gone = [name for name in removed if name not in added]
            changed = [name for name in removed if name in added]
            new = [name for name in added if name not in removed]
            words = [f"{label} {', '.join(names)}" for label, names in
                     (("removed", gone), ("changed", changed), ("added", new)) if names]
            self.notify("; ".join(words), title="Inventory reloaded")
