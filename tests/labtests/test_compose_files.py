"""Files beside a compose file against the lab: relative binds shipped over SSH,
content-hashed (nothing sent twice, a changed file recreates only its service),
removed with the stack; absolute bind sources checked in the plan; `build:`.

The lab's hosts share one file system (network namespaces only), so the
shipped-files root is a temporary folder per test (`CORRAL_FILES_DIR`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from corral.backends import labels as L
from tests.support.deploy import corral_on
from tests.support.lab import Lab
from tests.support.lab_cli import engine

pytestmark = pytest.mark.lab

STACK = "cfiles"
COMPOSE = """\
services:
  web:
    image: corral-lab/busybox:1
    command: [sleep, "3600"]
    volumes:
      - ./conf.txt:/etc/conf.txt:ro
      - type: bind
        source: ./site
        target: /site
        read_only: true
  other:
    image: corral-lab/busybox:1
    command: [sleep, "3600"]
    volumes:
      - ./other.txt:/etc/other.txt
"""


def containers(lab: Lab, stack: str) -> dict[str, tuple[str, object]]:
    """service -> (host, container) of the stack, as the engines report them."""
    found = {}
    for host in lab.hosts:
        for container in engine(host.socket).containers.list(
                all=True, filters={"label": f"{L.STACK}={stack}"}):
            found[container.labels[L.SERVICE]] = (host.name, container)
    return found


def read(container, path: str) -> str:
    code, output = container.exec_run(["cat", path])
    assert code == 0, output
    return output.decode()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "hosts-files"
    monkeypatch.setenv("CORRAL_FILES_DIR", str(root))
    work = tmp_path / "app"
    (work / "site" / "css").mkdir(parents=True)
    (work / "docker-compose.yml").write_text(COMPOSE)
    (work / "conf.txt").write_text("version one\n")
    (work / "site" / "index.html").write_text("<h1>hello</h1>\n")
    (work / "site" / "css" / "a.css").write_text("body {}\n")
    (work / "other.txt").write_text("other\n")
    return work


def test_relative_binds_ship_once_and_a_change_recreates_only_its_service(
        lab: Lab, folder: Path) -> None:
    compose = str(folder / "docker-compose.yml")
    root = Path(folder.parent / "hosts-files")
    try:
        plan = corral_on(lab, "plan", compose, "--stack", STACK, "--json")
        assert plan.returncode == 0, plan.stderr
        rows = json.loads(plan.stdout)["files"]
        assert {(Path(r["local"]).name, r["action"]) for r in rows} == {
            ("conf.txt", "ship"), ("site", "ship"), ("other.txt", "ship")}
        conf = next(r for r in rows if r["local"].endswith("conf.txt"))
        assert conf["size"] == len("version one\n") and conf["services"] == ["web"]
        assert conf["host_path"].startswith(f"{root}/{STACK}/")
        text = corral_on(lab, "plan", compose, "--stack", STACK)
        assert "Files:" in text.stdout and "ship (sha256 " in text.stdout, text.stdout

        first = corral_on(lab, "deploy", compose, "--stack", STACK, "--yes")
        assert first.returncode == 0, first.stderr
        assert first.stderr.count(" ship ") == 3, first.stderr
        found = containers(lab, STACK)
        web_host, web = found["web"]
        assert read(web, "/etc/conf.txt") == "version one\n"
        assert read(web, "/site/index.html") == "<h1>hello</h1>\n"
        assert read(web, "/site/css/a.css") == "body {}\n"
        assert read(found["other"][1], "/etc/other.txt") == "other\n"

        again = corral_on(lab, "deploy", compose, "--stack", STACK, "--yes")
        assert again.returncode == 0, again.stderr
        assert " ship " not in again.stderr and "Nothing to change" in again.stdout, again

        (folder / "conf.txt").write_text("version two\n")
        changed = corral_on(lab, "deploy", compose, "--stack", STACK, "--yes")
        assert changed.returncode == 0, changed.stderr
        assert changed.stderr.count(" ship ") == 1, changed.stderr
        after = containers(lab, STACK)
        assert after["other"][1].id == found["other"][1].id
        assert after["web"][1].id != web.id
        assert read(after["web"][1], "/etc/conf.txt") == "version two\n"
        # The old conf.txt digest is pruned once the apply succeeded; nothing half-done left.
        kept = {p.name for p in (root / STACK).iterdir()}
        assert len(kept) == 3 and conf["host_path"].split("/")[-2] not in kept, kept
    finally:
        removed = corral_on(lab, "rm", STACK, "--yes")
    assert removed.returncode == 0, removed.stderr
    assert not (root / STACK).exists()


def test_a_missing_absolute_bind_source_is_a_plan_error_naming_the_host(
        lab: Lab, tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  app:\n    image: corral-lab/busybox:1\n    volumes:\n"
        "      - /srv/corral-no-such-dir:/data\n")
    result = corral_on(lab, "plan", str(tmp_path / "docker-compose.yml"), "--stack", "cabs")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    line = result.stderr.splitlines()[0]
    assert "/srv/corral-no-such-dir does not exist" in line, result.stderr
    assert any(f": {host.name}: " in line for host in lab.hosts), result.stderr


def test_a_symlink_beside_the_compose_file_is_refused_in_one_line(
        lab: Lab, folder: Path) -> None:
    (folder / "site" / "link").symlink_to("/etc/passwd")
    result = corral_on(lab, "plan", str(folder / "docker-compose.yml"), "--stack", STACK)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "site/link is a symbolic link" in lines[0], result.stderr


BUILD_COMPOSE = """\
services:
  made:
    build:
      context: ./src
      args: {GREETING: built-by-corral}
    command: [sleep, "3600"]
