"""The exec plumbing that needs no engine: targets, argv, the PID report, frames, debug copies."""

from __future__ import annotations

import pytest

from corral.backends.errors import ActionRefused
from corral.backends.exec.attach import exec_frames
from corral.backends.exec.debug import start_debug_copy
from corral.backends.exec.process import PidReport, shell_argv
from corral.backends.exec.target import ContainerTarget, parse_container_target


def test_targets_are_host_slash_container() -> None:
    assert parse_container_target("lab1/web-1") == ContainerTarget("lab1", "web-1")
    assert str(parse_container_target(" lab2/3f2a9c ")) == "lab2/3f2a9c"


@pytest.mark.parametrize("text", ["web-1", "lab1/", "/web-1", "lab1/a/b", ""])
def test_bad_targets_are_named(text: str) -> None:
    with pytest.raises(ValueError, match="expected HOST/CONTAINER"):
        parse_container_target(text)


def test_the_wrapper_reports_its_pid_then_becomes_the_command() -> None:
    argv = shell_argv(("top", "-d", "1"), report_pid=True)
    assert argv[:2] == ["sh", "-c"] and argv[3:] == ["sh", "top", "-d", "1"]
    assert argv[2].startswith('printf "\\033]7771;%s\\007" "$$"; ') and argv[2].endswith(
        'exec "$@"'
    )
    assert shell_argv(("top",), report_pid=False) == ["top"]
    assert "exec bash" in shell_argv((), report_pid=False)[2]


def test_the_pid_report_is_taken_out_even_when_split() -> None:
    report = PidReport()
    assert report.filter(b"\x1b]77") is None
    assert report.filter(b"71;42\x07/ # ") == b"/ # "
    assert report.pid == 42
    assert report.filter(b"\x1b]7771;1\x07") == b"\x1b]7771;1\x07"  # only the first counts


def test_output_without_a_report_is_passed_on() -> None:
    report = PidReport()
    assert report.filter(b"OCI runtime exec failed: sh: not found\r\n").startswith(b"OCI")
    assert report.pid is None
    held = PidReport()
    assert held.filter(b"\x1b]") is None
    assert held.flush() == b"\x1b]"


def test_frames_split_stdout_and_stderr() -> None:
    buffer = bytearray(b"\x01\x00\x00\x00\x00\x00\x00\x03out\x02\x00\x00\x00\x00\x00\x00\x03er")
    assert exec_frames(buffer) == [(1, b"out")]
    buffer += b"r"
    assert exec_frames(buffer) == [(2, b"err")]
    assert buffer == bytearray()


def test_a_read_only_session_starts_no_debug_copy() -> None:
    class ReadOnlySession:
        name = "lab1"
        readonly = True

        def call(self, fn):  # pragma: no cover - must not be reached
            raise AssertionError("a read-only session was asked to touch the engine")

    with pytest.raises(ActionRefused, match="read-only: refusing to debug.copy web-1"):
        start_debug_copy(ReadOnlySession(), "web-1")  # type: ignore[arg-type]
