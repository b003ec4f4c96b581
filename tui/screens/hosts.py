"""The hosts view: every host's engine, containers, latency and clock."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable

from corral.backends.facts import HostFacts, host_facts
from corral.backends.fleet import Fleet

REFRESH_SECONDS = 5.0
COLUMNS = ("Host", "Address", "State", "Docker", "Containers", "Latency", "Clock", "Labels")


class HostsTable(DataTable):
    """A table of host facts, refreshed on a timer by a thread worker."""

    class Refreshed(Message):
        """New facts, read on a worker thread."""

        def __init__(self, facts: list[HostFacts]):
            super().__init__()
            self.facts = facts

    def __init__(self, fleet: Fleet, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.fleet = fleet

    def compose(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)
        self.refresh_facts()
        self.set_interval(REFRESH_SECONDS, self.refresh_facts)

    @work(thread=True, exclusive=True, group="host-facts")
    def refresh_facts(self) -> None:
        """Read every host's facts off the UI thread."""
        facts = [result.value for result in self.fleet.query(host_facts)]
        self.post_message(self.Refreshed(facts))

    def on_hosts_table_refreshed(self, message: Refreshed) -> None:
        self.clear()
        for fact in message.facts:
            self.add_row(*_cells(fact), key=fact.name)


def _cells(fact: HostFacts) -> list[str]:
    def show(value: object, suffix: str = "") -> str:
        return "-" if value is None else f"{value}{suffix}"

    containers = (
        f"{fact.containers_running}/{fact.containers_total}"
        if fact.containers_total is not None
        else "-"
    )
    state = fact.state if fact.state == "online" else f"{fact.state}: {fact.error}"
    labels = ",".join(f"{k}={v}" for k, v in sorted(fact.labels.items()))
    return [
        fact.name,
        fact.address,
        state,
        show(fact.docker_version),
        containers,
        show(fact.latency_ms, " ms"),
        show(fact.clock_offset_ms, " ms"),
        labels or "-",
    ]
