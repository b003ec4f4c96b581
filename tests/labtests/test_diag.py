"""`corral diag`: a bundle that holds what support needs and no secret at all.

A stack whose password reaches an environment variable under an innocent
name, a command line and the container's log; a container started by hand
with a password in its environment that it also prints; a registry
credential in the operator's Docker config; the lab's private key. None of
them may appear in any member of the bundle.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from corral.backends import labels as L
from tests.support.deploy import corral_on
from tests.support.lab import Lab
from tests.support.lab_cli import engine

pytestmark = pytest.mark.lab

STACK = "dia"
PASSWORD = "Diag-s3cret-pw"
HAND_PASSWORD = "hand-made-secret"
REGISTRY = "registry-cred-pw"
COMPOSE = """\
version: '2'
services:
  db:
    image: corral-lab/busybox:1
    command: ["sh", "-c", "echo db ready with ${DB_PASSWORD}; exec sleep 3600"]
    environment:
      DB_PASSWORD: "${DB_PASSWORD}"
      CONNECTION: "postgres://app:${DB_PASSWORD}@db/app"
  app:
    image: corral-lab/busybox:1
    command: ["sh", "-c", "echo app up; exec sleep 3600"]
"""
RANCHER = """\
version: '2'
catalog:
  name: dia
  version: "1"
  questions:
    - variable: DB_PASSWORD
      type: password
      required: true
"""


@pytest.fixture(scope="module")
def deployed(lab: Lab, tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("dia")
    (path / "docker-compose.yml").write_text(COMPOSE)
    (path / "rancher-compose.yml").write_text(RANCHER)
    result = corral_on(lab, "deploy", str(path), "--stack", STACK, "--set",
                       f"DB_PASSWORD={PASSWORD}", "--yes")
    assert result.returncode == 0, result.stderr
    hand = engine(lab.host("lab2").socket).containers.run(
        "corral-lab/busybox:1", ["sh", "-c", f"echo {HAND_PASSWORD}; exec sleep 3600"],
        name="dia-by-hand", environment={"MY_PASSWORD": HAND_PASSWORD}, detach=True,
        labels={L.STACK: "byhand"})  # a stack label: its log is collected too
    yield path
    hand.remove(force=True)
    corral_on(lab, "rm", STACK, "--yes", "--volumes")


def home_with_registry_login(tmp_path: Path) -> Path:
    docker = tmp_path / "home" / ".docker"
    docker.mkdir(parents=True)
    auth = base64.b64encode(f"ops:{REGISTRY}".encode()).decode()
    (docker / "config.json").write_text(json.dumps({"auths": {"reg.example": {"auth": auth}}}))
    return tmp_path / "home"


def diag(lab: Lab, home: Path, inventory: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(home), "XDG_STATE_HOME": str(home / "state")}
    return subprocess.run(
        [sys.executable, "-m", "corral.tui.cli.main", "--readonly", "--inventory",
         str(inventory), "--known-hosts", str(lab.known_hosts), "diag", *args],
        env=env, capture_output=True, text=True, timeout=120)


def members(bundle: Path) -> dict[str, bytes]:
    with tarfile.open(bundle) as tar:
        return {m.name.removeprefix("corral-diag/"): tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers() if m.isfile()}


def state_of(lab: Lab) -> list:
    """Every container and volume of every host (what a mutation would change)."""
    found = []
    for host in lab.hosts:
        client = engine(host.socket)
        found += sorted((c.id, c.status) for c in client.containers.list(all=True))
        found += sorted(v.name for v in client.volumes.list())
    return found


def test_the_bundle_holds_what_support_needs_and_no_secret(lab: Lab, deployed: Path,
                                                          tmp_path: Path) -> None:
    home = home_with_registry_login(tmp_path)
    (home / "state" / "corral").mkdir(parents=True)
    (home / "state" / "corral" / "audit.jsonl").write_text('{"verb": "stack.deploy"}\n')
    inventory = tmp_path / "inventory.yaml"
    ghost = "  - name: ghost\n    ssh: root@10.255.255.1:22\n"
    inventory.write_text(lab.inventory.read_text() + ghost)
    before = state_of(lab)
    bundle = tmp_path / "support.tar.gz"
    result = diag(lab, home, inventory, "-o", str(bundle), "--connect-timeout", "3")
    assert result.returncode == 1, result.stderr  # ghost could not be read; still written
    assert "ghost" in result.stderr and bundle.is_file()
    assert state_of(lab) == before  # read only
    files = members(bundle)
    manifest = json.loads(files["manifest.json"])
    assert manifest["hosts"]["ghost"]["state"] == "failed" and manifest["hosts"]["ghost"]["error"]
    assert {e["name"] for e in manifest["files"]} == set(files) - {"manifest.json"}
    for name in ("corral.json", "config.json", "inventory.json", "stacks.json",
                 "hosts/lab1/engine.json", "hosts/lab1/containers.json",
                 "hosts/lab1/events.jsonl", "corral-logs/audit.jsonl"):
        assert name in files, sorted(files)
    logs = {n: d for n, d in files.items() if "/logs/" in n}
    assert any(n.endswith("/dia-db-1.log") for n in logs)
    db_log = next(d for n, d in logs.items() if n.endswith("/dia-db-1.log"))
    assert b"db ready with ********" in db_log  # the line is there, the password is not
    containers = [c for n, d in files.items() if n.endswith("containers.json")
                  for c in json.loads(d)]
    assert {"dia-db-1", "dia-app-1", "dia-by-hand"} <= {c["name"] for c in containers}
    inventory_json = json.loads(files["inventory.json"])
    assert str(lab.key) in json.dumps(inventory_json)  # the key's path, never its contents
    key_lines = [line for line in lab.key.read_text().splitlines()
                 if line and not line.startswith("-----")]
    forbidden = [PASSWORD, HAND_PASSWORD, REGISTRY, base64.b64encode(
        f"ops:{REGISTRY}".encode()).decode(), base64.b64encode(PASSWORD.encode()).decode(),
        *key_lines]
    for name, data in files.items():
        text = data.decode("utf-8", "replace")
        assert "PRIVATE KEY-----\n" not in text
        for secret in forbidden:
            assert secret not in text, f"{name} holds a secret"


def test_hosts_and_size_are_bounded(lab: Lab, deployed: Path, tmp_path: Path) -> None:
    home = home_with_registry_login(tmp_path)
    bundle = tmp_path / "small.tar.gz"
    result = diag(lab, home, lab.inventory, "-o", str(bundle), "--hosts", "lab1,lab2",
                  "--max-size", "0.3", "--lines", "5")
    assert result.returncode == 0, result.stderr
    files = members(bundle)
    manifest = json.loads(files["manifest.json"])
    assert set(manifest["hosts"]) == {"lab1", "lab2"}
    assert sum(e["size"] for e in manifest["files"]) <= 0.3 * (1 << 20)
    assert all(len(files[e["name"]]) == e["size"] for e in manifest["files"])
    assert manifest["omitted"] or any(e["truncated"] for e in manifest["files"]) or \
        sum(len(d) for d in files.values()) < 0.3 * (1 << 20)
    for data in files.values():
        assert PASSWORD.encode() not in data and HAND_PASSWORD.encode() not in data
