"""Command-line behaviour that needs no host: usage and configuration errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def corral(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "corral.tui.cli.main", *args],
        capture_output=True, text=True, timeout=60, env=env,
    )


@pytest.mark.parametrize("command", ["hosts", "ps"])
def test_bad_inventory_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("hosts:\n  - name: a\n    ssh: 10.255.255.1\n    colour: red\n")
    result = corral(command, "--inventory", str(inventory))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"corral: {inventory}:4: unknown key 'colour' in host 'a' "
        "(expected: identity, jump, labels, name, socket, ssh)"
    )


def test_missing_inventory_file_is_exit_2(tmp_path: Path) -> None:
    result = corral("ps", "--inventory", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "inventory file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_console_refuses_an_unknown_binding_id_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("keymap:\n  console.hepl: f1\n")
    result = corral("--config", str(config))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"corral: {config}:2: unknown binding id 'console.hepl' in 'keymap' "
        "(did you mean 'console.help'?)"
    )


def test_global_options_work_after_the_subcommand(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("hosts: []\n")
    result = corral("ps", "--json", "--inventory", str(inventory))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_unreachable_host_is_named_and_exit_1(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yaml"
    # Port 9 on loopback: nothing listens, so the refusal is immediate.
    inventory.write_text("hosts:\n  - name: gone\n    ssh: root@127.0.0.1:9\n")
    result = corral("hosts", "--json", "--inventory", str(inventory))
    assert result.returncode == 1
    assert '"state": "offline"' in result.stdout
    assert result.stderr.startswith("corral: gone: offline: ")
    assert "refused" in result.stderr


# Read before any verb runs (it may say read-only), so every verb reports it alike.
@pytest.mark.parametrize(("command", "prefix"), [([], "corral: "),
                                                 (["catalog", "list"], "corral: ")])
def test_bad_config_is_one_line_and_exit_2(tmp_path: Path, command: list[str],
                                           prefix: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("readonly: maybe\n")
    result = corral("--config", str(config), *command)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"{prefix}{config}:1: 'readonly' must be true or false\n"


@pytest.mark.parametrize(("words", "user", "no_tty", "command"), [
    (["exec", "lab1/c", "-T", "--", "sh", "-c", "id -u"], None, True, ["sh", "-c", "id -u"]),
    (["exec", "lab1/c", "-u", "nobody", "--", "id", "-u"], "nobody", False, ["id", "-u"]),
    (["exec", "-T", "lab1/c", "--", "ls", "--", "-T"], None, True, ["ls", "--", "-T"]),
    (["exec", "lab1/c", "ls"], None, False, ["ls"]),
    (["exec", "lab1/c"], None, False, []),
])
def test_exec_options_may_follow_the_target(words: list[str], user: str | None, no_tty: bool,
                                            command: list[str]) -> None:
    from corral.tui.cli.main import parse_command_line

    args = parse_command_line(words)
    assert (args.target, args.user, args.no_tty, args.command) == (
        "lab1/c", user, no_tty, command)


def test_shell_takes_a_user_after_the_target() -> None:
    from corral.tui.cli.main import parse_command_line

    args = parse_command_line(["shell", "lab1/c", "-u", "root", "--", "sh"])
    assert (args.target, args.user, args.command) == ("lab1/c", "root", ["sh"])


def test_words_after_double_dash_are_refused_where_no_command_is_taken() -> None:
    result = corral("hosts", "--", "x")
    assert result.returncode == 2
    assert "unrecognized arguments: -- x" in result.stderr
