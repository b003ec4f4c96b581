"""The console against the lab, driven with Pilot: the app, waits, typed commands.

Shared by the lab console tests (`tests/labtests/test_console*.py`,
`test_add_host.py`) and, for the demo's catalog form, by
`screenshots/make_screenshots.py`.
"""

from __future__ import annotations

from corral.backends.inventory.load import load_inventory
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.screens.catalog import CatalogEntryScreen
from corral.tui.console.screens.catalog_form import STACK_FIELD
from corral.tui.console.views.base import ResourceView
from corral.tui.console.widgets.question_field import QuestionField
from tests.support.catalog_pilot import entries_loaded, form_shown
from tests.support.lab import Lab
from tests.support.pilot import kept_notifications
from tests.support.pilot import until as pilot_until

#: The terminal size of the lab console tests.
SIZE = (180, 50)


def console(lab: Lab, readonly: bool = False) -> CorralApp:
    """A console on the lab's inventory, with short keepalives and connect timeouts."""
    settings = SshSettings(
        known_hosts=(str(lab.known_hosts),), keepalive_interval=2, connect_timeout=5
    )
    app = CorralApp(load_inventory(lab.inventory), settings, Config(readonly=readonly))
    kept_notifications(app)
    return app


def told(app: CorralApp) -> list[str]:
    """What the console has told so far, toasts expired or not (`kept_notifications`)."""
    return [notification.message for notification in kept_notifications(app)]


async def until(pilot, condition, what: str, timeout: float = 15.0) -> None:
    """`tests.support.pilot.until` with the longer deadline a lab host may need."""
    await pilot_until(pilot, condition, what, timeout, step=0.1)


async def online(pilot, app: CorralApp) -> None:
    """Wait until every lab host's session is online."""
    await until(pilot, lambda: all(s.online for s in app.fleet.sessions.values()), "online")


def view(app: CorralApp, name: str) -> ResourceView:
    """The console's resource view called `name`."""
    return app.screen.query_one(f"#{name}", ResourceView)


async def command(pilot, text: str) -> None:
    """Type `text` on the `:` line, one key at a time, and press enter."""
    await pilot.press("colon")
    for char in text:
        await pilot.press(char)
    await pilot.press("enter")
    await pilot.pause()


async def select(pilot, app: CorralApp, name: str, text: str) -> None:
    """Filter view `name` down to the row matching `text` and put the cursor on it."""
    await command(pilot, name)
    await pilot.press("slash")
    for char in text:
        await pilot.press(char)
    await pilot.press("enter")
    await until(pilot, lambda: view(app, name).row_count == 1, f"one row for {text}")


# The built-in webrtc-demo, deployed from the console's catalog form under its
# own name and public port (so it never meets the stacks of `test_deploy.py`).

#: The demo's KV_PASSWORD: it must never show on screen or in `corral`'s output.
SECRET = "console-s3cret-pw"
#: The demo's stack name.
STACK = "cdemo"
#: The demo's PUBLIC_PORT.
PORT = "8091"


async def open_demo_form(pilot) -> None:
    """`:catalog`, search the demo, open it, configure its default version."""
    await command(pilot, "catalog")
    entries = await entries_loaded(pilot)
    await pilot.press("slash", *"rtc", "enter")
    await until(pilot, lambda: entries.row_count == 1, "the demo entry")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, CatalogEntryScreen), "the entry")
    await pilot.press("c")


async def fill_demo_form(pilot, **answers: str) -> None:
    """The demo's form with the stack name `STACK`, port `PORT`, password `SECRET`, and
    `answers`."""
    form = await form_shown(pilot)
    form.query_one(f"#{STACK_FIELD}", QuestionField).control.value = STACK
    for variable, value in {"PUBLIC_PORT": PORT, "KV_PASSWORD": SECRET, **answers}.items():
        form.fields[variable].control.value = value


async def shell_and_log_panes(pilot, app: CorralApp, shell_in: str, logs_of: str):
    """Open a shell pane in container `shell_in`, then a log pane of `logs_of`.

    Returns:
        The `ShellPane` (at its prompt) and the `LogPane`, in the console's workspace.
    """
    from corral.tui.console.widgets.logs.view import LogPane
    from corral.tui.console.widgets.terminal.pane import ShellPane
    from tests.support.shell_pane import prompt_ready

    workspace = app.screen.workspace
    await select(pilot, app, "containers", shell_in)
    await pilot.press("s")
    await until(pilot, lambda: len(workspace.panes) == 1, "a shell pane")
    shell = workspace.panes[0].content
    assert isinstance(shell, ShellPane)
    await until(pilot, lambda: prompt_ready(shell), "the prompt", timeout=20)
    await pilot.press("ctrl+right_square_bracket")  # out of the shell
    await select(pilot, app, "containers", logs_of)
    await pilot.press("l")
    await until(pilot, lambda: len(workspace.panes) == 2, "a log pane")
    logs = workspace.panes[1].content
    assert isinstance(logs, LogPane)
    return shell, logs
