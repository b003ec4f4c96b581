"""The files part of a plan: the CLI's `Files:` table and the console plan screen's grid."""

from __future__ import annotations

from types import SimpleNamespace

from rich.console import Console

from corral.backends.deploy.files_hosts import FilePlan, FileRow
from corral.tui.console.screens.plan import file_notes
from corral.tui.present.deploy import file_lines

DIGEST = "ca85ae52809a" + "0" * 52


def prepared() -> SimpleNamespace:
    rows = [FileRow("lab1", "/nowhere/app/conf.txt", ("web",), 12, "ship",
                    f"/var/lib/corral/files/shop/{DIGEST}/conf.txt"),
            FileRow("lab2", "/nowhere/app/site", ("web", "api"), 2048, "present",
                    f"/var/lib/corral/files/shop/{DIGEST}/site")]
    return SimpleNamespace(files=FilePlan({}, rows))


def test_the_cli_lists_each_host_file_size_and_how() -> None:
    lines = file_lines(prepared())  # type: ignore[arg-type]
    assert lines[0] == "Files:"
    assert lines[1].split() == ["HOST", "FILE", "SIZE", "SERVICES", "HOW"]
    assert lines[2].split() == ["lab1", "/nowhere/app/conf.txt", "12", "B", "web", "ship",
                                "(sha256", "ca85ae52809a)"]
    assert "web,api" in lines[3] and "present (sha256 ca85ae52809a)" in lines[3]
    assert file_lines(SimpleNamespace(files=FilePlan())) == []  # type: ignore[arg-type]


def test_the_console_plan_screen_shows_the_same_rows() -> None:
    console = Console(width=120, record=True)
    for part in file_notes(prepared()):  # type: ignore[arg-type]
        console.print(part)
    text = console.export_text()
    assert text.startswith("Files")
    assert "lab1  /nowhere/app/conf.txt  12 B    ship (sha256 ca85ae52809a)" in text, text
