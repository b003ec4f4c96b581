"""The stacks view: one row per service of every stack, and the stack changes it asks for.

Rows come from the containers the hosts run, grouped by their labels, and from
the swarms under the hosts: a swarm service (Corral's, or one `docker stack
deploy` made) shows its mode, replicas running/desired and update state, and
its tasks on enter or `t`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from corral.backends.engine import ContainerRow
from corral.backends.labels import PREVIOUS_SUFFIX
from corral.backends.swarm import Service
from corral.tui.console.views.base import Column, ResourceView
from corral.tui.console.views.containers import CheckedHealth, health_summary

#: How each stack state shows (`upgraded`: confirm or roll back with c / b).
_STATE_STYLE = {"active": "green", "degraded": "red", "upgraded": "yellow", "unknown": "dim"}


@dataclass
class StackRecord:
    """One service of one stack, over every host."""

    stack: str
    service: str
    containers: list[ContainerRow] = field(default_factory=list)
    #: The swarm service this is, if it is one.
    swarm: Service | None = None


def group_stacks(rows: list[ContainerRow]) -> dict[str, StackRecord]:
    """Containers grouped by `stack/service` (containers in no stack are left out)."""
    groups: dict[str, StackRecord] = {}
    for row in rows:
        if not row.stack:
            continue
        service = row.service or "-"
        key = f"{row.stack}/{service}"
        groups.setdefault(key, StackRecord(row.stack, service)).containers.append(row)
    return groups


def with_swarm(groups: dict[str, StackRecord],
               services: dict[str, Service]) -> dict[str, StackRecord]:
    """The container groups joined with the swarm services of the same `stack/service`.

    A service whose tasks run on no inventory host (or on none yet) still
    gets its row. Services in no stack are left out, like containers.
    """
    merged = dict(groups)
    for key, service in services.items():
        if not service.stack:
            continue
        group = groups.get(key)
        containers = list(group.containers) if group else []
        merged[key] = StackRecord(service.stack, service.service, containers, service)
    return merged


def swarm_state(service: Service) -> Text:
    """`swarm MODE`, and the update's state when there is one."""
    update = service.update_state
    style = ("red" if "rollback" in update or update == "paused" else
             "yellow" if update.endswith("updating") else "cyan")
    return Text(f"swarm {service.mode}" + (f" {update}" if update else ""), style=style)


def is_old_copy(row: ContainerRow) -> bool:
    """Whether an upgrade keeps the container stopped until confirm or rollback."""
    return row.name.endswith(PREVIOUS_SUFFIX)


