"""The lab as tests see it: hosts from `lab status --json`, faults, corral options."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB_SCRIPT = ROOT / "tests" / "lab" / "lab"


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
