"""The Corral console: wiring only; the main screen lives in `console/screens/console.py`."""

from __future__ import annotations

from collections.abc import Coroutine, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from corral.backends.inventory import Inventory
from corral.backends.ssh import SshSettings
from corral.tui.config import Config
from corral.tui.console.fleet_app import FleetApp
from corral.tui.console.model.data import ConsoleData
from corral.tui.console.model.deploy_flow import DeployFlow
from corral.tui.console.screens.console import ConsoleScreen
from corral.tui.console.screens.leaving import letters_are_local, quit_app
from corral.tui.console.views.registry import VIEWS

if TYPE_CHECKING:
    from corral.backends.images import BundleSource
    from corral.tui.catalog_sources import OpenedBundle
    from corral.tui.console.screens.catalog_form import CatalogForm


class CorralApp(FleetApp):
    """The Corral console.

    Args:
        inventory: The hosts to manage.
        settings: SSH settings for every connection.
        config: The user's configuration (read-only mode, keymap…).
        data: Where the console's data comes from; by default, live from the hosts.
        bundles: Bundle files open as catalog sources (`corral --bundle FILE`): their
            entries join the catalog, and their images are pushed from them.
    """

    TITLE = "Corral"
    BINDINGS = [
        # Not in forms and panes: there `q` is text, or nothing (see check_action).
        Binding("q", "quit_key", "Quit", id="app.quit",
                tooltip="Leave Corral (asks first if a form holds answers not saved)"),
    ]

    def __init__(self, inventory: Inventory, settings: SshSettings, config: Config | None = None,
                 data: ConsoleData | None = None, bundles: Sequence[OpenedBundle] = ()):
        self.config = config or Config()
        self.bundles = tuple(bundles)
        super().__init__(inventory, settings, readonly=self.config.readonly,
                         registries=self.config.registries)
        self.inventory_path = str(inventory.path or "")
        self.flow = DeployFlow(self.fleet)
        self.data = data if data is not None else ConsoleData(self.fleet, self.flow)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, ConsoleScreen):
            for name in (*VIEWS, "catalog"):
                yield SystemCommand(
                    f"View {name}", f"Show the {name} of every host",
                    partial(screen.show_view, name),
                )
            for name in self.fleet.sessions:
                yield SystemCommand(
                    f"Reconnect {name} now", f"Retry {name} at once instead of after the "
                    "retry delay (hosts view: C)", partial(screen.reconnect_host, name),
                )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "quit_key":
            return not letters_are_local(self.focused)
        return super().check_action(action, parameters)

    def action_quit_key(self) -> None:
        quit_app(self)

    async def action_quit(self) -> None:
        """Quit (`ctrl+q`, `:q`), asking first if a form holds answers not saved."""
        quit_app(self)

    def keep_online(self) -> Coroutine[Any, Any, None]:
        return self.data.keep_online()

    def on_mount(self) -> None:
        if self.config.keymap:
            self.set_keymap(self.config.keymap)
        self.push_screen(
            ConsoleScreen(
                self.fleet, readonly=self.config.readonly, inventory_path=self.inventory_path,
                flow=self.flow, data=self.data,
            )
        )

    @property
    def bundle_catalogs(self) -> list:
        """The catalogs of the open bundles, for the catalog screens."""
        return [bundle.catalog for bundle in self.bundles]

    def bundle_of(self, entry) -> BundleSource | None:
        """The open bundle `entry` comes from, if any: its images are pushed from it."""
        return next((b.source for b in self.bundles if b.holds(entry)), None)

    def on_catalog_form_plan_requested(self, message: CatalogForm.PlanRequested) -> None:
        from corral.tui.console.screens.catalog_form import CatalogForm
        from corral.tui.console.screens.plan import PlanScreen

        if message.stack is None:
            return
        source = f"{message.entry.id} {message.version.version}"
        for form in self.screen.query(CatalogForm):  # the plan screen says it from now on
            form.say("")
        if message.upgrade is not None and message.upgrade.engine == "swarm":
            from corral.tui.console.screens.swarm_plan import SwarmPlanScreen

            self.push_screen(SwarmPlanScreen(self.fleet, message.stack, message.answers,
                                             source=source, readonly=self.config.readonly,
                                             bundle=self.bundle_of(message.entry)))
            return
        self.push_screen(PlanScreen(self.flow, message.stack, message.answers, source=source,
                                    readonly=self.config.readonly,
                                    bundle=self.bundle_of(message.entry)))