"""


@pytest.fixture
def build_folder(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "Dockerfile").write_text(
        "FROM corral-lab/busybox:1\nARG GREETING\nCOPY hello.txt /hello.txt\n"
        "RUN echo $GREETING > /greeting.txt\n")
    (tmp_path / "src" / "hello.txt").write_text("from the context\n")
    (tmp_path / "docker-compose.yml").write_text(BUILD_COMPOSE)
    return tmp_path


def test_build_without_a_local_engine_stops_in_one_line(
        lab: Lab, build_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRAL_LOCAL_DOCKER", str(build_folder / "no-engine.sock"))
    compose = str(build_folder / "docker-compose.yml")
    plan = corral_on(lab, "plan", compose, "--stack", "cbuild", "--json")
    assert plan.returncode == 0, plan.stderr
    rows = json.loads(plan.stdout)["images"]
    assert rows and all(r["image"] == "cbuild-made:corral" and r["action"] == "unavailable"
                        for r in rows), rows
    result = corral_on(lab, "deploy", compose, "--stack", "cbuild", "--yes")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "cbuild-made:corral: build: needs a Docker engine on this machine" in lines[0]
    assert not containers(lab, "cbuild")


def test_build_with_the_local_engine_then_push(
        lab: Lab, build_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """lab1's engine plays this machine's own (as in test_images_cli)."""
    monkeypatch.setenv("CORRAL_LOCAL_DOCKER", lab.host("lab1").socket)
    compose = str(build_folder / "docker-compose.yml")
    try:
        plan = corral_on(lab, "plan", compose, "--stack", "cbuild", "--json")
        assert plan.returncode == 0, plan.stderr
        row = json.loads(plan.stdout)["images"][0]
        assert (row["action"], row["source"]) == ("push", "local build"), row
        result = corral_on(lab, "deploy", compose, "--stack", "cbuild", "--yes")
        assert result.returncode == 0, result.stderr
        assert " build " in result.stderr and "Step " in result.stderr, result.stderr
        _, made = containers(lab, "cbuild")["made"]
        assert read(made, "/hello.txt") == "from the context\n"
        assert read(made, "/greeting.txt") == "built-by-corral\n"
        again = corral_on(lab, "deploy", compose, "--stack", "cbuild", "--yes")
        assert again.returncode == 0 and " build " not in again.stderr, again.stderr
        (build_folder / "src" / "hello.txt").write_text("edited context\n")
        edited = corral_on(lab, "deploy", compose, "--stack", "cbuild", "--yes")
        assert edited.returncode == 0 and " build " in edited.stderr, edited.stderr
        _, remade = containers(lab, "cbuild")["made"]
        assert remade.id != made.id and read(remade, "/hello.txt") == "edited context\n"
    finally:
        corral_on(lab, "rm", "cbuild", "--yes")


def test_an_upgrade_keeps_the_old_files_for_a_rollback(lab: Lab, folder: Path) -> None:
    compose = str(folder / "docker-compose.yml")
    root = Path(folder.parent / "hosts-files")
    stack = "cfilesup"
    try:
        assert corral_on(lab, "deploy", compose, "--stack", stack, "--yes").returncode == 0
        (folder / "conf.txt").write_text("version two\n")
        upgraded = corral_on(lab, "upgrade", compose, "--stack", stack, "--yes")
        assert upgraded.returncode == 0, upgraded.stderr
        assert len(list((root / stack).iterdir())) == 4  # both conf.txt digests kept
        rolled = corral_on(lab, "rollback", stack, "--yes")
        assert rolled.returncode == 0, rolled.stderr
        _, web = containers(lab, stack)["web"]
        assert read(web, "/etc/conf.txt") == "version one\n"
    finally:
        corral_on(lab, "rm", stack, "--yes")
    assert not (root / stack).exists()


SECRET = "lab-s3cret-db-pw-5e1d"
NEW_SECRET = "lab-rotated-db-pw-7a20"
ENV_SECRET = "lab-env-api-key-03c9"
REFS_COMPOSE = """\
services:
  app:
    image: corral-lab/busybox:1
    command: [sleep, "3600"]
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
  other:
    image: corral-lab/busybox:1
    command: [sleep, "3600"]
    configs: [other_conf]
