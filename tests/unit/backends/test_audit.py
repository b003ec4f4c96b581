"""The audit trail: the local file, the host-side copies, masking, merging, filters."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from corral.backends import guard
from corral.backends import labels as L
from corral.backends.audit import (
    AuditEntry,
    AuditFilter,
    AuditTrail,
    local,
    merge,
    read_all,
    remote,
)
from corral.backends.audit.entry import MASK, from_dict, mask_args, new_id
from corral.backends.errors import ActionRefused, NotFound


def entry(time: float = 1000.0, **fields: object) -> AuditEntry:
    values: dict = dict(id=new_id(), time=time, user="ann", machine="desk", verb="stack.rm",
                        result="ok", hosts=("lab1",), stack="demo")
    values.update(fields)
    return AuditEntry(**values)


def test_the_file_lives_in_the_xdg_state_directory_private(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    os.umask(0o022)
    path = local.append(entry())
    assert path == tmp_path / "state" / "corral" / "audit.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    line, = path.read_text().splitlines()
    assert json.loads(line)["verb"] == "stack.rm"


def test_without_xdg_state_home_it_is_under_local_state(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert local.audit_path() == tmp_path / ".local" / "state" / "corral" / "audit.jsonl"


def test_an_existing_loose_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "corral" / "audit.jsonl"
    path.parent.mkdir(mode=0o755)
    path.write_text("")
    path.chmod(0o644)
    local.append(entry(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def _writer(path: str, who: str, count: int) -> None:
    for index in range(count):
        local.append(entry(time=index, user=who, detail="x" * 250), Path(path))


def test_two_processes_appending_at_once_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_writer, args=(str(path), who, 400)) for who in "ab"]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
        assert process.exitcode == 0
    lines = path.read_text().splitlines()
    assert len(lines) == 800
    users = [json.loads(line)["user"] for line in lines]  # each line whole JSON
    assert users.count("a") == users.count("b") == 400


def test_the_file_is_rotated_past_its_bound_and_both_parts_are_read(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    for index in range(200):
        local.append(entry(time=index), path, max_bytes=10_000)
    assert path.stat().st_size < 10_000 + 1000
    assert (tmp_path / "audit.jsonl.1").exists()
    assert not (tmp_path / "audit.jsonl.2").exists()
    times = [e.time for e in local.read(path)]
    assert times == sorted(times) and times[-1] == 199
    assert 10 < len(times) < 200  # the oldest were dropped with the older generation


def test_torn_and_foreign_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    local.append(entry(time=1), path)
    with path.open("a") as handle:
        handle.write('{"time": 2, "verb": "stack.rm", "res\n[1, 2]\n{"time": "x"}\n')
    local.append(entry(time=3), path)
    assert [e.time for e in local.read(path)] == [1, 3]


def test_secret_looking_arguments_are_masked() -> None:
    masked = mask_args({"answers": {"KV_PASSWORD": "hunter2", "ADMIN_PW": "p", "ROOM": "lab"},
                        "token": "abc", "registry": {"auth": "x", "password": "y"},
                        "scale": 3, "long": "z" * 1000})
    assert masked["answers"] == {"KV_PASSWORD": MASK, "ADMIN_PW": MASK, "ROOM": "lab"}
    assert masked["token"] == MASK and masked["registry"]["password"] == MASK
    assert masked["scale"] == 3 and len(masked["long"]) == 300
    assert "hunter2" not in json.dumps(masked)


def test_from_dict_refuses_what_is_not_an_entry() -> None:
    for bad in ([], {"time": True, "result": "ok"}, {"time": 1, "result": "maybe"},
                {"time": 1, "result": "ok", "hosts": "lab1"}):
        with pytest.raises(ValueError):
            from_dict(bad)
    back = from_dict(entry(target="a\x1b]52;c;x\x07").to_dict())
    assert back.target == "a\x1b]52;c;x\x07"  # kept as data; the presentation neutralises it


def test_merge_shows_each_entry_once_oldest_first() -> None:
    one, two, three = entry(3), entry(1), entry(2)
    merged = merge([one, two], [two, three, one], [three])
    assert [e.time for e in merged] == [1, 2, 3]


def test_filters_by_since_stack_and_host() -> None:
    entries = [entry(10, stack="a", hosts=("h1",)), entry(20, stack="b", hosts=("h1", "h2")),
               entry(30, stack=None, hosts=("h2",))]
    assert [e.time for e in entries if AuditFilter(since=20).keeps(e)] == [20, 30]
    assert [e.time for e in entries if AuditFilter(stack="b").keeps(e)] == [20]
    assert [e.time for e in entries if AuditFilter(host="h2").keeps(e)] == [20, 30]
    assert [e.time for e in entries if AuditFilter(since=15, host="h1").keeps(e)] == [20]


# --- the observer ------------------------------------------------------------------


def test_every_outcome_of_the_gate_is_recorded_with_user_and_masked_args(
        tmp_path: Path) -> None:
    trail = AuditTrail()
    guard.add_observer(trail)
    with guard.mutating("stack.deploy", hosts=("lab1",), stack="demo",
                        args={"answers": {"DB_PASSWORD": "s3cret", "ROOM": "r"}}):
        pass
    with pytest.raises(RuntimeError), guard.mutating("stack.rm", hosts="lab1", stack="demo"):
        raise RuntimeError("engine said no")
    guard.enter_readonly("--readonly")
    with pytest.raises(ActionRefused), guard.mutating("stack.scale", hosts="lab1", stack="demo"):
        pass
    entries = local.read()
    assert [(e.verb, e.result) for e in entries] == [
        ("stack.deploy", "ok"), ("stack.rm", "failed"), ("stack.scale", "refused")]
    assert entries[0].args == {"answers": {"DB_PASSWORD": MASK, "ROOM": "r"}}
    assert entries[1].detail == "engine said no"
    assert "read-only (--readonly)" in entries[2].detail
    assert all(e.user and e.machine and e.hosts == ("lab1",) for e in entries)
    assert "s3cret" not in local.audit_path().read_text()


class FakeApi:
    """The volume calls of docker-py's low-level API, in memory."""

    def __init__(self) -> None:
        self.volumes_by_name: dict[str, dict] = {}

    def create_volume(self, name: str, labels: dict) -> dict:
        self.volumes_by_name[name] = {"Name": name, "Labels": labels}
        return self.volumes_by_name[name]

    def remove_volume(self, name: str) -> None:
        if self.volumes_by_name.pop(name, None) is None:
            raise NotFound(f"no volume {name}")

    def volumes(self, filters: dict) -> dict:
        key = filters["label"]
        return {"Volumes": [v for v in self.volumes_by_name.values() if key in v["Labels"]]}


