"""The hosts view: every inventory host with its engine and machine facts."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from corral.backends.doctor import STATUSES, HostReport
from corral.backends.engine import HostDetails
from corral.tui.console.doctor_ui import status_text
from corral.tui.console.model.data import HostRecord
from corral.tui.console.views.base import Column, ResourceView
from corral.tui.present.formatting import human_size, labels_text

_STATE_STYLE = {"online": "green", "connecting": "yellow", "offline": "red"}


class HostsView(ResourceView):
    """Every inventory host with its engine and machine facts."""

    NAME = "hosts"
    KIND = "host"
    EMPTY = "No hosts."
    COLUMNS = (
        Column("name", "HOST"),
        Column("address", "ADDRESS"),
        Column("state", "STATE"),
        Column("doctor", "DOCTOR"),
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
        Binding("P,shift+p", "toggle_pause", "Pause acting", id="hosts.pause",
                tooltip="Pause (or resume) health actions and reconcile on this host"),
        Binding("C", "reconnect_now", "Connect now", id="hosts.reconnect",
                tooltip="Reconnect the marked hosts (else the one under the cursor) now, "
                "instead of after the retry delay"),
        Binding("D", "doctor", "Doctor", id="hosts.doctor",
                tooltip="Check every host (SSH, engine, clock, swarm ports, kernel, "
                "registry); show the worst status per host and this host's checks"),
    ]
    #: Read-only means no writes at all, the inventory file included; and a
    #: pause only matters to a console that acts.
    MUTATING_ACTIONS = frozenset({"add_host", "toggle_pause"})

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        #: Hosts acting is paused on (set by the screen).
        self.paused: set[str] = set()
        #: The doctor's last reports by host (set by the screen; empty before `D`).
        self.doctor: dict[str, HostReport] = {}

    def set_doctor(self, reports: dict[str, HostReport]) -> None:
        """Show the doctor's reports in the DOCTOR column."""
        self.doctor = reports
        self.redraw()

    def cells(self, record: HostRecord) -> tuple[Any, ...]:
        facts, details = record.facts, record.details
        state = facts.state if facts.state == "online" else f"{facts.state}: {facts.error}"
        if facts.name in self.paused:
            state += " ⏸ paused"
        containers = (
            f"{facts.containers_running}/{facts.containers_total}"
            if facts.containers_total is not None else ""
        )
        return (
            facts.name,
            facts.address,
            Text(state, style=_STATE_STYLE.get(facts.state, "")),
            status_text(report.status if (report := self.doctor.get(facts.name)) else None),
            facts.docker_version or "",
            f"{details.os} / {details.kernel}" if details else "",
            str(details.cpus) if details else "",
            human_size(details.memory) if details else "",
            _disk(details),
            containers,
            f"{facts.latency_ms:.1f} ms" if facts.latency_ms is not None else "",
            labels_text(facts.labels),
        )

    def sort_value(self, record: HostRecord, column: int, cells: tuple[Any, ...]) -> Any:
        if self.COLUMNS[column].key == "doctor":  # worst first when reversed
            report = self.doctor.get(record.facts.name)
            return STATUSES.index(report.status) if report else -1
        return super().sort_value(record, column, cells)

    def hosts_of(self, record: HostRecord) -> set[str]:
        return {record.facts.name}

    def action_add_host(self) -> None:
        if not self.refused():
            self.post_message(self.AddHost())

    def action_doctor(self) -> None:
        self.post_message(self.DoctorRequested(self.current_key()))

    def action_toggle_pause(self) -> None:
        if self.refused():
            return
        host = self.current_key()
        if host is not None:
            self.post_message(self.TogglePause(host))
    def action_reconnect_now(self) -> None:
        hosts = [record.facts.name for _, record in self.selected()]
        if hosts:
            self.post_message(self.ReconnectNow(hosts))

    class AddHost(Message):
        """The user asked to add a host."""

    class DoctorRequested(Message):
        """The user asked for the doctor; `host` is the one under the cursor (or None)."""

        def __init__(self, host: str | None):
            super().__init__()
            self.host = host

    class TogglePause(Message):
        """The user asked to pause (or resume) acting on a host."""

        def __init__(self, host: str):
            super().__init__()
            self.host = host
    class ReconnectNow(Message):
        """The user asked to reconnect these hosts at once.

        Attributes:
            hosts: Host names.
        """

        def __init__(self, hosts: list[str]) -> None:
            super().__init__()
            self.hosts = hosts


def _disk(details: HostDetails | None) -> str:
    if details is None:
        return ""
    parts = [human_size(details.disk_used)]
    if details.disk_total is not None:
        parts += [human_size(details.disk_free), human_size(details.disk_total)]
    return " / ".join(parts)
