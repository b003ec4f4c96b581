"""`--since` values that are no time are one-line usage errors, never a traceback (issue 16, 7)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from corral.tui.cli.logs import parse_since
from corral.tui.cli.support import UsageError

NOW = 1_700_000_000.0


@pytest.mark.parametrize("text", ["1e400", "-1e400", "inf", "nan", "-5", "1e300",
                                  "9" * 400, "10000-01-01T00:00:00Z"])
def test_times_out_of_range_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="bad --since"):
        parse_since(text, now=NOW)


def test_durations_before_the_epoch_mean_everything() -> None:
    assert parse_since("99999999999999d", now=NOW) == 0
    assert parse_since("1" * 400 + "s", now=NOW) == 0


def test_the_command_prints_one_line(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "corral.tui.cli.main", "logs", "shop", "--since", "1e400"],
        capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "bad --since '1e400'" in result.stderr