secrets:
  db_password: {file: ./db_password.txt}
  api_key: {environment: API_KEY}
configs:
  app_conf: {file: ./app.conf}
  other_conf: {content: "other=1"}
"""


def listing(container, path: str) -> str:
    """`-r-------- 1 0 0`: mode, links, owner and group of a file in the container."""
    code, output = container.exec_run(["ls", "-ln", path])
    assert code == 0, output
    return " ".join(output.decode().split()[:4])


def test_secrets_and_configs_arrive_as_files_and_nowhere_else(
        lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "hosts-files"
    monkeypatch.setenv("CORRAL_FILES_DIR", str(root))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("API_KEY", raising=False)
    sets = ("--set", f"API_KEY={ENV_SECRET}")  # as an answer: never in the record or audit
    (tmp_path / "docker-compose.yml").write_text(REFS_COMPOSE)
    (tmp_path / "db_password.txt").write_text(SECRET)
    (tmp_path / "app.conf").write_text("level=info\n")
    compose, stack = str(tmp_path / "docker-compose.yml"), "crefs"
    outputs = []
    try:
        plan = corral_on(lab, "plan", compose, "--stack", stack, "--json", *sets)
        assert plan.returncode == 0, plan.stderr
        rows = {r["local"]: r for r in json.loads(plan.stdout)["files"]}
        assert sorted(rows) == ["config app_conf", "config other_conf", "secret api_key",
                                "secret db_password"]
        assert rows["secret db_password"]["size"] == len(SECRET)
        assert rows["secret api_key"]["services"] == ["app"]
        text = corral_on(lab, "plan", compose, "--stack", stack, *sets)
        assert "secret db_password" in text.stdout, text.stdout
        first = corral_on(lab, "deploy", compose, "--stack", stack, "--yes", *sets)
        assert first.returncode == 0, first.stderr
        outputs += [plan, text, first]
        found = containers(lab, stack)
        app, other = found["app"][1], found["other"][1]
        assert read(app, "/run/secrets/db_password") == SECRET
        assert read(app, "/etc/api.key") == ENV_SECRET
        assert read(app, "/etc/app.conf") == "level=info\n"
        assert read(other, "/other_conf") == "other=1"
        assert listing(app, "/run/secrets/db_password") == "-r-------- 1 0 0"
        assert listing(app, "/etc/api.key") == "-r--r----- 1 100 101"
        assert listing(app, "/etc/app.conf") == "-r--r--r-- 1 0 0"
        code, _ = app.exec_run(["sh", "-c", "echo x > /run/secrets/db_password"])
        assert code != 0  # read-only bind
        assert (root / stack / "secrets").stat().st_mode & 0o777 == 0o700
        same = corral_on(lab, "plan", compose, "--stack", stack, "--json", *sets)
        assert same.returncode == 0 and json.loads(same.stdout)["no_op"], same.stdout
        outputs.append(same)

        (tmp_path / "db_password.txt").write_text(NEW_SECRET)
        rotated = corral_on(lab, "deploy", compose, "--stack", stack, "--yes", *sets)
        assert rotated.returncode == 0, rotated.stderr
        outputs.append(rotated)
        now = containers(lab, stack)
        assert now["other"][1].id == other.id and now["app"][1].id != app.id
        app = now["app"][1]
        assert read(app, "/run/secrets/db_password") == NEW_SECRET
        assert len(list((root / stack / "secrets").iterdir())) == 2  # the old token pruned

        (tmp_path / "app.conf").write_text("level=debug\n")
        changed = corral_on(lab, "deploy", compose, "--stack", stack, "--yes", *sets)
        assert changed.returncode == 0, changed.stderr
        outputs.append(changed)
        after = containers(lab, stack)
        assert after["other"][1].id == other.id and after["app"][1].id != app.id
        assert read(after["app"][1], "/etc/app.conf") == "level=debug\n"
        inspected = json.dumps([c.attrs for _, c in after.values()])
        outputs.append(corral_on(lab, "audit", "--json", "--local", "--stack", stack))
        outputs.append(corral_on(lab, "stacks", "--json"))
        audit_file = (tmp_path / "state").rglob("*")
        outputs.append(corral_on(lab, "audit", "--json", "--stack", stack))
        local_audit = "".join(p.read_text(errors="replace") for p in audit_file if p.is_file())
        assert "stack.deploy" in local_audit and "API_KEY" not in local_audit
    finally:
        removed = corral_on(lab, "rm", stack, "--yes")
    assert removed.returncode == 0, removed.stderr
    assert not (root / stack).exists()
    guesses = set().union(*(digests_of(v) for v in (SECRET, NEW_SECRET, ENV_SECRET)))
    for text in [inspected, local_audit, *(o.stdout + o.stderr for o in outputs)]:
        assert SECRET not in text and ENV_SECRET not in text and NEW_SECRET not in text
        assert not [g for g in guesses if g in text]


def digests_of(secret: str) -> set[str]:
    """What an offline guesser computes from a secret: its SHA-256, and that of the
    kind/owner/mode/content string the previous layout named its host folder by."""
    digest = hashlib.sha256(secret.encode()).hexdigest()
    metas = (f"secret\0{uid}\0{gid}\0{mode:o}\0{digest}"
             for uid, gid in ((None, None), (100, 101)) for mode in (0o400, 0o440))
    found = {digest} | {hashlib.sha256(meta.encode()).hexdigest() for meta in metas}
    return found | {g[:12] for g in found}


IPAM_COMPOSE = """\
services:
  web:
    image: corral-lab/busybox:1
    command: [sleep, "3600"]
    networks:
      front:
        ipv4_address: 10.177.0.10
        aliases: [www]
      back:
        ipv4_address: 10.178.0.20
