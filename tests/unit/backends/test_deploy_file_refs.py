"""Compose `secrets` and `configs` delivered as files: read from their top-level
definitions, shipped like relative binds (configs content-hashed, secrets in
a random token's folder), bind-mounted read-only, their content (or anything
computed from a secret's) never in the spec, the record, repr or the plan."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from corral.backends.deploy import files, files_hosts, files_ship, secret_files
from corral.backends.deploy.body import config_hash, template
from corral.backends.deploy.record import decode, definition_of, encode
from corral.backends.errors import DeployError
from corral.catalog.answers import resolve_answers
from corral.catalog.errors import RenderError
from corral.catalog.loader import Version
from corral.catalog.render import render
from corral.tui.present.deploy import file_how
from tests.unit.backends.test_deploy_files import _Fleet

SECRET = "s3cr3t-db-password-9f1c"
ENV_SECRET = "env-api-key-77aa"
COMPOSE = """\
services:
  web:
    image: busybox
    secrets:
      - db_password
      - source: api_key
        target: /etc/api.key
        uid: "100"
        gid: "101"
        mode: 0440
    configs:
      - source: app_conf
        target: /etc/app.conf
        mode: "0640"
  other:
    image: busybox
    configs: [other_conf]
  plain:
    image: busybox
secrets:
  db_password:
    file: ./db_password.txt
  api_key:
    environment: API_KEY
configs:
  app_conf:
    file: ./app.conf
  other_conf:
    content: "inline config"