class FakeSession:
    def __init__(self, name: str = "lab1") -> None:
        self.name = name
        self.online = True
        self.connection = SimpleNamespace(get_extra_info=lambda key: "deploy")
        self.api = FakeApi()

    def call(self, method):
        return method(SimpleNamespace(api=self.api))


def test_host_side_copies_are_volumes_pruned_per_stack(tmp_path: Path) -> None:
    session = FakeSession()
    for index in range(7):
        remote.write(session, entry(1000 + index, stack="demo"), keep=5)  # type: ignore[arg-type]
    remote.write(session, entry(5, stack=None, verb="exec"), keep=5)  # type: ignore[arg-type]
    names = sorted(session.api.volumes_by_name)
    assert len(names) == 6 and sum(n.startswith("corral-audit.demo.") for n in names) == 5
    assert all(L.AUDIT in v["Labels"] for v in session.api.volumes_by_name.values())
    times = [e.time for e in remote.read(session)]  # type: ignore[arg-type]
    assert times == [5, 1002, 1003, 1004, 1005, 1006]


def test_the_trail_copies_to_the_hosts_touched_with_their_ssh_user(tmp_path: Path) -> None:
    sessions = {"lab1": FakeSession("lab1"), "lab2": FakeSession("lab2")}
    fleet = SimpleNamespace(sessions=sessions, inventory=SimpleNamespace(hosts=()))
    trail = AuditTrail()
    trail.attach(fleet)  # type: ignore[arg-type]
    guard.add_observer(trail)
    with guard.mutating("stack.rm", hosts=("lab1",), stack="demo"):
        pass
    assert trail.flush(5)
    assert len(sessions["lab1"].api.volumes_by_name) == 1
    assert not sessions["lab2"].api.volumes_by_name
    copied, = remote.read(sessions["lab1"])  # type: ignore[arg-type]
    assert copied.ssh_users == {"lab1": "deploy"} and copied.result == "ok"
    entries, errors = read_all(SimpleNamespace(  # type: ignore[arg-type]
        sessions=sessions, query=lambda work, names: [
            SimpleNamespace(ok=True, value=work(sessions[n]), error=None) for n in names]))
    assert [e.id for e in entries] == [copied.id] and not errors


def test_a_read_only_process_writes_nothing_to_any_host() -> None:
    session = FakeSession()
    trail = AuditTrail()
    trail.attach(SimpleNamespace(sessions={"lab1": session},  # type: ignore[arg-type]
                                 inventory=SimpleNamespace(hosts=())))
    guard.add_observer(trail)
    guard.enter_readonly("CORRAL_READONLY")
    with pytest.raises(ActionRefused), guard.mutating("stack.rm", hosts="lab1", stack="demo"):
        pass
    assert trail.flush(5)
    assert not session.api.volumes_by_name
    assert [e.result for e in local.read()] == ["refused"]