networks:
  front:
    ipam:
      config:
        - subnet: 10.177.0.0/24
          gateway: 10.177.0.1
  back:
    internal: true
    ipam:
      config: [{subnet: 10.178.0.0/24}]
"""


def test_a_network_with_ipam_gives_fixed_addresses_and_aliases(
        lab: Lab, tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(IPAM_COMPOSE)
    stack = "cipam"
    try:
        result = corral_on(lab, "deploy", str(tmp_path / "docker-compose.yml"), "--stack",
                           stack, "--yes")
        assert result.returncode == 0, result.stderr
        host, web = containers(lab, stack)["web"]
        networks = web.attrs["NetworkSettings"]["Networks"]
        assert networks[f"{stack}_front"]["IPAddress"] == "10.177.0.10"
        assert networks[f"{stack}_back"]["IPAddress"] == "10.178.0.20"
        assert "www" in networks[f"{stack}_front"]["Aliases"]
        code, output = web.exec_run(["ping", "-c", "1", "-W", "2", "www"])
        assert b"10.177.0.10" in output, output
        client = engine(lab.host(host).socket)
        front = client.networks.get(f"{stack}_front").attrs
        assert front["IPAM"]["Config"] == [{"Subnet": "10.177.0.0/24",
                                            "Gateway": "10.177.0.1"}]
        assert client.networks.get(f"{stack}_back").attrs["Internal"] is True
    finally:
        removed = corral_on(lab, "rm", stack, "--yes")
    assert removed.returncode == 0, removed.stderr
