"""The lab as tests see it: hosts from `lab status --json`, faults, corral options, host keys."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker

from tests.support.waits import wait_until

ROOT = Path(__file__).resolve().parents[2]


def load_labkit():
    """tests/lab/labkit.py: a stdlib-only module beside the lab script, in no package."""
    if "labkit" in sys.modules:
        return sys.modules["labkit"]
    spec = importlib.util.spec_from_file_location("labkit", ROOT / "tests" / "lab" / "labkit.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["labkit"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
LAB_SCRIPT = ROOT / "tests" / "lab" / "lab"


def worker_suffix() -> str:
    """`-gw0`, `-gw1`… under pytest-xdist, else empty: each xdist worker brings up its
    own lab (own directory, hence own id, bridge, subnet, namespaces and iptables tag),
    so two workers never share one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"-{worker}" if worker else ""


#: The `lab fault` action that undoes each fault a test may inject.
REPAIRS = {"sshd-stop": "sshd-start", "link-down": "link-up", "link-drop": "link-pass"}
#: Seconds a repaired host has to answer again.
RESTORE_TIMEOUT = 30.0


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

    def _state(self) -> dict:
        return json.loads((self.dir / "lab.json").read_text())

    def dockerd_pid(self, name: str) -> int | None:
        """The PID of `name`'s dockerd, or None when it is not running (the lab kit's)."""
        kit = load_labkit()
        lab = kit.load_lab(str(self.dir))
        return None if lab is None else kit.dockerd_pid(lab.host(name))

    @property
    def registry_address(self) -> str:
        """ADDR:PORT of the lab registry (plain HTTP; every lab engine trusts it)."""
        return self._state()["registry"]["address"]

    def registry_hosts(self, reachable: bool = True) -> list[str]:
        """Names of the hosts that can reach the registry (or, if not `reachable`, the
        air-gapped ones, whose packets to it iptables drops)."""
        wanted = "reachable" if reachable else "blocked"
        return [h["name"] for h in self._state()["hosts"] if h.get("registry") == wanted]

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
        """Inject or repair a fault: sshd-stop, sshd-start, link-down, link-up…

        Tests use `faulted`, which also checks that the repair worked.
        """
        self.lab("fault", host, action)

    @contextlib.contextmanager
    def faulted(self, host: str, fault: str) -> Iterator[None]:
        """`fault` on `host` for the block; then repair it and wait until the host is back.

        The repair runs however the block ends, and the next test starts only
        once `host` answers again (see `restored`).
        """
        repair = REPAIRS[fault]
        self.fault(host, fault)
        try:
            yield
        finally:
            self.fault(host, repair)
            self.restored(host, after=repair)

    def restored(
        self, host: str, after: str = "the repair", timeout: float = RESTORE_TIMEOUT
    ) -> None:
        """Wait until `host` answers SSH on both ports and its engine answers on its socket.

        Raises:
            AssertionError: Naming the host and what still does not answer.
        """
        problems: list[str] = []

        def answers() -> bool:
            problems[:] = self.unanswered(host)
            return not problems

        try:
            wait_until(answers, f"{host} to answer", timeout=timeout, step=0.2)
        except AssertionError:
            raise AssertionError(
                f"lab host {host} is not back {timeout:g}s after {after}: " + "; ".join(problems)
            ) from None

    def unanswered(self, name: str) -> list[str]:
        """What of `name` does not answer right now: its sshd (ports 22, 2222), its engine."""
        host = self.host(name)
        problems = []
        for port in (host.ssh_port, host.ssh_port_nostream):
            try:
                result = subprocess.run(self.ssh(name, "true", port=port),
                                        capture_output=True, text=True, timeout=15)
            except subprocess.TimeoutExpired:
                problems.append(f"ssh port {port}: no answer")
                continue
            if result.returncode != 0:
                reason = result.stderr.strip() or f"exit status {result.returncode}"
                problems.append(f"ssh port {port}: {reason}")
        try:
            with contextlib.closing(docker.APIClient(base_url=host.engine_url, timeout=5)) as api:
                api.ping()
        except Exception as exc:  # whatever the engine or its socket says, it is not back
            problems.append(f"engine on {host.socket}: {exc}")
        return problems

    def ssh(self, name: str, *command: str, port: int | None = None) -> list[str]:
        """An `ssh` command line running `command` on lab host `name` as root."""
        host = self.host(name)
        return [
            "ssh", "-i", str(self.key),
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=5", "-p", str(port or host.ssh_port),
            f"root@{host.address}", *command,
        ]  # fmt: skip

    def corral_args(self) -> list[str]:
        """Global options that point `corral` at this lab."""
        return ["--inventory", str(self.inventory), "--known-hosts", str(self.known_hosts)]


def fingerprint_of(lab: Lab, host: str) -> str:
    """The SHA256 fingerprint of a lab host's key, as ssh-keygen prints it."""
    line = next(
        entry for entry in lab.known_hosts.read_text().splitlines()
        if entry.split()[0] == lab.host(host).address
    )
    key = line.split(None, 1)[1]
    output = subprocess.run(
        ["ssh-keygen", "-lf", "-"], input=key, capture_output=True, text=True, check=True
    ).stdout
    return output.split()[1]
