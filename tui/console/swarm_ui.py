"""The console's swarm node changes: ask first, then drain or activate on a worker thread."""

from __future__ import annotations

from typing import Any

from corral.backends.errors import BackendError
from corral.tui.console.model.swarm import NodeRecord
from corral.tui.console.screens.modals import ConfirmScreen


def availability_question(record: NodeRecord, availability: str) -> tuple[str, list[str]]:
    """The question asked before changing a node's availability, and the objects it lists."""
    node = record.node
    where = f"node {node.hostname or node.id[:12]}" + (
        f" (inventory host {node.host})" if node.host else " (not in the inventory)")
    if availability == "drain":
        tasks = [f"{name}.{task.slot or task.node}  {task.state}  {task.id[:12]}"
                 for name, task in record.tasks]
        if tasks:
            return (f"Drain {where}? Swarm moves these {len(tasks)} tasks to other nodes"
                    " and places no new ones on it:", tasks)
        return f"Drain {where}? It runs no task now; Swarm places no new ones on it.", []
    return (f"Make {where} active? Swarm may place new tasks on it (running tasks do not"
            " move back by themselves).", [])


def ask_availability(screen: Any, record: NodeRecord, availability: str) -> None:
    """Ask, then set the node's availability through its swarm's manager.

    Args:
        screen: The console screen (it notifies, and reads the nodes again after).
        record: The node.
        availability: `drain` or `active`.
    """
    if not record.manager:
        screen.notify("no manager of this swarm answers: nothing can change its nodes",
                      severity="error")
        return
    question, objects = availability_question(record, availability)

    def confirmed(answer: bool | None) -> None:
        if answer:
            screen.run_worker(lambda: _set(screen, record, availability), thread=True,
                              group="swarm")

    screen.app.push_screen(ConfirmScreen(question, objects), confirmed)


def _set(screen: Any, record: NodeRecord, availability: str) -> None:
    """On a worker thread: the change itself, then a fresh reading of the nodes."""
    from corral.backends.swarm import set_availability

    name = record.node.hostname or record.node.id[:12]
    try:
        set_availability(screen.fleet, record.manager, record.node, availability,
                         readonly=screen.readonly)
    except BackendError as exc:
        screen.app.call_from_thread(screen.notify, str(exc), title="Swarm", severity="error",
                                    timeout=8)
        return
    screen.app.call_from_thread(screen.notify, f"node {name}: {availability}", timeout=3)
    screen.app.call_from_thread(screen.load_listing, "nodes")
