"""SSH targets and keys held to OpenSSH's rules: no shell metacharacters, no readable keys.

An `ssh_config` whose ProxyCommand expands `%h` in a shell would run whatever
a host name smuggles in; the check is that no file appears.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.lab import Lab

pytestmark = pytest.mark.lab

EVIL_HOST = "root@x;>pwned;"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home whose ssh_config runs every connection through a shell ProxyCommand."""
    ssh = tmp_path / ".ssh"
    ssh.mkdir(mode=0o700)
    (ssh / "config").write_text('Host *\n  ProxyCommand sh -c "echo %h > /dev/null"\n')
    return tmp_path


def corral(home: Path, *args: str) -> subprocess.CompletedProcess:
    """`corral ARGS` in a separate process with `home` as HOME and working directory."""
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "corral.tui.cli.main", *args], cwd=home,
                          env=env, capture_output=True, text=True, timeout=60)


def inventory(path: Path, ssh: str, identity: Path | None = None, line: str = "") -> Path:
    text = f"hosts:\n  - name: evil\n    ssh: '{ssh}'\n{line}"
    if identity is not None:
        text += f"    identity: {identity}\n"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("target", "char"), [
    (EVIL_HOST, ";"), ("root@$(touch${IFS}pwned)", "$"), ("root@x`touch${IFS}pwned`", "`"),
    ("root@x|touch", "|"),
])
def test_a_host_name_with_shell_metacharacters_runs_nothing(lab: Lab, home: Path,
                                                             target: str, char: str) -> None:
    path = inventory(home / "inventory.yaml", target)
    result = corral(home, "--inventory", str(path), "--known-hosts", str(lab.known_hosts),
                    "hosts")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{path}:3: " in result.stderr and f"{char!r} is not allowed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    added = corral(home, "--inventory", str(lab.inventory), "--known-hosts",
                   str(lab.known_hosts), "hosts", "add", "evil", target)
    assert added.returncode == 2 and "not allowed" in added.stderr
    assert "evil" not in lab.inventory.read_text()
    assert not (home / "pwned").exists() and not Path("pwned").exists()


def test_a_user_name_with_metacharacters_is_not_sent(lab: Lab, home: Path) -> None:
    host = lab.host("lab1")
    (home / ".ssh" / "config").write_text("")
    path = inventory(home / "inventory.yaml", f"ro|ot@{host.address}:{host.ssh_port}",
                     lab.key, f"    socket: {host.socket}\n")
    result = corral(home, "--inventory", str(path), "--known-hosts", str(lab.known_hosts),
                    "hosts")
    assert result.returncode == 2 and "'|' is not allowed in a user name" in result.stderr


def test_a_private_key_others_may_read_is_refused(lab: Lab, home: Path) -> None:
    host = lab.host("lab1")
    (home / ".ssh" / "config").write_text("")
    key = home / "id_lab"
    shutil.copy(lab.key, key)
    key.chmod(0o644)
    path = inventory(home / "inventory.yaml", f"root@{host.address}:{host.ssh_port}", key,
                     f"    socket: {host.socket}\n")
    args = ["--inventory", str(path), "--known-hosts", str(lab.known_hosts)]
    result = corral(home, *args, "hosts")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "UNPROTECTED PRIVATE KEY FILE" in result.stderr
    assert f"chmod 600 {key}" in result.stderr and f"{path}:5: " in result.stderr
    key.chmod(0o600)
    result = corral(home, *args, "hosts", "--json")
    assert result.returncode == 0, result.stderr
    # A default key (none named) others may read is refused when connecting.
    key.rename(home / ".ssh" / "id_ed25519")
    (home / ".ssh" / "id_ed25519").chmod(0o640)
    path = inventory(home / "inventory.yaml", f"root@{host.address}:{host.ssh_port}", None,
                     f"    socket: {host.socket}\n")
    result = corral(home, *args, "hosts")
    assert result.returncode == 1
    assert f"UNPROTECTED PRIVATE KEY FILE {home}/.ssh/id_ed25519" in result.stderr
