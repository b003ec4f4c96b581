"""Shared fixtures: the network-namespace lab, started once per test session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.lab import LAB_SCRIPT, Lab, LabHost, worker_suffix

LAB_DIR = Path(os.environ.get("CORRAL_TEST_LAB_DIR", "/tmp/corral-lab-test") + worker_suffix())
# `make test` sets this so that a machine unable to run the lab fails loudly
# instead of silently skipping every acceptance test.
REQUIRE_LAB = os.environ.get("CORRAL_REQUIRE_LAB") == "1"


def _lab_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root"
    for tool in ("dockerd", "ip", "iptables", "nsenter", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"the lab needs {tool} (run `make deps`)"
    if not Path("/usr/sbin/sshd").exists():
        return "the lab needs openssh-server (run `make deps`)"
    return None


@pytest.fixture(autouse=True)
def isolated_user_config(tmp_path_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own Corral configuration and inventory out of every test."""
    home = tmp_path_factory.mktemp("xdg-config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("CORRAL_CONFIG", raising=False)
    monkeypatch.delenv("CORRAL_INVENTORY", raising=False)
    monkeypatch.delenv("CORRAL_READONLY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
    # A persisted connection outlives its command (and a stopped sshd, as with
    # OpenSSH's ControlPersist): tests that mean to use one turn it back on.
    monkeypatch.setenv("CORRAL_PERSIST", "0")


@pytest.fixture(autouse=True)
def fresh_guard():
    """Each test starts writable with no audit observer (the latch is one-way per process)."""
    from corral.backends import guard

    guard._reset_for_tests()
    yield
    guard._reset_for_tests()


@pytest.fixture(scope="session")
def lab() -> Lab:
    """A three-host lab, brought up once and torn down at the end."""
    reason = _lab_unavailable()
    if reason:
        if REQUIRE_LAB:
            pytest.fail(reason)
        pytest.skip(reason)
    up = subprocess.run(
        [sys.executable, str(LAB_SCRIPT), "up", "--hosts", "3", "--dir", str(LAB_DIR)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if up.returncode != 0:
        pytest.fail(f"lab up failed:\n{up.stderr[-4000:]}")
    status = subprocess.run(
        [sys.executable, str(LAB_SCRIPT), "status", "--json", "--dir", str(LAB_DIR)],
        capture_output=True,
        text=True,
        check=True,
    )
    hosts = [
        LabHost(
            name=item["name"],
            address=item["address"],
            ssh_port=item["ssh_port"],
            ssh_port_nostream=item["ssh_port_nostream"],
            socket=item["socket"],
            labels=item["labels"],
        )
        for item in json.loads(status.stdout)
    ]
    running = Lab(LAB_DIR, hosts)
    yield running
    running.lab("down", check=False)
