"""Read-only holds for every console binding: each one that changes something is hidden
and refused, the shell included.

The bindings are read from every screen, widget and app of the console (as
the keymap check reads them), so a binding added later must be classified
here: as mutating (and then proven hidden in read-only, visible otherwise) or
as reading only.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest
from textual.actions import parse as parse_action
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.widget import Widget

from corral.backends import guard
from corral.backends.exec import NotRunning
from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
from corral.tui.console.screens.console import ConsoleScreen
from corral.tui.console.views.base import ResourceView
from tests.support import fleet_data
from tests.support.still_console import INVENTORY_PATH, SIZE, feed
from tests.support.still_data import StillData

#: Bindings that change a host, the inventory or what Corral acts on, or run
#: something in a container.
MUTATING = {
    "container.start", "container.stop", "container.restart", "container.kill",
    "container.remove", "volume.remove",
    "images.push", "images.pull", "images.remove_unused",
    "containers.shell",
    "stacks.confirm", "stacks.rollback", "stacks.upgrade", "stacks.scale_up",
    "stacks.scale_down", "stacks.remove", "stacks.reconcile",
    "hosts.add", "hosts.pause",
    "nodes.drain", "nodes.active", "tasks.shell",
    "plan.apply",
    "shell.debug",
    # Only on the Add host form, which `hosts.add` no longer opens: trying may
    # record a host key, saving writes the inventory.
    "add_host.try", "add_host.save",
}
#: Bindings that read, move, show or close; saving answers or log lines writes
#: a file of the operator's choosing, not a host or the inventory.
READING = {
    "add_host.cancel", "catalog_entry.back", "catalog_entry.configure", "catalog_entry.help",
    "catalog_form.save", "catalog_form.load", "catalog_form.preview", "catalog_form.plan",
    "catalog_form.back", "catalog_form.help", "form.next", "form.previous",
    "catalog.search", "catalog.back", "catalog.reload", "catalog.help",
    "command.cancel", "command.complete", "console.command", "confirm.yes", "confirm.no",
    "console.filter", "console.back", "console.help", "console.reload", "console.side",
    "console.stacked", "console.focus_next", "console.focus_previous",
    "containers.logs", "containers.service_logs", "containers.problems",
    "containers.describe", "app.quit", "app.palette", "hosts.reconnect", "hosts.doctor",
    "logs.pause", "logs.end", "logs.since", "logs.tail", "logs.timestamps", "logs.wrap",
    "logs.filter", "logs.invert", "logs.search", "logs.next", "logs.previous",
    "logs.save_shown", "logs.save_all", "logs.clear", "logs.escape", "logs.close",
    "pane.close", "pane.maximize", "pane.enter", "pane.quit",
    "plan.replan", "plan.stop", "plan.back", "plan.leave", "plan.help",
    "view.mark", "view.sort", "view.sort_reverse", "view.inspect", "view.down", "view.up",
    "view.top", "view.bottom", "view.page_up", "view.page_down", "view.all_hosts",
    *(f"view.host_{n}" for n in range(1, 10)),
    "text.search", "text.next", "text.previous", "text.close",
    "shell.focus", "terminal.leave", "terminal.scroll_back", "terminal.scroll_forward",
    "volumes.records", "images.transfers", "transfers.close",
    "stacks.tasks", "stacks.logs", "tasks.logs", "tasks.close",
    # Only in the host choice of push and pull, which read-only never opens.
    "host_choice.go", "host_choice.cancel",
}


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def console_bindings() -> list[tuple[type, Binding]]:
    """(owner class, binding) of every binding defined in the console's package."""
    package = importlib.import_module("corral.tui")
    for module in pkgutil.walk_packages(package.__path__, "corral.tui."):
        importlib.import_module(module.name)
    owners = {cls for cls in (*_subclasses(App), *_subclasses(Widget))
              if cls.__module__.startswith("corral.tui.")}
    return [(owner, binding) for owner in sorted(owners, key=lambda c: c.__qualname__)
            for binding in vars(owner).get("BINDINGS", ()) if isinstance(binding, Binding)]


def test_every_binding_is_classified() -> None:
    ids = {binding.id for _, binding in console_bindings()}
    assert None not in ids
    unclassified = ids - MUTATING - READING
    assert not unclassified, f"classify {sorted(unclassified)} as MUTATING or READING"
    assert ids == MUTATING | READING  # no stale entry either
    assert not MUTATING & READING


def fleet(readonly: bool) -> SimpleNamespace:
    inventory = SimpleNamespace(path="/tmp/inventory.yaml")
    return SimpleNamespace(readonly=readonly, inventory=inventory)


def shell_pane(readonly: bool) -> DOMNode:
    """A pane whose container crash-loops: the debug shell is what it would offer."""
    from corral.tui.console.widgets.terminal.pane import ShellPane

    pane = ShellPane(fleet(readonly), "lab1/web-1")  # type: ignore[arg-type]
    pane.stopped = NotRunning("web-1", "restarting", 1, 5, "")
    pane.ended = True
    return pane


def plan_screen(readonly: bool) -> DOMNode:
    """A plan ready to apply."""
    from corral.tui.console.screens.plan import PlanScreen

    screen = PlanScreen(None, None, None, readonly=readonly)  # type: ignore[arg-type]
    screen.phase = "planned"
    screen.planned = SimpleNamespace(ready=True)  # type: ignore[assignment]
    return screen


