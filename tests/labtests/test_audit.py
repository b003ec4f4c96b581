"""The audit trail on the lab: the CLI's deploy, scale and rm are recorded with who,
where and how they ended, locally and on the hosts, so a second machine sees them;
a password answer reaches neither; a refused read-only attempt is recorded as refused.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import pytest

from corral.backends import guard
from corral.backends import labels as L
from corral.backends.audit import AuditTrail
from corral.backends.audit.local import audit_path
from tests.support.deploy import corral_on
from tests.support.lab import Lab
from tests.support.lab_cli import engine, running_fleet

pytestmark = pytest.mark.lab

SECRET = "audit-s3cret-pw"
#: A stack of its own each run: the hosts keep audit entries of earlier runs.
STACK = f"aud{secrets.token_hex(3)}"


def corral(lab: Lab, *args: str) -> subprocess.CompletedProcess:
    result = corral_on(lab, *args)
    assert SECRET not in result.stdout and SECRET not in result.stderr
    return result


def audit(lab: Lab, *args: str) -> list[dict]:
    result = corral(lab, "audit", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def host_side(lab: Lab) -> dict[str, list[dict]]:
    """Per lab host, the audit entries its engine keeps (read without Corral)."""
    return {host.name: sorted(
        (json.loads(v.attrs["Labels"][L.AUDIT_ENTRY])
         for v in engine(host.socket).volumes.list(filters={"label": L.AUDIT})),
        key=lambda entry: (entry["time"], entry["id"])) for host in lab.hosts}


def test_deploy_scale_rm_are_audited_here_and_on_the_hosts(
        lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(f"KV_PASSWORD: {SECRET}\nROOM_NAME: audit-room\nPUBLIC_PORT: 8081\n")
    first = tmp_path / "first-machine"
    monkeypatch.setenv("XDG_STATE_HOME", str(first))
    for step in (("deploy", "webrtc-demo", "--stack", STACK, "--answers", str(answers),
                  "--yes"), ("scale", f"{STACK}/signal=3", "--yes")):
        result = corral(lab, *step)
        assert result.returncode == 0, result.stderr
    # A refused read-only attempt is recorded as refused, here only: a read-only
    # process writes nothing to any host, its audit included.
    before = host_side(lab)
    refused = corral(lab, "--readonly", "scale", f"{STACK}/signal=1", "--yes")
    guard._reset_for_tests()  # in-process: the latch ends with the run, as with a process
    assert refused.returncode != 0 and "read-only" in refused.stderr
    assert host_side(lab) == before
    result = corral(lab, "rm", STACK, "--yes")
    assert result.returncode == 0, result.stderr

    every_host = {host.name for host in lab.hosts}
    mine = audit(lab, "--local", "--stack", STACK)
    assert [(e["verb"], e["result"]) for e in mine] == [
        ("stack.deploy", "ok"), ("stack.scale", "ok"), ("stack.scale", "refused"),
        ("stack.rm", "ok")]
    assert "read-only" in mine[2]["detail"]
    entries = [e for e in audit(lab, "--stack", STACK) if e["result"] != "refused"]
    assert [e["verb"] for e in entries] == ["stack.deploy", "stack.scale", "stack.rm"]
    for entry in entries:
        assert entry["result"] == "ok" and entry["user"] and entry["machine"]
        assert entry["hosts"] and set(entry["hosts"]) <= every_host
        assert set(entry["ssh_users"]) == set(entry["hosts"])
        assert set(entry["ssh_users"].values()) == {"root"}  # the lab logs in as root
    assert entries[0]["args"]["answers"]["KV_PASSWORD"] == "********"
    assert entries[0]["args"]["answers"]["ROOM_NAME"] == "audit-room"
    assert entries[1]["args"]["service"] == "signal"
    assert set(entries[2]["hosts"]) == every_host

    # The password reaches neither the local file nor any host's history.
    local_text = audit_path().read_text()
    assert audit_path().parent == first / "corral" and SECRET not in local_text
    kept = host_side(lab)
    assert SECRET not in json.dumps(kept)
    # The rm is on every host even though the stack (and its record) is gone.
    for host, host_entries in kept.items():
        verbs = [e["verb"] for e in host_entries if e["stack"] == STACK]
        assert "stack.rm" in verbs, host

    # A second machine: nothing local, everything from the hosts' history.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "second-machine"))
    assert audit(lab, "--local", "--stack", STACK) == []
    seen = audit(lab, "--stack", STACK)
    assert [(e["id"], e["verb"], e["hosts"], e["ssh_users"]) for e in seen] == [
        (e["id"], e["verb"], e["hosts"], e["ssh_users"]) for e in entries]
    host = sorted(entries[1]["hosts"])[0]
    assert [e["verb"] for e in audit(lab, "--stack", STACK, "--host", host)] == [
        e["verb"] for e in entries if host in e["hosts"]]
    text = corral(lab, "audit", "--stack", STACK)
    assert "stack.scale" in text.stdout and f"{host} (root)" in text.stdout
    assert "refused" not in text.stdout  # that attempt stayed on the first machine


def test_host_side_history_is_pruned_to_the_last_n(
        lab: Lab, tmp_path: Path) -> None:
    trail = AuditTrail(keep=3)
    guard.add_observer(trail)
    name = lab.hosts[0].name
    with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
        trail.attach(fleet)
        for index in range(5):
            with guard.mutating("container.stop", hosts=name, stack="prunetest",
                                target=f"c{index}"):
                pass
        assert trail.flush(20) and not trail.failures
        trail.detach(fleet)
    kept = [e for e in host_side(lab)[name] if e["stack"] == "prunetest"]
    assert sorted(e["target"] for e in kept) == ["c2", "c3", "c4"]
