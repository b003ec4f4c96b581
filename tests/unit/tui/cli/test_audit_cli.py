"""`corral audit`: the local file, filtered, as JSON or a table."""

from __future__ import annotations

import json
import time

import pytest

from corral.backends.audit import AuditEntry
from corral.backends.audit.local import append
from corral.tui.cli.main import main


def write(when: float, verb: str, stack: str | None, hosts: tuple[str, ...],
          target: str | None = None) -> None:
    append(AuditEntry(id=f"{verb}-{when}", time=when, user="ann", machine="desk", verb=verb,
                      result="ok", hosts=hosts, ssh_users={h: "root" for h in hosts},
                      stack=stack, target=target))


def test_audit_json_filters_by_stack_host_and_since(capsys: pytest.CaptureFixture) -> None:
    now = time.time()
    write(now - 7200, "stack.deploy", "demo", ("lab1", "lab2"))
    write(now - 60, "stack.scale", "demo", ("lab2",))
    write(now - 30, "container.stop", None, ("lab3",), "web-1")
    write(now - 10, "stack.rm", "other", ("lab1",))
    assert main(["audit", "--local", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["verb"] for e in listed] == ["stack.deploy", "stack.scale", "container.stop",
                                           "stack.rm"]  # newest last
    assert listed[0]["ssh_users"] == {"lab1": "root", "lab2": "root"}
    assert main(["audit", "--local", "--json", "--stack", "demo"]) == 0
    assert [e["verb"] for e in json.loads(capsys.readouterr().out)] == ["stack.deploy",
                                                                       "stack.scale"]
    assert main(["audit", "--local", "--json", "--host", "lab2", "--since", "1h"]) == 0
    assert [e["verb"] for e in json.loads(capsys.readouterr().out)] == ["stack.scale"]


def test_audit_table_shows_hostile_text_harmlessly(capsys: pytest.CaptureFixture) -> None:
    write(time.time(), "container.stop", None, ("lab1",), "x\x1b]0;pwned\x07y")
    assert main(["audit", "--local"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "x\\x1b]0;pwned\\x07y" in out and "lab1 (root)" in out and "ann@desk" in out


def test_audit_bad_since_is_one_line(capsys: pytest.CaptureFixture) -> None:
    assert main(["audit", "--local", "--since", "yesterday-ish"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--since" in err


def test_audit_without_inventory_reads_the_local_file(capsys: pytest.CaptureFixture,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("corral.backends.inventory.local_inventory", lambda: None)
    write(time.time(), "stack.rm", "demo", ("lab1",))
    assert main(["audit"]) == 0
    captured = capsys.readouterr()
    assert "stack.rm" in captured.out and "audit.jsonl only" in captured.err
