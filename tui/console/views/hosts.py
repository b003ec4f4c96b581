"""Hosts, stacks, volumes, images and events views."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from corral.backends.engine import (
    ContainerRow,
    EngineEvent,
    HostDetails,
    HostFacts,
    ImageRow,
    VolumeRow,
)
from corral.backends.labels import PREVIOUS_SUFFIX
from corral.tui.console.actions_ui import action_bindings
from corral.tui.console.views.base import Column, ResourceView
from corral.tui.console.views.containers import CheckedHealth, health_summary
from corral.tui.present.formatting import human_size, labels_text

_STATE_STYLE = {"online": "green", "connecting": "yellow", "offline": "red"}


@dataclass
class HostRecord:
    """A host's facts and, once read, its details."""

    facts: HostFacts
    details: HostDetails | None = None


class HostsView(ResourceView):
    """Every inventory host with its engine and machine facts."""

    NAME = "hosts"
    KIND = "host"
    EMPTY = "No hosts."
    COLUMNS = (
        Column("name", "HOST"),
        Column("address", "ADDRESS"),
        Column("state", "STATE"),
        Column("engine", "ENGINE"),
        Column("os", "OS / KERNEL"),
        Column("cpus", "CPUS"),
        Column("memory", "MEMORY"),
        Column("disk", "DOCKER DISK (USED/FREE/SIZE)"),
        Column("containers", "CONTAINERS"),
        Column("latency", "LATENCY"),
        Column("labels", "LABELS"),
    )
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("a", "add_host", "Add host", id="hosts.add",
                tooltip="Add a host to the inventory"),
    ]

    def cells(self, record: HostRecord) -> tuple[Any, ...]:
        facts, details = record.facts, record.details
        state = facts.state if facts.state == "online" else f"{facts.state}: {facts.error}"
        containers = (
            f"{facts.containers_running}/{facts.containers_total}"
            if facts.containers_total is not None else ""
        )
        return (
            facts.name,
            facts.address,
            Text(state, style=_STATE_STYLE.get(facts.state, "")),
            facts.docker_version or "",
            f"{details.os} / {details.kernel}" if details else "",
            str(details.cpus) if details else "",
            human_size(details.memory) if details else "",
            _disk(details),
            containers,
            f"{facts.latency_ms:.1f} ms" if facts.latency_ms is not None else "",
            labels_text(facts.labels),
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Read-only means no writes at all, the inventory file included.
        if action == "add_host" and self.readonly:
            return False
        return super().check_action(action, parameters)

    def action_add_host(self) -> None:
        self.post_message(self.AddHost())

    class AddHost(Message):
        """The user asked to add a host."""


def _disk(details: HostDetails | None) -> str:
    if details is None:
        return ""
    parts = [human_size(details.disk_used)]
    if details.disk_total is not None:
        parts += [human_size(details.disk_free), human_size(details.disk_total)]
    return " / ".join(parts)


@dataclass
class StackRecord:
    """One service of one stack, over every host."""

    stack: str
    service: str
    containers: list[ContainerRow] = field(default_factory=list)


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
        Binding("plus,equals_sign", "scale(1)", "Scale +1", id="stacks.scale_up",
                tooltip="One more replica of the service under the cursor"),
        Binding("minus", "scale(-1)", "Scale -1", id="stacks.scale_down",
                tooltip="One replica fewer of the service under the cursor (asks first)"),
        Binding("ctrl+d", "remove_stack", "Remove stack", id="stacks.remove",
                tooltip="Remove the stack under the cursor: its containers and networks;"
                        " named volumes stay (asks first)"),
        Binding("R,shift+r", "reconcile", "Reconcile", id="stacks.reconcile",
                tooltip="Bring the stack under the cursor back to its record now: re-place"
                        " replicas of offline hosts, remove extra copies (asks first)"),
    ]

    class Change(Message):
        """The user asked to change a stack: scale a service (`delta` ±1) or remove it all.

        Attributes:
            stack: The stack.
            service: The service (scaling), else None (removing).
            delta: Replicas to add or take away (scaling).
            current: The service's replicas now (scaling), the stack's containers (removing).
            containers: The stack's containers as `host/name` (removing).
        """

        def __init__(self, stack: str, service: str | None, delta: int, current: int,
                     containers: list[str]):
            super().__init__()
            self.stack = stack
            self.service = service
            self.delta = delta
            self.current = current
            self.containers = containers

    class Reconcile(Message):
        """The user asked to reconcile a stack now."""

        def __init__(self, stack: str):
            super().__init__()
            self.stack = stack

    class SettleUpgrade(Message):
        """The user asked to confirm (`keep`) or roll back a stack's upgrade."""

        def __init__(self, stack: str, keep: bool, old: list[str]):
            super().__init__()
            self.stack = stack
            self.keep = keep
            #: `host/name` of the old containers the upgrade keeps.
            self.old = old

    def cells(self, record: StackRecord) -> tuple[Any, ...]:
        current = [c for c in record.containers if not is_old_copy(c)]
        running = sum(1 for c in current if c.state == "running")
        total = len(current)
        old = len(record.containers) - total
        return (
            record.stack,
            record.service,
            Text(f"{running}/{total}" + (f" +{old} old" if old else ""),
                 style="green" if running == total and not old else "yellow"),
            health_summary(current, self.checked_health),
            ",".join(sorted({c.host for c in record.containers})),
            ",".join(sorted({c.image for c in record.containers})),
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("settle_upgrade", "reconcile", "scale", "remove_stack") and self.readonly:
            return False
        return super().check_action(action, parameters)

    def _chosen(self) -> StackRecord | None:
        """The service under the cursor, if it may be changed (never when read-only)."""
        key = self.current_key()
        return None if key is None or self.readonly else self.records.get(key)

    def _containers_of(self, stack: str, old: bool | None = None) -> list[str]:
        """`host/name` of the stack's containers: all, or only old copies (True) or current ones."""
        return sorted(f"{c.host}/{c.name}" for r in self.records.values() if r.stack == stack
                      for c in r.containers if old is None or is_old_copy(c) == old)

    def action_settle_upgrade(self, keep: bool) -> None:
        record = self._chosen()
        if record is not None:
            old = self._containers_of(record.stack, old=True)
            self.post_message(self.SettleUpgrade(record.stack, keep, old))

    def action_scale(self, delta: int) -> None:
        record = self._chosen()
        if record is not None:
            current = sum(1 for c in record.containers if not is_old_copy(c))
            self.post_message(self.Change(record.stack, record.service, delta, current, []))

    def action_remove_stack(self) -> None:
        record = self._chosen()
        if record is not None:
            containers = self._containers_of(record.stack)
            self.post_message(self.Change(record.stack, None, 0, len(containers), containers))

    def action_reconcile(self) -> None:
        record = self._chosen()
        if record is not None:
            self.post_message(self.Reconcile(record.stack))


class VolumesView(ResourceView):
    """Volumes of every host and the containers that use them."""

    BINDINGS: ClassVar[list[Binding]] = action_bindings("volume")
    NAME = "volumes"
    KIND = "volume"
    EMPTY = "No volumes on any online host."
    COLUMNS = (
        Column("host", "HOST"),
        Column("name", "NAME"),
        Column("driver", "DRIVER"),
        Column("mountpoint", "MOUNTPOINT"),
        Column("users", "USED BY"),
    )

    def cells(self, record: VolumeRow) -> tuple[Any, ...]:
        return (record.host, record.name, record.driver, record.mountpoint,
                ", ".join(record.users))


class ImagesView(ResourceView):
    """Images of every host and the containers created from them."""

    BINDINGS: ClassVar[list[Binding]] = action_bindings("image")
    NAME = "images"
    KIND = "image"
    EMPTY = "No images on any online host."
    COLUMNS = (
        Column("host", "HOST"),
        Column("tags", "TAGS"),
        Column("id", "ID"),
        Column("size", "SIZE"),
        Column("users", "USED BY"),
    )

    def cells(self, record: ImageRow) -> tuple[Any, ...]:
        return (record.host, ", ".join(record.tags) or "<none>", record.id,
                human_size(record.size), ", ".join(record.users))

    def sort_value(self, record: ImageRow, column: int) -> Any:
        return record.size if self.COLUMNS[column].key == "size" else super().sort_value(
            record, column
        )


_EVENT_STYLE = {"die": "red", "oom": "bold red", "kill": "red", "destroy": "magenta",
                "create": "cyan", "start": "green", "restart": "yellow"}


class EventsView(ResourceView):
    """Engine events from every host, newest first."""

    NAME = "events"
    KIND = "event"
    EMPTY = "No events yet: they appear here as engines report them."
    COLUMNS = (
        Column("time", "TIME"),
        Column("host", "HOST"),
        Column("type", "TYPE"),
        Column("action", "ACTION"),
        Column("actor", "OBJECT"),
    )

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.sort_reverse = True

    def cells(self, record: EngineEvent) -> tuple[Any, ...]:
        action = record.action.split(":")[0]
        return (
            time.strftime("%H:%M:%S", time.localtime(record.time)),
            record.host,
            record.type,
            Text(record.action, style=_EVENT_STYLE.get(action, "")),
            record.actor,
        )

    def sort_value(self, record: EngineEvent, column: int) -> Any:
        return record.time if column == 0 else super().sort_value(record, column)
