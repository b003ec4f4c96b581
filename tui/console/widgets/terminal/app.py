"""`corral shell`: one shell pane full screen, under the host bar."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence

from textual.binding import Binding

from corral.backends.exec import ContainerTarget
from corral.backends.inventory import Inventory
from corral.backends.ssh import SshSettings
from corral.tui.console.fleet_app import PaneApp
from corral.tui.console.widgets.terminal.pane import ShellPane, wait_for_shells
from corral.tui.console.widgets.terminal.view import TerminalView


class ShellApp(PaneApp):
    """A `PaneApp` holding one `ShellPane`; exits with the shell's exit code.

    Args:
        inventory: The hosts.
        settings: SSH settings.
        target: The container.
        command: Command to run; empty for the default shell.
        user: User to run as.
    """

    # The palette's ctrl+p is a priority binding: it would take ctrl+p
    # (previous history line) away from the shell.
    ENABLE_COMMAND_PALETTE = False

    BINDINGS = [
        # Only reachable while the terminal is not focused (it takes Enter
        # itself); Tab works too, through the screen's focus chain.
        Binding(
            "enter", "focus_shell", "Back to the shell", id="shell.focus",
            tooltip="Return the focus to the terminal (after ctrl+] left it)",
        ),
    ]

    def __init__(
        self,
        inventory: Inventory,
        settings: SshSettings,
        target: ContainerTarget,
        *,
        command: Sequence[str] = (),
        user: str | None = None,
    ):
        super().__init__(
            inventory,
            settings,
            lambda fleet: ShellPane(fleet, target, command=command, user=user, id="shell"),
            title=f"Corral · {target}",
        )

    def on_mount(self) -> None:
        # Everything built so far lives as long as the app: keep the cyclic
        # collector from walking it again and again while output floods in
        # (full collections were the longest UI stalls measured).
        gc.freeze()

    async def on_unmount(self) -> None:
        # Runs before FleetApp's, which closes the tunnels: a shell still
        # running must be hung up through them first.
        await asyncio.to_thread(wait_for_shells)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Show "back to the shell" only while the shell has not the focus.
        if action == "focus_shell":
            return not isinstance(self.focused, TerminalView)
        return True

    def action_focus_shell(self) -> None:
        """Focus the terminal again."""
        self.query_one(TerminalView).focus()

    def on_shell_pane_closed(self, message: ShellPane.Closed) -> None:
        pane = message.pane
        failed = pane.lost or pane.key_refused is not None
        self.exit(return_code=1 if failed else (message.exit_code or 0))
