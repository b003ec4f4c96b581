"""The configuration file: typed, unknown keys refused with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.backends.inventory.load import local_inventory
from corral.tui.config import Config, ConfigError, load_config
from corral.tui.console.keys_help import console_binding_ids


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORRAL_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_config() == Config()


def test_every_key_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "readonly: true\nkeymap:\n  app.quit: ctrl+x\ncatalogs: [/srv/cat]\n"
        "log_history_lines: 5000\nkeepalive_interval: 2.5\nkeepalive_count_max: 2\n"
    )
    assert load_config(path) == Config(
        readonly=True, keymap={"app.quit": "ctrl+x"}, catalogs=("/srv/cat",),
        log_history_lines=5000, keepalive_interval=2.5, keepalive_count_max=2,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("readonly: yes please\n", ":1: 'readonly' must be true or false"),
        ("\nreadony: true\n", ":2: unknown key 'readony'"),
        ("keymap: [a]\n", ":1: 'keymap' must map"),
        ("catalogs: /one\n", ":1: 'catalogs' must be a list"),
        ("log_history_lines: 10\n", ":1: 'log_history_lines' must be"),
        ("keepalive_interval: -1\n", ":1: 'keepalive_interval' must be seconds"),
        ("keepalive_interval: soon\n", ":1: 'keepalive_interval' must be seconds"),
        ("keepalive_count_max: 0\n", ":1: 'keepalive_count_max' must be"),
        ("keepalive_count_max: 1.5\n", ":1: 'keepalive_count_max' must be"),
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


def test_misspelt_binding_id_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("readonly: false\nkeymap:\n  app.quit: ctrl+x\n  containers.log: ctrl+l\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, binding_ids=console_binding_ids())
    assert str(caught.value) == (
        f"{path}:4: unknown binding id 'containers.log' in 'keymap' "
        "(did you mean 'containers.logs'?)"
    )


def test_binding_id_with_no_close_match_lists_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("keymap:\n  zzz: f2\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, binding_ids={"app.quit", "console.help"})
    assert str(caught.value) == (
        f"{path}:2: unknown binding id 'zzz' in 'keymap' (known ids: app.quit, console.help)"
    )


def test_binding_ids_are_looked_up_only_for_a_keymap(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("readonly: true\n")

    def never() -> set[str]:
        raise AssertionError("the ids were looked up with no keymap to check")

    assert load_config(path, binding_ids=never).readonly
    path.write_text("keymap:\n  console.help: f1\n")
    assert load_config(path, binding_ids=lambda: {"console.help"}).keymap == {
        "console.help": "f1"
    }


def test_known_binding_ids_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("keymap:\n  containers.logs: l,ctrl+l\n  catalog_form.save: ctrl+w\n")
    assert load_config(path, binding_ids=console_binding_ids()).keymap == {
        "containers.logs": "l,ctrl+l", "catalog_form.save": "ctrl+w",
    }


def test_console_binding_ids_come_from_every_binding_table() -> None:
    ids = console_binding_ids()
    # The app, a view, a widget, generated action keys, and a screen the
    # console only imports when it is first opened.
    assert {"app.quit", "app.palette", "view.mark", "logs.wrap", "container.stop",
            "catalog_form.save", "plan.apply"} <= ids
    # The single-pane apps never read the keymap.
    assert "pane.quit" not in ids


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_no_local_engine_means_no_local_host(tmp_path: Path) -> None:
    assert local_inventory(socket=str(tmp_path / "docker.sock")) is None


def test_keepalive_defaults_notice_a_dead_link_within_5_seconds() -> None:
    from corral.backends.ssh import SshSettings

    config, settings = Config(), SshSettings()
    assert (config.keepalive_interval, config.keepalive_count_max) == (
        settings.keepalive_interval, settings.keepalive_count_max)
    assert settings.keepalive_interval * (settings.keepalive_count_max + 1) <= 5


def test_the_command_line_takes_keepalives_from_the_config_file(tmp_path: Path) -> None:
    import argparse

    from corral.tui.cli.support import ssh_settings

    path = tmp_path / "config.yaml"
    path.write_text("keepalive_interval: 0.5\nkeepalive_count_max: 6\n")
    settings = ssh_settings(argparse.Namespace(config=str(path)))
    assert (settings.keepalive_interval, settings.keepalive_count_max) == (0.5, 6)
