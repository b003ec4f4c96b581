"""The console's safety-net health pass (nothing changed for a while) reads every host
again only when a stack record came or went (issue 17: an idle console at 20 hosts)."""

from __future__ import annotations

import pytest

from corral.backends import labels as L
from corral.tui.console.model.deploy_flow import DeployFlow
from tests.support.lab import Lab
from tests.support.lab_cli import engine, running_fleet

#: A record volume no deploy of this test suite writes (its labels are not a definition).
PROBE = "corral-test-quiet-pass-record"


@pytest.fixture
def no_probe(lab: Lab):
    def remove() -> None:
        for host in lab.hosts:
            for volume in engine(host.socket).volumes.list(filters={"name": PROBE}):
                volume.remove(force=True)

    remove()
    yield
    remove()


def test_a_quiet_pass_reads_every_host_only_when_a_record_came_or_went(
        lab: Lab, no_probe: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import corral.backends.deploy as deploy
    gathered: list[int] = []
    gather = deploy.gather

    def counted(*args, **kwargs):
        gathered.append(1)
        return gather(*args, **kwargs)

    monkeypatch.setattr(deploy, "gather", counted)
    with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
        flow = DeployFlow(fleet)
        first = flow.health_pass()
        assert first is not None and len(gathered) == 1
        quiet = flow.health_pass(changed=False)
        assert quiet is not None and quiet.states == first.states and len(gathered) == 1

        host = lab.hosts[1]
        engine(host.socket).volumes.create(name=PROBE, labels={L.RECORD: "probe"})
        came = flow.health_pass(changed=False)
        assert len(gathered) == 2 and came is not None and "probe" in came.states
        assert flow.health_pass(changed=False) is not None and len(gathered) == 2

        engine(host.socket).volumes.get(PROBE).remove(force=True)
        went = flow.health_pass(changed=False)
        assert len(gathered) == 3 and went is not None and "probe" not in went.states

        flow.health_pass()  # a change the console saw: every host, always
        assert len(gathered) == 4
