"""Files beside the compose file: hashing, refusals, host paths, and the tar stream."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from corral.backends.deploy import files, files_hosts, files_ship
from corral.backends.deploy.body import config_hash
from corral.backends.errors import BackendError, DeployError, PlanError
from corral.catalog.answers import resolve_answers
from corral.catalog.errors import RenderError
from corral.catalog.loader import Version
from corral.catalog.render import render

COMPOSE = """\
services:
  web:
    image: busybox
    volumes:
      - ./conf.txt:/etc/conf.txt:ro
      - {type: bind, source: ./site, target: /site}
  db:
    image: busybox
"""


def stack_of(folder: Path, text: str = COMPOSE):
    (folder / "docker-compose.yml").write_text(text)
    version = Version(entry_id="t", folder=folder, revision="t",
                      compose_file=folder / "docker-compose.yml", standalone=True)
    return render(version, resolve_answers(()), stack_name="st")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "site" / "css").mkdir(parents=True)
    (tmp_path / "conf.txt").write_text("one\n")
    (tmp_path / "site" / "index.html").write_text("<h1>x</h1>\n")
    (tmp_path / "site" / "css" / "a.css").write_text("a {}\n")
    return tmp_path


def test_relative_binds_become_local_mounts(folder: Path) -> None:
    """Before: `./conf.txt` was a render error ("Corral does not ship it")."""
    mounts = stack_of(folder).service("web").volumes
    assert [(m.kind, m.source, m.target) for m in mounts] == [
        ("local", str(folder / "conf.txt"), "/etc/conf.txt"),
        ("local", str(folder / "site"), "/site")]


@pytest.mark.parametrize("source, text", [
    ("../outside.txt", "leaves the compose file's folder"),
    ("./missing.txt", "missing.txt does not exist"),
    ("~/x", "home folder"),
])
def test_relative_binds_refused_name_the_file(folder: Path, source: str, text: str) -> None:
    (folder.parent / "outside.txt").write_text("x")
    with pytest.raises(RenderError) as info:
        stack_of(folder, f"services:\n  web:\n    image: b\n    volumes: ['{source}:/x']\n")
    lines = info.value.diagnostics()
    assert any(text in line and "docker-compose.yml:4" in line for line in lines), lines


def test_a_symlinked_bind_is_refused(folder: Path) -> None:
    (folder / "link.txt").symlink_to(folder / "conf.txt")
    with pytest.raises(RenderError) as info:
        stack_of(folder, "services:\n  web:\n    image: b\n    volumes: ['./link.txt:/x']\n")
    assert any("link.txt is a symbolic link" in line for line in info.value.diagnostics())


def test_localize_binds_content_addressed_paths(folder: Path) -> None:
    stack, items = files.localize(stack_of(folder), "/srv/files")
    conf = items[str(folder / "conf.txt")]
    site = items[str(folder / "site")]
    assert conf.size == 4 and conf.entries == 1 and not conf.folder
    assert site.folder and site.entries == 4 and site.size == len("<h1>x</h1>\n") + 5
    assert conf.host_path == f"/srv/files/st/{conf.digest}/conf.txt"
    binds = [(m.kind, m.source) for m in stack.service("web").volumes]
    assert binds == [("bind", conf.host_path), ("bind", site.host_path)]


def test_the_same_content_keeps_the_hash_and_a_change_makes_a_new_one(folder: Path) -> None:
    first, _ = files.localize(stack_of(folder), "/r")
    again, _ = files.localize(stack_of(folder), "/r")
    (folder / "site" / "css" / "a.css").write_text("b {}\n")
    changed, _ = files.localize(stack_of(folder), "/r")

    def hashes(stack):
        return {s.name: config_hash(stack, s) for s in stack.services}

    assert hashes(first) == hashes(again)
    assert hashes(changed)["web"] != hashes(first)["web"]
    assert hashes(changed)["db"] == hashes(first)["db"]


def test_permissions_are_part_of_the_digest(folder: Path) -> None:
    before = files.digest_of(str(folder / "site")).hexdigest()
    os.chmod(folder / "site" / "index.html", 0o600)
    assert files.digest_of(str(folder / "site")).hexdigest() != before


def test_symlinks_and_special_files_inside_a_folder_are_refused(folder: Path) -> None:
    (folder / "site" / "css" / "link").symlink_to("/etc/passwd")
    with pytest.raises(PlanError, match=r"site/css/link is a symbolic link"):
        files.digest_of(str(folder / "site"))
    (folder / "site" / "css" / "link").unlink()
    os.mkfifo(folder / "site" / "pipe")
    with pytest.raises(PlanError, match=r"site/pipe is not a regular file"):
        files.digest_of(str(folder / "site"))


def test_size_and_entry_caps(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "MAX_ENTRIES", 3)
    with pytest.raises(PlanError, match="more than 3 entries"):
        files.digest_of(str(folder / "site"))
    monkeypatch.setattr(files, "MAX_ENTRIES", 100)
    monkeypatch.setattr(files, "MAX_BYTES", 10)
    with pytest.raises(PlanError, match="exceed"):
        files.localize(stack_of(folder), "/r")


def test_the_files_root_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(files.ENV_FILES_DIR, raising=False)
    assert files.files_root() == "/var/lib/corral/files"
    monkeypatch.setenv(files.ENV_FILES_DIR, "/data/corral/")
    assert files.files_root() == "/data/corral"
    monkeypatch.setenv(files.ENV_FILES_DIR, "relative")
    with pytest.raises(PlanError, match="must be an absolute path"):
        files.files_root()


def _local_session() -> SimpleNamespace:
    return SimpleNamespace(name="here", spec=SimpleNamespace(is_local=True), connection=None)


def test_a_ship_streams_a_tar_that_unpacks_atomically(folder: Path, tmp_path: Path) -> None:
    """The tar stream into `sh -c 'tar -x'` (the local engine's host: this machine)."""
    hosts = tmp_path / "hosts"
    _, items = files.localize(stack_of(folder), str(hosts))
    loop = asyncio.new_event_loop()
    try:
        fleet = SimpleNamespace(backend=SimpleNamespace(
            run=lambda coro, timeout=None: loop.run_until_complete(coro)))
        for item in items.values():
            assert files_ship._send(fleet, _local_session(), item) > 0
        site = items[str(folder / "site")]
        assert Path(site.host_path, "css", "a.css").read_text() == "a {}\n"
        assert Path(items[str(folder / "conf.txt")].host_path).read_text() == "one\n"
        assert sorted(p.name for p in (hosts / "st").iterdir()) == sorted(
            i.digest for i in items.values())  # no half-unpacked .part-* left
        assert files_ship._send(fleet, _local_session(), site) >= 0  # present: kept as is
        (folder / "conf.txt").write_text("edited after the plan\n")
        stale = files.LocalFile(**{**items[str(folder / "conf.txt")].__dict__,
                                   "host_path": str(hosts / "st" / "other" / "conf.txt")})
        with pytest.raises(DeployError, match="changed since the plan"):
            files_ship._send(fleet, _local_session(), stale)
    finally:
        loop.close()
    assert not (hosts / "st" / "other").exists()
    assert not [p for p in (hosts / "st").iterdir() if p.name.startswith(".part-")]


def test_unpack_command_quotes_the_paths() -> None:
    item = files.LocalFile("/x/a b", "d" * 64, 1, 1, False, "/r o/st/" + "d" * 64 + "/a b")
    command = files_ship.unpack_command(item, "/r o/st/.part-1")
    assert "'/r o/st/.part-1'" in command and "tar -x -f -" in command
    assert f"'/r o/st/{'d' * 64}'" in files_ship.commit_command(item, "/r o/st/.part-1")


def test_prune_keeps_only_what_is_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    monkeypatch.setenv(files.ENV_FILES_DIR, str(tmp_path))
    for name in ("a" * 64, "b" * 64, ".part-x"):
        (tmp_path / "st" / name).mkdir(parents=True)
    (tmp_path / "other" / ("c" * 64)).mkdir(parents=True)
    subprocess.run(["sh", "-c", files_hosts.prune_command("st", {"a" * 64})], check=True)
    assert [p.name for p in (tmp_path / "st").iterdir()] == ["a" * 64]
    assert (tmp_path / "other" / ("c" * 64)).is_dir()
    subprocess.run(["sh", "-c", files_hosts.prune_command("gone", set())], check=True)


def test_digests_bound_reads_the_binds_under_the_stack(folder: Path) -> None:
    stack, items = files.localize(stack_of(folder), "/r")
    assert files.digests_bound(stack, "/r") == {i.digest for i in items.values()}


class _Fleet:
    """Hosts that are all this machine (is_local): their shell is `sh` here."""

    def __init__(self, names: list[str]) -> None:
        self.loop = asyncio.new_event_loop()
        self.backend = SimpleNamespace(
            run=lambda coro, timeout=None: self.loop.run_until_complete(coro))
        self.sessions = {n: SimpleNamespace(name=n, spec=SimpleNamespace(is_local=True))
                         for n in names}

    def query(self, work, hosts=None):
        results = []
        for name in hosts or list(self.sessions):
            try:
                results.append(SimpleNamespace(host=name, ok=True, error=None,
                                               value=work(self.sessions[name])))
            except BackendError as exc:
                results.append(SimpleNamespace(host=name, ok=False, error=exc, value=None))
        return results


def _planned(stack, steps):
    from corral.backends.plan.model import CREATE

    return SimpleNamespace(stack=stack, plan=SimpleNamespace(changes=[
        SimpleNamespace(action=CREATE, host=host, service=service) for host, service in steps]))


def test_plan_rows_say_ship_or_present_per_host(folder: Path, tmp_path: Path) -> None:
    stack, items = files.localize(stack_of(folder), str(tmp_path / "hosts"))
    conf = items[str(folder / "conf.txt")]
    os.makedirs(conf.directory)
    Path(conf.host_path).write_text("one\n")
    fleet = _Fleet(["h1", "h2"])
    try:
        plan = files_hosts.plan_host_paths(
            fleet, _planned(stack, [("h1", "web"), ("h2", "db")]), items)
    finally:
        fleet.loop.close()
    assert [(r.host, Path(r.local).name, r.action, r.services) for r in plan.rows] == [
        ("h1", "conf.txt", "present", ("web",)), ("h1", "site", "ship", ("web",))]
    assert [Path(r.local).name for r in plan.to_ship] == ["site"]


def test_a_missing_absolute_bind_source_is_a_plan_error(tmp_path: Path) -> None:
    stack = stack_of(tmp_path, "services:\n  web:\n    image: b\n    volumes:\n"
                               f"      - {tmp_path}:/here\n      - /no/such/dir:/x\n")
    fleet = _Fleet(["h1"])
    try:
        with pytest.raises(PlanError) as info:
            files_hosts.plan_host_paths(fleet, _planned(stack, [("h1", "web")]), {})
    finally:
        fleet.loop.close()
    assert info.value.message.startswith("stack st: h1: /no/such/dir does not exist (a bind")
    assert str(tmp_path) not in str(info.value)
