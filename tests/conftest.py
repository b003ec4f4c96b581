"""Shared fixtures: the network-namespace lab, started once per test session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAB_SCRIPT = ROOT / "tests" / "lab" / "lab"
LAB_DIR = Path(os.environ.get("CORRAL_TEST_LAB_DIR", "/tmp/corral-lab-test"))
# `make test` sets this so that a machine unable to run the lab fails loudly
# instead of silently skipping every acceptance test.
REQUIRE_LAB = os.environ.get("CORRAL_REQUIRE_LAB") == "1"


@dataclass(frozen=True)
class LabHost:
    """One lab host as `lab status --json` describes it."""

    name: str
    address: str
    ssh_port: int
    ssh_port_nostream: int
    socket: str
    labels: dict[str, str]

    @property
    def engine_url(self) -> str:
        """The engine's own socket, to check what Corral reports against."""
        return f"unix://{self.socket}"


@dataclass(frozen=True)
class Lab:
    """A running lab: its files and a way to inject faults."""

    dir: Path
    hosts: list[LabHost]

    @property
    def inventory(self) -> Path:
        return self.dir / "inventory.yaml"

    @property
    def known_hosts(self) -> Path:
        return self.dir / "known_hosts"

    @property
    def key(self) -> Path:
        return self.dir / "id_ed25519"

    def host(self, name: str) -> LabHost:
        return next(host for host in self.hosts if host.name == name)

    def lab(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run the lab script on this lab's directory."""
        return subprocess.run(
            [sys.executable, str(LAB_SCRIPT), *args, "--dir", str(self.dir)],
            capture_output=True,
            text=True,
            check=check,
            timeout=300,
        )

    def fault(self, host: str, action: str) -> None:
        """Inject or repair a fault: sshd-stop, sshd-start, link-down, link-up…"""
        self.lab("fault", host, action)

    def corral_args(self) -> list[str]:
        """Global options that point `corral` at this lab."""
        return ["--inventory", str(self.inventory), "--known-hosts", str(self.known_hosts)]


def _lab_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root"
    for tool in ("dockerd", "ip", "iptables", "nsenter", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"the lab needs {tool} (run `make deps`)"
    if not Path("/usr/sbin/sshd").exists():
        return "the lab needs openssh-server (run `make deps`)"
    return None


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
