"""Inventory loading: good files load, every bad one names file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from corral.backends.errors import InventoryError, UnknownHost
from corral.backends.inventory.load import (
    DEFAULT_SOCKET,
    SshTarget,
    load_inventory,
    locate_inventory,
    parse_target,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "id_test"
    path.write_text("not really a key")
    path.chmod(0o600)  # as OpenSSH wants a private key
    return path


def test_full_host_loads(tmp_path: Path, key: Path) -> None:
    path = write(
        tmp_path,
        """\
        hosts:
          - name: edge1
            ssh: deploy@10.0.0.5:2200
            identity: id_test
            socket: /run/docker.sock
            labels: {zone: a, gpu: true, rack: 7}
            jump: [ops@bastion, bastion2:2222]
          - name: edge2
            ssh: myalias
        """,
    )
    inventory = load_inventory(path)
    first, second = inventory.hosts
    assert first.ssh == SshTarget("10.0.0.5", "deploy", 2200)
    assert first.identity == (str(key),)
    assert first.socket == "/run/docker.sock" and first.socket_explicit
    assert first.labels == {"zone": "a", "gpu": "true", "rack": "7"}
    assert first.jump == (SshTarget("bastion", "ops"), SshTarget("bastion2", None, 2222))
    assert first.line == 2
    assert second.ssh == SshTarget("myalias")
    assert second.socket == DEFAULT_SOCKET and not second.socket_explicit
    assert inventory.names() == ["edge1", "edge2"]
    assert inventory.get("edge2") is second


def test_unknown_host_name_lists_known_ones(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, "hosts:\n  - {name: a, ssh: h}\n"))
    with pytest.raises(UnknownHost, match="hosts: a"):
        inventory.get("b")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("hosts:\n  - name: a\n    ssh: h\n    labls: {}\n", 4, "unknown key 'labls'"),
        ("hosts:\n  - {name: a, ssh: h}\n  - {name: a, ssh: g}\n", 3, "duplicate host name 'a'"),
        ("hosts:\n  - name: a\n", 2, "has no 'ssh'"),
        ("hosts:\n  - ssh: h\n", 2, "has no 'name'"),
        ("hosts:\n  - name: a b\n    ssh: h\n", 2, "host name 'a b'"),
        ("hosts:\n  - name: a\n    ssh: u@h:99999\n", 3, "out of range"),
        ("hosts:\n  - name: a\n    ssh: 'u@@h'\n", 3, "not user@address:port"),
        ("hosts:\n  - name: a\n    ssh: h\n    socket: rel.sock\n", 4, "absolute path"),
        ("hosts:\n  - name: a\n    ssh: h\n    identity: nope\n", 4, "identity file"),
        ("hosts:\n  - name: a\n    ssh: h\n    labels: [x]\n", 4, "'labels' must be"),
        ("hosts:\n  - name: a\n    ssh: 'ro|ot@h'\n", 3, "'|' is not allowed in a user"),
        ("hosts:\n  - name: a\n    ssh: 'root@x;id>p;'\n", 3, "';' is not allowed in a host"),
        ("hosts:\n  - name: a\n    ssh: '$(id)'\n", 3, "'$' is not allowed in a host"),
        ("hosts:\n  - name: a\n    ssh: '`id`@h'\n", 3, "'`' is not allowed in a user"),
        ("hosts:\n  - name: a\n    ssh: -oProxyCommand=x\n", 3, "may not start with '-'"),
        ("hosts:\n  - name: a\n    ssh: h\n    jump: 'u@b>f'\n", 4, "'>' is not allowed"),
        ("hosts:\n  - name: a\n    ssh: h\n    labels:\n      z: [1]\n", 5, "plain value"),
        ("hosts:\n  - name: a\n    ssh: h\n    jump: [1]\n", 4, "'jump' must be"),
        ("hosts:\n  - name: a\n    ssh: h\n    ssh: g\n", 4, "duplicate key 'ssh'"),
        ("hosts: [\n", 2, "expected"),
        ("hosts: {a: 1}\n", 1, "must be a list"),
        ("- a\n", 1, "must be a mapping"),
        ("hots: []\n", 1, "unknown key 'hots'"),
        ("hosts: []\nengine: k8s\n", 2, "'engine' must be one of standalone, swarm"),
        ("hosts:\n  - just-a-name\n", 2, "must be a mapping"),
    ],
)
def test_bad_inventory_names_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert caught.value.file == str(path)
    assert caught.value.line == line, str(caught.value)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert "\n" not in str(caught.value)


def test_engine_is_standalone_unless_swarm_is_named(tmp_path: Path) -> None:
    assert load_inventory(write(tmp_path, "hosts: []\n")).engine == "standalone"
    assert load_inventory(write(tmp_path, "hosts: []\nengine: swarm\n")).engine == "swarm"


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="empty"):
        load_inventory(write(tmp_path, ""))


def test_binary_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InventoryError, match="UTF-8"):
        load_inventory(path)


def test_locate_prefers_explicit_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit = write(tmp_path, "hosts: []\n")
    env_file = tmp_path / "env.yaml"
    env_file.write_text("hosts: []\n")
    monkeypatch.setenv("CORRAL_INVENTORY", str(env_file))
    assert locate_inventory(explicit) == explicit
    assert locate_inventory(None) == env_file
    with pytest.raises(InventoryError, match="not found"):
        locate_inventory(tmp_path / "missing.yaml")


def test_locate_uses_xdg_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORRAL_INVENTORY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert locate_inventory(None) is None
    (tmp_path / "corral").mkdir()
    (tmp_path / "corral" / "inventory.yaml").write_text("hosts: []\n")
    assert locate_inventory(None) == tmp_path / "corral" / "inventory.yaml"


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("h", SshTarget("h")),
        ("root@h", SshTarget("h", "root")),
        ("root@10.1.2.3:2222", SshTarget("10.1.2.3", "root", 2222)),
        ("[::1]:22", SshTarget("::1", None, 22)),
        ("u@[fe80::1]", SshTarget("fe80::1", "u")),
    ],
)
def test_parse_target(text: str, target: SshTarget) -> None:
    assert parse_target(text) == target


def test_target_round_trips_to_text() -> None:
    assert str(SshTarget("::1", "u", 22)) == "u@[::1]:22"
    assert str(SshTarget("h")) == "h"


def test_a_key_others_may_read_is_refused_naming_the_fix(tmp_path: Path, key: Path) -> None:
    text = "hosts:\n  - name: a\n    ssh: h\n    identity: id_test\n"
    key.chmod(0o644)
    with pytest.raises(InventoryError) as caught:
        load_inventory(write(tmp_path, text))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'inventory.yaml'}:4: ") and "\n" not in message
    assert "UNPROTECTED PRIVATE KEY FILE" in message and f"chmod 600 {key}" in message
    key.chmod(0o600)
    assert load_inventory(write(tmp_path, text)).hosts[0].identity == (str(key),)