"""


def stack_of(folder: Path, text: str = COMPOSE):
    (folder / "docker-compose.yml").write_text(text)
    version = Version(entry_id="t", folder=folder, revision="t",
                      compose_file=folder / "docker-compose.yml", standalone=True)
    return render(version, resolve_answers(()), stack_name="st")


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("API_KEY", ENV_SECRET)
    work = tmp_path / "app"
    work.mkdir()
    (work / "db_password.txt").write_text(SECRET)
    (work / "app.conf").write_text("level=info\n")
    return work


def errors_of(folder: Path, text: str) -> list[str]:
    with pytest.raises(RenderError) as info:
        stack_of(folder, text)
    return info.value.diagnostics()


def test_secrets_and_configs_are_read_with_their_content_kept_out_of_the_spec(
        folder: Path) -> None:
    """Before: each was a warning "not delivered into the containers"."""
    stack = stack_of(folder)
    web = stack.service("web")
    assert [(r.kind, r.name, r.target, r.uid, r.gid, r.mode) for r in web.files] == [
        ("secret", "db_password", "/run/secrets/db_password", None, None, None),
        ("secret", "api_key", "/etc/api.key", 100, 101, 0o440),
        ("config", "app_conf", "/etc/app.conf", None, None, 0o640)]
    assert web.files[1].data == ENV_SECRET and web.files[0].source.endswith("db_password.txt")
    assert not [w for w in stack.warnings if "not delivered" in str(w)]
    shown = json.dumps(stack.to_dict()) + repr(stack)
    assert ENV_SECRET not in shown and SECRET not in shown
    assert stack.service("other").files[0].target == "/other_conf"


@pytest.mark.parametrize("definition, text", [
    ("db_password: {external: true}",
     "docker-compose.yml:21: error: secrets db_password (used by service web): external: true"
     " names a Swarm secret object; standalone containers cannot use it (it needs the Swarm"
     " engine)"),
    ("db_password: {environment: NOT_SET_ANYWHERE}",
     "environment variable NOT_SET_ANYWHERE is not set"),
    ("db_password: {file: ./missing.txt}", "missing.txt does not exist"),
    ("db_password: {file: ../outside.txt}", "leaves the compose file's folder"),
])
def test_a_secret_that_cannot_be_delivered_is_an_error_at_its_line(
        folder: Path, definition: str, text: str) -> None:
    compose = COMPOSE.replace("db_password:\n    file: ./db_password.txt", definition)
    assert any(text in line for line in errors_of(folder, compose)), errors_of(folder, compose)


def test_an_undefined_secret_and_a_bad_mode_are_errors(folder: Path) -> None:
    undefined = COMPOSE.replace("      - db_password\n", "      - nowhere\n")
    assert any("docker-compose.yml:4: error: service web: secrets: nowhere is not defined"
               " under the top-level secrets:" in line for line in errors_of(folder, undefined))
    bad_mode = COMPOSE.replace('mode: "0640"', 'mode: "rw"')
    assert any("configs: mode 'rw' is not an octal number" in line
               for line in errors_of(folder, bad_mode))


def test_localize_binds_each_file_read_only_apart_for_secrets(folder: Path) -> None:
    stack, items = files.localize(stack_of(folder), "/srv/f")
    secret = items["secret db_password"]
    config = items["config app_conf"]
    assert secret.host_path == f"/srv/f/st/secrets/{secret.digest}/db_password"
    assert config.host_path == f"/srv/f/st/{config.digest}/app_conf"
    assert secret.size == len(SECRET) and secret.mode == 0o400 and config.mode == 0o640
    assert items["config other_conf"].mode == 0o444
    assert stack.service("web").files == ()  # each is its bind now (and in the record)
    binds = template(stack, stack.service("web"))["HostConfig"]["Binds"]
    assert binds == [f"{secret.host_path}:/run/secrets/db_password:ro",
                     f"{items['secret api_key'].host_path}:/etc/api.key:ro",
                     f"{config.host_path}:/etc/app.conf:ro"]
    body = json.dumps([template(stack, s) for s in stack.services])
    record = json.dumps(encode(definition_of(stack, None, 1, 0.0)))
    for text in (body, record, repr(items), json.dumps(stack.to_dict())):
        assert SECRET not in text and ENV_SECRET not in text and "inline config" not in text
    assert files.digests_bound(stack, "/srv/f") == {
        "secrets", f"secrets/{secret.digest}", f"secrets/{items['secret api_key'].digest}",
        config.digest, items["config other_conf"].digest}


def test_a_changed_config_recreates_only_the_service_that_uses_it(folder: Path) -> None:
    tokens = {"secret db_password": "a" * 16, "secret api_key": "b" * 16}  # as recorded

    def hashes(text: str = COMPOSE):
        stack, _ = files.localize(stack_of(folder, text), "/r", tokens)
        return {s.name: config_hash(stack, s) for s in stack.services}

    first = hashes()
    assert hashes() == first
    (folder / "app.conf").write_text("level=debug\n")
    changed = hashes()
    assert changed["web"] != first["web"]
    assert changed["other"] == first["other"] and changed["plain"] == first["plain"]
    # The mode is part of the digest too.
    assert hashes(COMPOSE.replace('mode: "0640"', 'mode: "0600"'))["web"] != changed["web"]


def _fleet(loop):
    return SimpleNamespace(backend=SimpleNamespace(
        run=lambda coro, timeout=None: loop.run_until_complete(coro)))


def _local_session():
    return SimpleNamespace(name="here", spec=SimpleNamespace(is_local=True))


def test_a_ship_writes_each_file_with_its_mode_and_owner(folder: Path, tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    _, items = files.localize(stack_of(folder), str(hosts))
    loop = asyncio.new_event_loop()
    try:
        for item in items.values():
            assert files_ship._send_ref(_fleet(loop), _local_session(), item) > 0
        secret, api = items["secret db_password"], items["secret api_key"]
        assert Path(secret.host_path).read_text() == SECRET
        assert Path(api.host_path).read_text() == ENV_SECRET
        assert stat.S_IMODE(os.stat(secret.host_path).st_mode) == 0o400
        assert stat.S_IMODE(os.stat(hosts / "st" / "secrets").st_mode) == 0o700
        assert stat.S_IMODE(os.stat(secret.directory).st_mode) == 0o700
        config = items["config app_conf"]
        assert stat.S_IMODE(os.stat(config.host_path).st_mode) == 0o640
        assert stat.S_IMODE(os.stat(config.directory).st_mode) == 0o755
        if os.getuid() == 0:
            info = os.stat(api.host_path)
            assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (100, 101, 0o440)
        assert files_ship._send_ref(_fleet(loop), _local_session(), secret) > 0  # kept
        (folder / "db_password.txt").write_text("edited after the plan")
        stale = files.LocalFile(**{**secret.__dict__, "host_path": str(
            hosts / "st" / "secrets" / "other" / "db_password")})
        with pytest.raises(DeployError, match="secret db_password changed since the plan"):
            files_ship._send_ref(_fleet(loop), _local_session(), stale)
    finally:
        loop.close()
    assert not [p for p in (hosts / "st" / "secrets").iterdir() if p.name.startswith(".part")]


def test_prune_keeps_the_bound_secrets_and_drops_the_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(files.ENV_FILES_DIR, str(tmp_path))
    for name in ("a" * 64, "b" * 64, "secrets/" + "c" * 64, "secrets/" + "d" * 64):
        (tmp_path / "st" / name).mkdir(parents=True)
    keep = {"a" * 64, "secrets", "secrets/" + "c" * 64}
    subprocess.run(["sh", "-c", files_hosts.prune_command("st", keep)], check=True)
    assert sorted(p.name for p in (tmp_path / "st").iterdir()) == ["a" * 64, "secrets"]
    assert [p.name for p in (tmp_path / "st" / "secrets").iterdir()] == ["c" * 64]
    subprocess.run(["sh", "-c", files_hosts.prune_command("st", {"a" * 64})], check=True)
    assert [p.name for p in (tmp_path / "st").iterdir()] == ["a" * 64]


def test_the_plan_lists_each_secret_by_name_size_and_host(folder: Path, tmp_path: Path) -> None:
    from tests.unit.backends.test_deploy_files import _Fleet, _planned

    stack, items = files.localize(stack_of(folder), str(tmp_path / "hosts"))
    fleet = _Fleet(["h1", "h2"])
    try:
        plan = files_hosts.plan_host_paths(
            fleet, _planned(stack, [("h1", "web"), ("h2", "other"), ("h2", "plain")]), items)
    finally:
        fleet.loop.close()
    assert [(r.host, r.local, r.size, r.action, r.services) for r in plan.rows] == [
        ("h1", "config app_conf", len("level=info\n"), "ship", ("web",)),
        ("h1", "secret api_key", len(ENV_SECRET), "ship", ("web",)),
        ("h1", "secret db_password", len(SECRET), "ship", ("web",)),
        ("h2", "config other_conf", len("inline config"), "ship", ("other",))]
    rows = json.dumps([r.to_dict() for r in plan.rows])
    assert SECRET not in rows and ENV_SECRET not in rows


def test_a_reference_without_content_from_an_older_record_is_left_alone(folder: Path) -> None:
    """A record written when secrets were only warned of holds no content: nothing to ship."""
    import dataclasses

    stack = stack_of(folder)
    web = stack.service("web")
    old = dataclasses.replace(web, files=tuple(dataclasses.replace(r, source=None, data=None)
                                               for r in web.files))
    stack = dataclasses.replace(stack, services=(old,))
    localized, items = files.localize(stack, "/r")
    assert items == {} and localized.service("web").volumes == ()
    assert localized.service("web").files == old.files


def test_an_environment_secret_s_variable_is_named_for_the_record_to_leave_out(
        folder: Path) -> None:
    assert files.secret_variables(stack_of(folder)) == {"API_KEY"}


def _guesses(content: str, kinds=("secret",)) -> set[str]:
    """What an offline guesser would compute from a secret: its SHA-256, and that of
    the owner/mode/content string the previous layout named its folder by."""
    digest = hashlib.sha256(content.encode()).hexdigest()
    found = {digest}
    for kind in kinds:
        for uid, gid in ((None, None), ("100", "101"), (100, 101)):
            for mode in (0o400, 0o440, 0o444):
                meta = f"{kind}\0{uid}\0{gid}\0{mode:o}\0{digest}"
                found.add(hashlib.sha256(meta.encode()).hexdigest())
    return found | {g[:12] for g in found}


def test_nothing_computed_from_a_secret_reaches_its_path_the_record_or_the_plan(
        folder: Path, tmp_path: Path) -> None:
    from tests.unit.backends.test_deploy_files import _planned

    stack, items = files.localize(stack_of(folder), str(tmp_path / "hosts"))
    fleet = _Fleet(["h1"])
    try:
        stack, items, tokens = secret_files.settle(fleet, stack, items, None, ["h1"])
        plan = files_hosts.plan_host_paths(fleet, _planned(stack, [("h1", "web")]), items)
    finally:
        fleet.loop.close()
    secret = items["secret db_password"]
    assert secret.host_path == f"{tmp_path}/hosts/st/secrets/{secret.digest}/db_password"
    assert tokens == {"secret db_password": secret.digest,
                      "secret api_key": items["secret api_key"].digest}
    definition = dataclasses.replace(definition_of(stack, None, 1, 0.0), secret_files=tokens)
    assert decode(encode(definition)).secret_files == tokens
    texts = [json.dumps(definition.to_dict()), repr(items), repr(plan),
             json.dumps([r.to_dict() for r in plan.rows]),
             " ".join(file_how(r) for r in plan.rows),
             json.dumps([template(stack, s) for s in stack.services])]
    for guess in _guesses(SECRET) | _guesses(ENV_SECRET):
        for text in texts:
            assert guess not in text


def _ship_all(items) -> None:
    loop = asyncio.new_event_loop()
    try:
        for item in items.values():
            files_ship._send_ref(_fleet(loop), _local_session(), item)
    finally:
        loop.close()


def test_a_secret_keeps_its_token_while_the_hosts_copy_is_the_same(
        folder: Path, tmp_path: Path) -> None:
    root = str(tmp_path / "hosts")

    def planned(previous, text: str = COMPOSE, hosts=("h1",)):
        stack, items = files.localize(stack_of(folder, text), root)
        fleet = _Fleet(["h1"])
        try:
            return secret_files.settle(fleet, stack, items, previous, list(hosts))
        finally:
            fleet.loop.close()

    def record(stack, tokens):
        return dataclasses.replace(definition_of(stack, None, 1, 0.0), secret_files=tokens)

    stack, items, tokens = planned(None)
    _ship_all(items)
    previous = record(stack, tokens)
    again, again_items, again_tokens = planned(previous)
    assert again_tokens == tokens and again == stack  # same binds: no recreate, no re-ship
    assert {s.name: config_hash(again, s) for s in again.services} == {
        s.name: config_hash(stack, s) for s in stack.services}
    # No host asked (none holds the stack), or a record without tokens (the
    # previous layout): fresh tokens, so the secret moves once.
    assert planned(previous, hosts=())[2]["secret db_password"] != tokens["secret db_password"]
    old = dataclasses.replace(previous, secret_files={})
    assert planned(old)[2]["secret db_password"] != tokens["secret db_password"]
    hostile = dataclasses.replace(previous, secret_files={"secret db_password": "../../etc"})
    assert planned(hostile)[2]["secret db_password"] != "../../etc"
    # A changed mode, or changed content: a new token for that secret only.
    moded = planned(previous, COMPOSE.replace("mode: 0440", "mode: 0400"))[2]
    assert moded["secret api_key"] != tokens["secret api_key"]
    assert moded["secret db_password"] == tokens["secret db_password"]
    (folder / "db_password.txt").write_text("an-edited-password")
    changed, _, changed_tokens = planned(previous)
    assert changed_tokens["secret db_password"] != tokens["secret db_password"]
    assert changed_tokens["secret api_key"] == tokens["secret api_key"]
    assert config_hash(changed, changed.service("web")) != config_hash(stack, stack.service("web"))
    assert config_hash(changed, changed.service("other")) == config_hash(stack,
                                                                         stack.service("other"))


def test_the_host_check_prints_no_more_than_owner_mode_and_digest(tmp_path: Path) -> None:
    path = tmp_path / "s"
    path.write_text("x")
    path.chmod(0o400)
    output = subprocess.run(["sh", "-c", secret_files.check_command(
        [str(path), str(tmp_path / "absent")])], capture_output=True, text=True).stdout
    lines = output.splitlines()
    assert lines[0] == f"id {os.getuid()} {os.getgid()}" and len(lines) == 2
    assert lines[1] == (f"0 {os.getuid()} {os.getgid()} 400 "
                        f"{hashlib.sha256(b'x').hexdigest()}")
