"""The nodes view: every node of the swarms under the hosts, and drain / active.

Read through one manager of each swarm (`model/swarm.py`), again every few
seconds while shown: Swarm changes nodes and moves tasks on its own. `d`
drains the node under the cursor (its tasks move to other nodes) and `a`
makes it active again; both ask first, naming node and host, and a drain lists
the tasks that would move.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from corral.tui.console.model.swarm import NodeRecord
from corral.tui.console.views.base import Column, ResourceView

_STATE_STYLE = {"ready": "green", "down": "red", "disconnected": "red", "unknown": "yellow"}
_AVAILABILITY_STYLE = {"active": "green", "drain": "yellow", "pause": "yellow"}


def manager_status(record: NodeRecord) -> Text:
    """`leader`, the manager's reachability, or nothing for a worker."""
    node = record.node
    if node.role != "manager":
        return Text("")
    if node.leader:
        return Text("leader", style="bold green")
    return Text(node.reachability, style="green" if node.reachability == "reachable" else "red")


class NodesView(ResourceView):
    """Swarm nodes: role, manager status, availability, state, inventory host, tasks."""

    NAME = "nodes"
    KIND = "node"
    EMPTY = "No swarm: no inventory host is a member of one (corral swarm init makes one)."
    COLUMNS = (
        Column("node", "NODE"),
        Column("host", "HOST"),
        Column("role", "ROLE"),
        Column("manager", "MANAGER"),
        Column("availability", "AVAILABILITY"),
        Column("state", "STATE"),
        Column("tasks", "TASKS"),
        Column("address", "ADDRESS"),
    )
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("d", "availability('drain')", "Drain", id="nodes.drain",
                tooltip="Drain the node under the cursor: Swarm moves its tasks to other"
                        " nodes and places no new ones on it (asks first, listing them)"),
        Binding("a", "availability('active')", "Active", id="nodes.active",
                tooltip="Make the node under the cursor active again: Swarm may place tasks"
                        " on it (asks first)"),
    ]
    MUTATING_ACTIONS = frozenset({"availability"})

    class AvailabilityRequested(Message):
        """The user asked to drain a node, or make it active."""

        def __init__(self, record: NodeRecord, availability: str):
            super().__init__()
            self.record = record
            self.availability = availability

    def cells(self, record: NodeRecord) -> tuple[Any, ...]:
        node = record.node
        return (
            node.hostname or node.id[:12],
            node.host or Text("not in the inventory", style="dim"),
            node.role,
            manager_status(record),
            Text(node.availability, style=_AVAILABILITY_STYLE.get(node.availability, "")),
            Text(node.state, style=_STATE_STYLE.get(node.state, "")),
            str(len(record.tasks)),
            node.address,
        )

    def action_availability(self, availability: str) -> None:
        if self.refused():
            return
        key = self.current_key()
        record = self.records.get(key) if key is not None else None
        if record is None:
            return
        if record.node.availability == availability:
            self.notify(f"node {record.node.hostname} is {availability} already", timeout=3)
            return
        self.post_message(self.AvailabilityRequested(record, availability))
