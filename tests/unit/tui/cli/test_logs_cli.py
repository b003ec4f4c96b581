"""`corral logs` option parsing and usage errors (no host needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from corral.tui.cli.logs import parse_since, parse_tail
from corral.tui.cli.support import UsageError

NOW = 1_795_627_327.0


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("90s", int((NOW - 90) * 1e9)),
        ("1h30m", int((NOW - 5400) * 1e9)),
        ("2d", int((NOW - 172_800) * 1e9)),
        ("1795627000", 1_795_627_000 * 10**9),
        ("2026-11-25T17:22:07.5Z", 1_795_627_327_500_000_000),
        (None, None),
    ],
)
def test_since_takes_durations_and_times(text: str | None, nanos: int | None) -> None:
    assert parse_since(text, now=NOW) == nanos


def test_bad_since_and_tail_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="bad --since 'soon'"):
        parse_since("soon")
    with pytest.raises(UsageError, match="bad --tail"):
        parse_tail("-3")
    assert parse_tail("all") is None and parse_tail(None) is None and parse_tail("7") == 7


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a/b/c"], "bad log target 'a/b/c'"),
        (["shop", "--grep", "(["], "bad --grep '(['"),
        (["shop", "--since", "later"], "bad --since 'later'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("hosts:\n  - name: a\n    ssh: 10.255.255.1\n")
    result = subprocess.run(
        [sys.executable, "-m", "corral.tui.cli.main", "logs", *args, "--inventory", str(inventory)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"corral: {message}") and "Traceback" not in result.stderr
