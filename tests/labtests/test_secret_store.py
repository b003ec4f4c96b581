"""Nothing on any host lets a password be guessed offline; password changes still recreate.

One stack: `db` (one container, holds the password) and `app` (one per host,
holds none). The stack record lives on every host that runs part of the stack,
so two hosts hold a record but no container with the password.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from pathlib import Path

import pytest

from corral.backends import labels as L
from tests.support.deploy import corral_on
from tests.support.lab import Lab
from tests.support.lab_cli import engine

pytestmark = pytest.mark.lab

STACK = "sec"
PASSWORD = "hunter2-lab"
NEW_PASSWORD = "correct-horse-lab"
COMPOSE = """\
version: '2'
services:
  db:
    image: corral-lab/busybox:1
    command: ["sleep", "3600"]
    environment:
      DB_PASSWORD: "${DB_PASSWORD}"
  app:
    image: corral-lab/busybox:1
    command: ["sleep", "3600"]
    environment:
      RELEASE: "${RELEASE}"
    labels:
      io.rancher.scheduler.affinity:container_label_ne: io.rancher.stack_service.name=sec/app
"""
RANCHER = """\
version: '2'
catalog:
  name: sec
  version: "1"
  questions:
    - variable: DB_PASSWORD
      type: password
      required: true
    - variable: RELEASE
      type: string
      default: "1"
services:
  app:
    scale: 3
"""


def corral(lab: Lab, *args: str):
    result = corral_on(lab, *args)
    for secret in (PASSWORD, NEW_PASSWORD):
        assert secret not in result.stdout and secret not in result.stderr
    return result


@pytest.fixture(scope="module")
def folder(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sec")
    (path / "docker-compose.yml").write_text(COMPOSE)
    (path / "rancher-compose.yml").write_text(RANCHER)
    result = corral(lab, "deploy", str(path), "--stack", STACK, "--set",
                    f"DB_PASSWORD={PASSWORD}", "--yes")
    assert result.returncode == 0, result.stderr
    yield path
    corral(lab, "rm", STACK, "--yes", "--volumes")


def unsalted(secret: str) -> set[str]:
    """Every common unsalted digest of `secret`, hex and base64, and of Corral's old join."""
    found = set()
    for text in (secret, f"{secret}\n", "\0".join(sorted({secret}))):
        for name in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256",
                     "blake2b", "blake2s"):
            raw = hashlib.new(name, text.encode()).digest()
            found |= {raw.hex(), raw.hex()[:16], base64.b64encode(raw).decode()}
    return found


def every_label(lab: Lab) -> dict[str, list[tuple[str, str, str]]]:
    """Per host, (object, key, value) of every label of every container, volume, network
    and image, with each stack record's definition decoded."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    for host in lab.hosts:
        client = engine(host.socket)
        items = []
        objects = [("container " + c.name, c.labels) for c in client.containers.list(all=True)]
        objects += [("volume " + v.name, v.attrs.get("Labels") or {})
                    for v in client.volumes.list()]
        objects += [("network " + n.name, n.attrs.get("Labels") or {})
                    for n in client.networks.list()]
        objects += [("image " + i.short_id, i.labels or {}) for i in client.images.list()]
        for name, labels in objects:
            for key, value in labels.items():
                items.append((name, key, value))
                if key == L.DEFINITION:
                    items.append((name, "decoded", zlib.decompress(
                        base64.b64decode(value)).decode()))
        found[host.name] = items
    return found


def holders(lab: Lab) -> dict[str, str]:
    """container name -> id of the stack's containers."""
    return {c.name: c.id for host in lab.hosts for c in engine(host.socket).containers.list(
        all=True, filters={"label": f"{L.STACK}={STACK}"})}


def db_password(lab: Lab) -> str:
    for host in lab.hosts:
        for c in engine(host.socket).containers.list(filters={"name": f"{STACK}-db-1"}):
            return dict(e.split("=", 1) for e in c.attrs["Config"]["Env"])["DB_PASSWORD"]
    raise AssertionError("no db container")


def test_no_host_holds_anything_a_password_can_be_guessed_from(lab: Lab, folder: Path) -> None:
    labels = every_label(lab)
    forbidden = unsalted(PASSWORD) | {PASSWORD}
    records = []
    for host, items in labels.items():
        for name, key, value in items:
            leaked = [f for f in forbidden if f in value]
            assert not leaked, f"{host} {name} label {key} holds a digest of the password"
            # Only this stack's records: a stack an earlier test left behind has no password.
            if key == "decoded" and name.startswith(f"volume corral-stack.{STACK}."):
                records.append((host, json.loads(value)))
    db_hosts = {h for h, items in labels.items()
                if any(n == f"container {STACK}-db-1" for n, _, _ in items)}
    assert len({h for h, _ in records}) == 3 and len(db_hosts) == 1  # records where no db runs
    for _, record in records:
        assert "secrets_digest" not in record
        # The record says which variables were passwords, never anything of their values.
        tokens = record["secret_tokens"]
        assert set(tokens) == {"db"} and all(len(t) == 16 for t in tokens.values())
    assert db_password(lab) == PASSWORD


def test_password_changes_recreate_only_what_holds_the_password(lab: Lab, folder: Path) -> None:
    before = holders(lab)
    # The same password typed again and another release: only app is replaced.
    result = corral(lab, "upgrade", str(folder), "--stack", STACK, "--set",
                    f"DB_PASSWORD={PASSWORD}", "--set", "RELEASE=2", "--yes")
    assert result.returncode == 0, result.stderr
    assert corral(lab, "confirm", STACK, "--yes").returncode == 0
    after = holders(lab)
    assert after[f"{STACK}-db-1"] == before[f"{STACK}-db-1"]
    assert all(after[n] != before[n] for n in after if "-app-" in n)
    # The same answers again: nothing at all.
    again = corral(lab, "deploy", str(folder), "--stack", STACK, "--set",
                   f"DB_PASSWORD={PASSWORD}", "--set", "RELEASE=2", "--yes")
    assert "Nothing to change" in again.stdout and holders(lab) == after
    # A new password: db is replaced and holds it, app is kept.
    result = corral(lab, "upgrade", str(folder), "--stack", STACK, "--set",
                    f"DB_PASSWORD={NEW_PASSWORD}", "--set", "RELEASE=2", "--yes")
    assert result.returncode == 0, result.stderr
    assert "(changed)" in result.stdout
    assert corral(lab, "confirm", STACK, "--yes").returncode == 0
    final = holders(lab)
    assert final[f"{STACK}-db-1"] != after[f"{STACK}-db-1"]
    assert {n: i for n, i in final.items() if "-app-" in n} == {
        n: i for n, i in after.items() if "-app-" in n}
    assert db_password(lab) == NEW_PASSWORD
    forbidden = unsalted(NEW_PASSWORD) | {NEW_PASSWORD}
    assert not [v for items in every_label(lab).values() for _, _, v in items
                if any(f in v for f in forbidden)]
    # Scaling from the record keeps the password without asking for it.
    assert corral(lab, "scale", f"{STACK}/app=2", "--yes").returncode == 0
    assert holders(lab)[f"{STACK}-db-1"] == final[f"{STACK}-db-1"]
