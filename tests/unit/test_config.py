"""The configuration file: typed, unknown keys refused with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.backends.inventory import local_inventory
from corral.tui.config import Config, ConfigError, load_config


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORRAL_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_config() == Config()


def test_every_key_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "readonly: true\nkeymap:\n  app.quit: ctrl+x\ncatalogs: [/srv/cat]\n"
        "log_history_lines: 5000\n"
    )
    assert load_config(path) == Config(
        readonly=True, keymap={"app.quit": "ctrl+x"}, catalogs=("/srv/cat",),
        log_history_lines=5000,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("readonly: yes please\n", ":1: 'readonly' must be true or false"),
        ("\nreadony: true\n", ":2: unknown key 'readony'"),
        ("keymap: [a]\n", ":1: 'keymap' must map"),
        ("catalogs: /one\n", ":1: 'catalogs' must be a list"),
        ("log_history_lines: 10\n", ":1: 'log_history_lines' must be"),
        ("- 1\n", ":1: the configuration must be a mapping"),
        ("a: [\n", ":2: "),
    ],
)
def test_bad_config_names_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_no_local_engine_means_no_local_host(tmp_path: Path) -> None:
    assert local_inventory(socket=str(tmp_path / "docker.sock")) is None
