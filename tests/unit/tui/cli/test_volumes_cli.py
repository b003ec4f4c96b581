"""`corral volumes`: bad input is one line before any host is contacted; progress on a terminal."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from corral.tui.cli import volumes as volumes_cli
from tests.support.deploy import corral_here
from tests.support.no_host import unreachable_inventory

INVENTORY = "hosts:\n  - name: lab1\n    ssh: root@127.0.0.1:9\n"


@pytest.fixture
def no_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return unreachable_inventory(monkeypatch, tmp_path, INVENTORY, "bad input reached a host")


@pytest.mark.parametrize(("argv", "error"), [
    (["import", "{tmp}/notes.txt", "lab1/data"], "{tmp}/notes.txt: not a tar archive"),
    (["import", "{tmp}/none.tar", "lab1/data"], "{tmp}/none.tar: No such file or directory"),
    (["export", "lab1", "-o", "{tmp}/x.tar"], "bad volume 'lab1': expected HOST/VOLUME"),
    (["export", "lab1/data", "-o", "{tmp}/no/x.tar"], "{tmp}/no/x.tar: no directory"),
    (["copy", "lab1/data", "lab1"], "lab1/data would be copied onto itself"),
    (["copy", "lab1/data", "lab2/bad name"], "bad volume name 'bad name'"),
])
def test_bad_input_is_one_line_exit_2(argv, error, no_host: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a tar\n" * 100)
    result = corral_here("volumes", *[word.format(tmp=tmp_path) for word in argv],
                         "--inventory", str(no_host))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"corral: {error.format(tmp=tmp_path)}")
    assert len(result.stderr.splitlines()) == 1


def test_progress_is_shown_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Terminal()
    monkeypatch.setattr("sys.stderr", err)
    with volumes_cli._Meter("lab1/data") as meter:
        meter.update(5 * 1024 * 1024)
    assert err.getvalue().startswith("\rlab1/data: 5.0MiB (")
    assert err.getvalue().endswith("\n")

    plain = io.StringIO()
    monkeypatch.setattr("sys.stderr", plain)
    with volumes_cli._Meter("lab1/data") as meter:
        meter.update(5 * 1024 * 1024)
    assert plain.getvalue() == ""
