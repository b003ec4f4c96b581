"""`registries:` in the inventory and the configuration file: read, checked, merged.

Every problem is one line naming the file and line; a password is never in the
file, never in a repr, and read only when a pull needs it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corral.backends.errors import InventoryError, RegistryCredentialsError
from corral.backends.inventory import (
    HostEntry,
    RegistryLogin,
    add_host,
    load_inventory,
    logins,
)
from corral.backends.ssh import Fleet, SshSettings
from corral.tui.config import ConfigError, load_config

SECRET = "s3cret-registry-pw-41"
HOST = "hosts:\n  - name: lab1\n    ssh: root@10.0.0.1\n"


def secret_file(folder: Path, mode: int = 0o600, text: str = SECRET + "\n") -> Path:
    path = folder / "registry.pw"
    path.write_text(text)
    path.chmod(mode)
    return path


def inventory(tmp_path: Path, registries: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(HOST + "registries:\n" + registries)
    return path


def test_an_entry_with_a_password_file_reads_it_only_when_asked(tmp_path: Path) -> None:
    secret_file(tmp_path)
    path = inventory(tmp_path, "  10.0.0.5:5000:\n    username: deploy\n"
                               "    password_file: registry.pw\n")
    loaded = load_inventory(path)
    entry = loaded.registries["10.0.0.5:5000"]
    assert (entry.username, entry.password_file) == ("deploy", str(tmp_path / "registry.pw"))
    assert entry.where == f"{path}:5"
    assert SECRET not in repr(loaded)  # where the secret is, never the secret
    login = entry.login()
    assert login.auth_config() == {"username": "deploy", "password": SECRET,
                                   "serveraddress": "10.0.0.5:5000"}
    assert SECRET not in repr(login) and SECRET not in str(login)


def test_a_password_file_others_may_read_is_refused_naming_file_line_and_chmod(
    tmp_path: Path
) -> None:
    secret = secret_file(tmp_path, mode=0o644)
    path = inventory(tmp_path, "  reg.example:\n    username: deploy\n"
                               "    password_file: registry.pw\n")
    with pytest.raises(RegistryCredentialsError) as caught:
        load_inventory(path)
    message = str(caught.value)
    assert message == (f"{path}:7: registry reg.example: password file {secret} has "
                       f"permissions 0644: others may read it; run chmod 600 {secret}")
    assert isinstance(caught.value, InventoryError) and caught.value.exit_code == 2


@pytest.mark.parametrize(("entry", "line", "words"), [
    ("  reg.example:\n    username: u\n    password: " + SECRET + "\n", 7,
     "'password' is not accepted: a password is not written in the file"),
    ("  reg.example:\n    username: u\n    password_env: X\n    insecure: true\n", 8,
     "'insecure' is not accepted: plain-HTTP registries are the engine's setting"),
    ("  https://reg.example/v2:\n    username: u\n    password_env: X\n", 5,
     "not a registry address as image names spell it"),
    ("  reg.example:\n    password_env: X\n", 5, "'username' must be a non-empty text"),
    ("  reg.example:\n    username: u\n", 5,
     "give exactly one of 'password_file' and 'password_env'"),
    ("  reg.example:\n    username: u\n    password_env: X\n    password_file: f\n", 8,
     "give exactly one of"),
    ("  reg.example:\n    username: u\n    password_env: 'not a name'\n", 7,
     "'password_env' must name an environment variable"),
    ("  reg.example:\n    username: u\n    password_file: missing.pw\n", 7,
     "missing.pw not found"),
    ("  reg.example:\n    username: u\n    token: x\n", 7, "unknown key 'token'"),
    ("  docker.io: {username: u, password_env: A}\n  index.docker.io: {username: v, "
     "password_env: B}\n", 6, "registry docker.io is listed twice (first at line 5)"),
    ("  - reg.example\n", 4, "'registries' must map registry addresses"),
])
def test_bad_entries_are_one_line_naming_file_and_line(
    tmp_path: Path, entry: str, line: int, words: str
) -> None:
    path = inventory(tmp_path, entry)
    with pytest.raises(RegistryCredentialsError) as caught:
        load_inventory(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message and "\n" not in message
    assert SECRET not in message


def test_a_password_env_is_read_at_login_and_an_unset_one_names_the_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = inventory(tmp_path, "  reg.example:\n    username: ci\n"
                               "    password_env: CORRAL_TEST_REG_PW\n")
    monkeypatch.delenv("CORRAL_TEST_REG_PW", raising=False)
    entries = load_inventory(path).registries  # loading does not need the secret
    assert logins(entries, ["other.example"]) == {}  # only the registries pulled from
    with pytest.raises(RegistryCredentialsError, match=(
            rf"^{path}:5: registry reg.example: environment variable CORRAL_TEST_REG_PW "
            r"is not set \(it holds the password\)$")):
        logins(entries, ["reg.example"])
    monkeypatch.setenv("CORRAL_TEST_REG_PW", SECRET)
    (login,) = logins(entries, ["reg.example"]).values()
    assert isinstance(login, RegistryLogin) and login.password == SECRET


def test_a_password_file_loosened_after_loading_is_refused_at_login(tmp_path: Path) -> None:
    secret = secret_file(tmp_path)
    path = inventory(tmp_path, "  reg.example: {username: u, password_file: registry.pw}\n")
    entries = load_inventory(path).registries
    secret.chmod(0o640)
    with pytest.raises(RegistryCredentialsError, match="run chmod 600"):
        logins(entries, ["reg.example"])


def test_the_config_files_registries_win_over_the_inventorys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = inventory(tmp_path, "  reg.example: {username: team, password_env: TEAM_PW}\n"
                               "  other.example: {username: team, password_env: TEAM_PW}\n")
    config = tmp_path / "config.yaml"
    config.write_text("readonly: false\nregistries:\n"
                      "  reg.example: {username: me, password_env: MY_PW}\n")
    loaded = load_config(config)
    assert loaded.registries["reg.example"].where == f"{config}:3"
    fleet = Fleet(load_inventory(path), SshSettings(), registries=loaded.registries)
    assert fleet.registries["reg.example"].username == "me"
    assert fleet.registries["other.example"].username == "team"


def test_a_bad_config_entry_is_a_config_error_naming_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("registries:\n  reg.example:\n    username: me\n"
                      f"    password: {SECRET}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert str(caught.value).startswith(f"{config}:4: registry reg.example: 'password' is not")
    assert SECRET not in str(caught.value)


def test_adding_a_host_keeps_the_registries(tmp_path: Path) -> None:
    secret_file(tmp_path)
    path = inventory(tmp_path, "  reg.example: {username: u, password_file: registry.pw}\n")
    added = add_host(path, HostEntry(name="lab2", ssh="root@10.0.0.2"))
    assert added.names() == ["lab1", "lab2"]
    assert list(added.registries) == ["reg.example"]
    assert os.stat(tmp_path / "registry.pw").st_mode & 0o777 == 0o600


def test_a_deploy_reads_every_password_before_any_transfer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from corral.backends.deploy import ImageRow
    from corral.backends.deploy.image_plan import transfer

    monkeypatch.delenv("CORRAL_TEST_REG_PW", raising=False)
    path = inventory(tmp_path, "  reg.example: {username: u, password_env: CORRAL_TEST_REG_PW}\n")
    moved: list[str] = []
    fleet = SimpleNamespace(registries=load_inventory(path).registries,
                            query=lambda *args, **kwargs: moved.append("transfer") or [])
    rows = [ImageRow("lab1", "reg.example/team/app:1", "pull", "reg.example")]
    with pytest.raises(RegistryCredentialsError, match=rf"^{path}:5: registry reg.example"):
        transfer(fleet, rows)
    assert moved == []