class StacksView(CheckedHealth, ResourceView):
    """Containers grouped by stack and service; upgrades are confirmed or rolled back here."""

    NAME = "stacks"
    KIND = "stack"
    EMPTY = "No stacks: no container carries Corral, Compose or Rancher stack labels."
    COLUMNS = (
        Column("stack", "STACK"),
        Column("service", "SERVICE"),
        Column("state", "STATE"),
        Column("running", "RUNNING"),
        Column("health", "HEALTH"),
        Column("hosts", "HOSTS"),
        Column("images", "IMAGES"),
    )
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("c", "settle_upgrade(True)", "Confirm", id="stacks.confirm",
                tooltip="Keep the upgrade of the stack under the cursor: remove the old"
                        " containers (asks first)"),
        Binding("b", "settle_upgrade(False)", "Roll back", id="stacks.rollback",
                tooltip="Undo the upgrade of the stack under the cursor: restore the old"
                        " containers (asks first)"),
        Binding("U,shift+u", "upgrade", "Upgrade", id="stacks.upgrade",
                tooltip="Upgrade the stack under the cursor: its catalog form filled with the"
                        " deployed answers and current scales, then the plan"),
        Binding("plus,equals_sign", "scale(1)", "Scale +1", id="stacks.scale_up",
                tooltip="One more replica of the service under the cursor"),
        Binding("minus", "scale(-1)", "Scale -1", id="stacks.scale_down",
                tooltip="One replica fewer of the service under the cursor (asks first)"),
        Binding("ctrl+d", "remove_stack", "Remove stack", id="stacks.remove",
                tooltip="Remove the stack under the cursor: its containers and networks;"
                        " named volumes stay (asks first)"),
        Binding("t", "tasks", "Tasks", id="stacks.tasks",
                tooltip="The tasks of the swarm service under the cursor: node, host,"
                        " desired and current state, error (logs or shell from there)"),
        Binding("l", "service_logs", "Logs", id="stacks.logs",
                tooltip="Follow the logs of every replica of the service under the cursor"
                        " in a new pane (a swarm service: each task's container through its"
                        " node's host)"),
        Binding("R,shift+r", "reconcile", "Reconcile", id="stacks.reconcile",
                tooltip="Bring the stack under the cursor back to its record now: re-place"
                        " replicas of offline hosts, remove extra copies (asks first)"),
    ]
    MUTATING_ACTIONS = frozenset({"settle_upgrade", "reconcile", "scale", "remove_stack",
                                  "upgrade"})

    class Change(Message):
        """The user asked to change a stack: scale a service (`delta` ±1) or remove it all.

        Attributes:
            stack: The stack.
            service: The service (scaling), else None (removing).
            delta: Replicas to add or take away (scaling).
            current: The service's replicas now (scaling), the stack's containers (removing).
            containers: The stack's containers as `host/name` (removing).
            swarm: The swarm service the row is (the Swarm engine changes it), else None.
        """

        def __init__(self, stack: str, service: str | None, delta: int, current: int,
                     containers: list[str], swarm: Service | None = None):
            super().__init__()
            self.swarm = swarm
            self.stack = stack
            self.service = service
            self.delta = delta
            self.current = current
            self.containers = containers

    class TasksRequested(Message):
        """The user asked for a swarm service's tasks."""

        def __init__(self, service: Service):
            super().__init__()
            self.service = service

    class Reconcile(Message):
        """The user asked to reconcile a stack now (`swarm`: the row's swarm service)."""

        def __init__(self, stack: str, swarm: Service | None = None):
            super().__init__()
            self.stack = stack
            self.swarm = swarm

    class Upgrade(Message):
        """The user asked to upgrade a stack from its deployed answers."""

        def __init__(self, stack: str, swarm: Service | None = None):
            super().__init__()
            self.stack = stack
            self.swarm = swarm

    class SettleUpgrade(Message):
        """The user asked to confirm (`keep`) or roll back a stack's upgrade."""

        def __init__(self, stack: str, keep: bool, swarm: Service | None = None):
            super().__init__()
            self.stack = stack
            self.keep = keep
            self.swarm = swarm

    #: Each stack's state from the last health pass, as `corral stacks` says it;
    #: replaced whole, never changed in place.
    stack_states: dict[str, str] = {}  # noqa: RUF012

    #: The swarm services last read, keyed `stack/service`; replaced whole.
    swarm_services: dict[str, Service] = {}  # noqa: RUF012
    #: The container groups last given.
    _groups: dict[str, StackRecord] = {}  # noqa: RUF012

    def set_records(self, records: dict[str, StackRecord]) -> None:
        """The container groups; the swarm services are joined in."""
        self._groups = records
        super().set_records(with_swarm(records, self.swarm_services))

    def set_swarm(self, services: dict[str, Service]) -> None:
        """The swarms' services, keyed `stack/service` (read through their managers)."""
        self.swarm_services = dict(services)
        super().set_records(with_swarm(self._groups, self.swarm_services))

    def set_stack_states(self, states: dict[str, str]) -> None:
        """Show each stack's state (`active`, `degraded`, `upgraded`, `unknown`)."""
        if states != self.stack_states:
            self.stack_states = dict(states)
            self.redraw()

    def cells(self, record: StackRecord) -> tuple[Any, ...]:
        if record.swarm is not None:
            return self._swarm_cells(record, record.swarm)
        current = [c for c in record.containers if not is_old_copy(c)]
        running = sum(1 for c in current if c.state == "running")
        total = len(current)
        old = len(record.containers) - total
        state = self.stack_states.get(record.stack, "")
        return (
            record.stack,
            record.service,
            Text(state, style=_STATE_STYLE.get(state, "")),
            Text(f"{running}/{total}" + (f" +{old} old" if old else ""),
                 style="green" if running == total and not old else "yellow"),
            health_summary(current, self.checked_health),
            ",".join(sorted({c.host for c in record.containers})),
            ",".join(sorted({c.image for c in record.containers})),
        )

    def _swarm_cells(self, record: StackRecord, service: Service) -> tuple[Any, ...]:
        running, desired = service.running, service.desired
        places = {t.host or t.node or t.node_id[:12] for t in service.tasks
                  if t.desired == "running" and t.state == "running" and not t.node_down}
        return (
            record.stack,
            record.service,
            swarm_state(service),
            Text(f"{running}/{desired}", style="green" if running == desired else "yellow"),
            health_summary(record.containers, self.checked_health),
            ",".join(sorted(places)),
            service.image,
        )

    def hosts_of(self, record: StackRecord) -> set[str]:
        hosts = {c.host for c in record.containers}
        if record.swarm is not None:
            hosts |= {t.host for t in record.swarm.tasks if t.host and t.desired == "running"}
        return hosts

    def action_tasks(self) -> None:
        key = self.current_key()
        record = self.records.get(key) if key is not None else None
        if record is None:
            return
        if record.swarm is None:
            self.notify(f"{record.stack}/{record.service} is not a swarm service: enter"
                        " lists its containers", severity="warning", timeout=4)
            return
        self.post_message(self.TasksRequested(record.swarm))

    def action_service_logs(self) -> None:
        key = self.current_key()
        record = self.records.get(key) if key is not None else None
        if record is not None and record.service != "-":
            from corral.tui.console.views.containers import ContainersView

            host = next(iter(sorted(self.hosts_of(record))), "")
            self.post_message(ContainersView.OpenPane(
                "logs", f"service:{record.stack}/{record.service}", host))

    def _chosen(self) -> StackRecord | None:
        """The service under the cursor, if it may be changed (never when read-only)."""
        key = self.current_key()
        return None if key is None or self.readonly else self.records.get(key)

    def _containers_of(self, stack: str) -> list[str]:
        """`host/name` of every container of the stack, old copies included."""
        return sorted(f"{c.host}/{c.name}" for r in self.records.values() if r.stack == stack
                      for c in r.containers)

    def action_settle_upgrade(self, keep: bool) -> None:
        record = self._chosen()
        if record is not None:  # whether anything is pending is the hosts' to say
            self.post_message(self.SettleUpgrade(record.stack, keep, record.swarm))

    def action_upgrade(self) -> None:
        record = self._chosen()
        if record is not None:
            self.post_message(self.Upgrade(record.stack, record.swarm))

    def action_scale(self, delta: int) -> None:
        record = self._chosen()
        if record is not None:
            current = sum(1 for c in record.containers if not is_old_copy(c))
            self.post_message(self.Change(record.stack, record.service, delta, current, [],
                                          record.swarm))

    def action_remove_stack(self) -> None:
        record = self._chosen()
        if record is not None:
            containers = self._containers_of(record.stack)
            self.post_message(self.Change(record.stack, None, 0, len(containers), containers,
                                          record.swarm))

    def action_reconcile(self) -> None:
        record = self._chosen()
        if record is not None:
            self.post_message(self.Reconcile(record.stack, record.swarm))
