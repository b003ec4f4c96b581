"""`corral --help` starts fast: parsing the command line imports no heavy library.

Each verb module's `register()` builds only its argparse parser from light
imports; backends, docker-py, asyncssh and the console load inside the function
that runs the verb. These tests run the real entry point in a fresh interpreter
and read `sys.modules` when it exits, so a stray top-level import anywhere in
`tui/cli/` (or in what it imports) fails here, not in a timing benchmark.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

#: Libraries that cost tens to hundreds of milliseconds to import.
HEAVY = ("asyncssh", "docker", "textual", "rich", "yaml", "requests", "cryptography")

#: Runs `corral ARGS` for each ARGS in turn in one interpreter, and prints, as JSON on
#: the last line of stdout, each one's exit code and the HEAVY modules loaded by then
#: (cumulative, so the first command that loads one is the culprit).
_PROBE = """
import contextlib, io, json, sys
from corral.tui.cli.main import main
heavy = set({heavy!r})
report = []
for args in {commands!r}:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(args)
        except SystemExit as ending:
            code = ending.code
    loaded = sorted({{name.split(".")[0] for name in sys.modules}} & heavy)
    report.append({{"args": args, "code": code, "loaded": loaded}})
print()
print(json.dumps(report))
"""


def probe(*commands: list[str], heavy: tuple[str, ...] = HEAVY) -> list[dict]:
    """Run each `corral ARGS` in one fresh interpreter: exit codes and heavy modules loaded."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(commands=list(commands), heavy=heavy)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def loaded_by(*args: str, heavy: tuple[str, ...] = HEAVY) -> dict:
    """Run `corral ARGS` in a fresh interpreter: its exit code and the heavy modules loaded."""
    (only,) = probe(list(args), heavy=heavy)
    return {"code": only["code"], "loaded": only["loaded"]}


def command_paths() -> list[tuple[str, ...]]:
    """Every subcommand path of the parser (`("ps",)`, `("hosts", "add")`...)."""
    import argparse

    from corral.tui.cli.main import build_parser

    paths: list[tuple[str, ...]] = []

    def walk(parser: argparse.ArgumentParser, prefix: tuple[str, ...]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    paths.append((*prefix, name))
                    walk(sub, (*prefix, name))

    walk(build_parser(), ())
    return paths


def test_top_level_help_imports_no_heavy_library() -> None:
    probe = loaded_by("--help")
    assert probe == {"code": 0, "loaded": []}


def test_version_imports_no_heavy_library() -> None:
    assert loaded_by("--version") == {"code": 0, "loaded": []}


def test_every_subcommand_help_imports_no_heavy_library() -> None:
    """One interpreter walks every subcommand's `--help` (a new verb is covered once registered)."""
    paths = command_paths()
    assert len(paths) > 30  # the walk found the verbs
    report = probe(*([*path, "--help"] for path in paths))
    first = next((entry for entry in report if entry["loaded"] or entry["code"] != 0), None)
    assert first is None, f"`corral {' '.join(first['args'])}` loaded {first['loaded']}"


def test_a_usage_error_imports_no_heavy_library() -> None:
    probe = loaded_by("deploy", "--pull", "sometimes")
    assert probe == {"code": 2, "loaded": []}


def test_ps_loads_no_console_library(tmp_path: Path) -> None:
    """`corral ps` needs SSH and the engine client, not Textual or Rich."""
    inventory = tmp_path / "inventory.yaml"
    # Port 1 on loopback refuses at once: the verb runs its whole path, fails, and ends.
    inventory.write_text("hosts:\n  - name: nowhere\n    ssh: 127.0.0.1:1\n")
    probe = loaded_by("ps", "--inventory", str(inventory), "--connect-timeout", "5",
                      heavy=("asyncssh", "textual", "rich"))
    assert probe == {"code": 1, "loaded": ["asyncssh"]}


def test_pull_choices_match_the_backend() -> None:
    """deploy_args spells `--pull`'s choices so the parser loads no backend."""
    from corral.backends.deploy import PULL_MODES
    from corral.tui.cli.deploy_args import PULL_MODES as PARSER_PULL_MODES

    assert PARSER_PULL_MODES == PULL_MODES
