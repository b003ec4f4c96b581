"""A stack as the hosts would hold it after an apply, without hosts: containers and records.

`deployed()` runs the real (pure) planner and turns its final steps into the
containers and record volumes `gather()` would read back, so upgrade and
diff logic can be tested on plain data.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from types import SimpleNamespace

from corral.backends import labels as L
from corral.backends.deploy.body import instantiate
from corral.backends.deploy.gather import FleetState, Record
from corral.backends.deploy.prepare import Prepared, prepare
from corral.backends.deploy.record import record_name
from corral.backends.plan.model import HostContainer, HostInfo
from corral.catalog.answers import Answers
from corral.catalog.spec import Stack


class HoldingFleet:
    """A fleet whose every container holds `password` as KV_PASSWORD (what `inspect` says)."""

    def __init__(self, password: str):
        config = {"Env": [f"KV_PASSWORD={password}", "PATH=/bin"], "Labels": {}}
        api = SimpleNamespace(inspect_container=lambda ref: {"Config": config})
        self.session = SimpleNamespace(call=lambda fn: fn(SimpleNamespace(api=api)))
        self.asked = 0

    def query(self, fn, hosts):
        self.asked += 1
        return [SimpleNamespace(ok=True, value=fn(self.session))]


def applied(prepared: Prepared) -> FleetState:
    """The hosts once `prepared` is applied (no upgrade copies kept)."""
    stack = prepared.stack
    by_host: dict[str, list[HostContainer]] = defaultdict(list)
    for step in prepared.plan.final():
        service = stack.service(step.service)
        name, body, _ = instantiate(stack, service, step.index, {}, prepared.hashes[service.name],
                                    prepared.definition.generation)
        by_host[step.host].append(HostContainer(name, body["Labels"], id=name))
    others = {h.name: [c for c in h.containers if c.labels.get(L.STACK) != stack.name]
              for h in prepared.state.hosts}
    hosts = [dataclasses.replace(h, containers=tuple(others[h.name] + by_host[h.name]))
             for h in prepared.state.hosts]
    generation = prepared.definition.generation
    records = [r for r in prepared.state.records if r.stack != stack.name]
    records += [Record(host, record_name(stack.name, generation), stack.name, generation,
                       prepared.definition) for host in prepared.record_hosts]
    return FleetState(hosts, records)


def deployed(stack: Stack, answers: Answers | None, hosts: tuple[HostInfo, ...]) -> FleetState:
    """The hosts once `stack` is deployed on `hosts` (which run nothing of it yet)."""
    return applied(prepare(None, stack, answers, state=FleetState(list(hosts))))  # type: ignore[arg-type]