def swarm_plan_screen(readonly: bool) -> DOMNode:
    """A swarm stack's upgrade plan with something to ask Swarm."""
    from corral.tui.console.screens.swarm_plan import SwarmPlanScreen

    screen = SwarmPlanScreen(None, None, None, readonly=readonly)  # type: ignore[arg-type]
    screen.phase = "planned"
    screen.plan = SimpleNamespace(no_op=False)  # type: ignore[assignment]
    return screen


def add_host_screen(readonly: bool) -> DOMNode:
    from corral.tui.console.screens.add_host import AddHostScreen

    return AddHostScreen(fleet(readonly), "/tmp/inventory.yaml")  # type: ignore[arg-type]


def tasks_screen(readonly: bool) -> DOMNode:
    """A swarm service's tasks (a shell runs commands in a task's container)."""
    from corral.backends.swarm import Service
    from corral.tui.console.screens.swarm_tasks import TasksScreen

    return TasksScreen(Service("s1", "web_api", "web", "api", "replicated", 1),
                       readonly=readonly)


def view(owner: type) -> Callable[[bool], DOMNode]:
    def build(readonly: bool) -> DOMNode:
        node = owner()
        node.readonly = readonly
        return node

    return build


#: How to build, read-only or not, each owner of a mutating binding.
FACTORIES: dict[str, Callable[[type], Callable[[bool], DOMNode]]] = {
    "ShellPane": lambda owner: shell_pane,
    "PlanScreen": lambda owner: plan_screen,
    "SwarmPlanScreen": lambda owner: swarm_plan_screen,
    "AddHostScreen": lambda owner: add_host_screen,
    "TasksScreen": lambda owner: tasks_screen,
}


def mutating_bindings() -> list[tuple[type, Binding]]:
    return [(owner, b) for owner, b in console_bindings() if b.id in MUTATING]


@pytest.mark.parametrize(("owner", "binding"), mutating_bindings(),
                         ids=lambda item: getattr(item, "id", None) or item.__name__)
def test_each_mutating_binding_is_hidden_in_read_only(owner: type, binding: Binding) -> None:
    if issubclass(owner, ResourceView):
        make = view(owner)
    else:
        assert owner.__name__ in FACTORIES, f"add a factory for {owner.__name__}"
        make = FACTORIES[owner.__name__](owner)
    _, name, parameters = parse_action(binding.action)
    assert make(False).check_action(name, parameters) is not False  # offered when writable
    assert make(True).check_action(name, parameters) is False


def test_the_debug_shell_is_hidden_when_the_process_alone_is_read_only() -> None:
    guard.enter_readonly("--readonly")
    assert shell_pane(readonly=False).check_action("debug_shell", ()) is False
    assert add_host_screen(readonly=False).check_action("save", ()) is False


@pytest.fixture
def console() -> Iterator[Callable[[bool], CorralApp]]:
    """A read-only console on the made-up fleet that never connects."""
    documents = {row.id: fleet_data.inspect_document(row)
                 for rows in fleet_data.containers().values() for row in rows}
    previous_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()

    def build(readonly: bool) -> CorralApp:
        specs = tuple(HostSpec(name, SshTarget("127.0.0.1", "root", 9), labels=labels)
                      for name, (_, labels) in fleet_data.HOSTS.items())
        return CorralApp(Inventory(hosts=specs, path=INVENTORY_PATH), SshSettings(),
                         Config(readonly=readonly), data=StillData(documents))  # type: ignore[arg-type]

    yield build
    if previous_tz is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = previous_tz
    time.tzset()


async def test_a_read_only_console_refuses_every_mutating_key(console) -> None:
    """Each view's mutating keys, pressed and their actions run directly: nothing opens,
    nothing is asked, nothing reaches the gate."""
    tried = []
    guard.add_observer(lambda m, outcome, detail: tried.append(m.verb))
    app = console(True)
    async with app.run_test(size=SIZE) as pilot:
        await feed(pilot)
        screen = app.screen
        assert isinstance(screen, ConsoleScreen)
        for name in ("containers", "hosts", "volumes", "images", "stacks"):
            screen.show_view(name)
            await pilot.pause()
            table = screen.current_view()
            table.focus()
            assert table.row_count, f"{name}: no rows to act on"
            mine = [b for owner, b in mutating_bindings() if isinstance(table, owner)]
            for binding in mine:
                for key in binding.key.split(","):
                    await pilot.press(key)
                    await pilot.pause()
                    assert app.screen is screen, f"{key} ({binding.id}) opened {app.screen}"
                _, action, parameters = parse_action(binding.action)
                getattr(table, f"action_{action}")(*parameters)  # past check_action
                await pilot.pause()
                assert app.screen is screen, f"{binding.id} opened {app.screen}"
            assert not screen.workspace.panes
        await pilot.press("question_mark")
        shown = set(app.screen.body.columns[2]._cells)
    assert tried == []
    assert not shown & MUTATING


async def test_the_shell_key_opens_a_pane_when_writable(console) -> None:
    """The same console writable: `s` opens a shell pane (so the test above means something)."""
    app = console(False)
    async with app.run_test(size=SIZE) as pilot:
        await feed(pilot)
        screen = app.screen
        screen.current_view().focus()
        await pilot.press("s")
        await pilot.pause()
        assert len(screen.workspace.panes) == 1
