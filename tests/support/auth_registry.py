"""A registry that wants a login, beside the lab's plain one (for credential tests).

Debian's `docker-registry` (distribution 2.8) with `auth: htpasswd:` on the lab
bridge's address at `labkit.REGISTRY_AUTH_PORT` (5001), which every lab engine
trusts as plain HTTP and blocked hosts cannot reach. Its files live under the
lab's registry directory (`DIR/registry/auth/`), so `lab down` finds and stops a
leftover one too. Started and stopped by pid; a leftover of an earlier run is
stopped by its pidfile (checked against its command line) before starting.

The password is a throwaway for the lab only; its bcrypt hash is fixed here
(distribution reads only bcrypt; computed once, so no bcrypt module is needed).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.lab import Lab, load_labkit

#: labkit.REGISTRY_AUTH_PORT (labkit is a stdlib module beside the lab script, not a package).
REGISTRY_AUTH_PORT = 5001
USERNAME = "corral"
#: Lab-only throwaway: what a test checks never leaks into output or the audit trail.
PASSWORD = "corral-lab-registry-pw-7f3q"
PASSWORD_BCRYPT = "$2b$10$.9kD8GOzJLiQzM/YDGmIjexY9PG4FoMgrHqE.jlRFopJ904huE1xy"
START_TIMEOUT = 10.0


@dataclass(frozen=True)
class AuthRegistry:
    """A running authenticated registry.

    Attributes:
        address: `ADDR:PORT`, as image names spell it.
        username: The one user it knows.
        password: That user's password.
    """

    address: str
    username: str = USERNAME
    password: str = PASSWORD

    def auth_config(self) -> dict[str, str]:
        """docker-py's auth_config for a direct push (seeding the registry)."""
        return {"username": self.username, "password": self.password}


def _answers_401(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=1.0)
    try:
        conn.request("GET", "/v2/")
        return conn.getresponse().status == 401
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _stop_leftover(pidfile: Path, config: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if str(config) in cmdline:  # the pid is still ours, not a recycled one
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def auth_registry(lab: Lab) -> Iterator[AuthRegistry]:
    """Run the authenticated registry for the duration of the block.

    Raises:
        AssertionError: It did not answer (401 on /v2/) within `START_TIMEOUT`.
    """
    gateway = lab.registry_address.rsplit(":", 1)[0]
    address = f"{gateway}:{REGISTRY_AUTH_PORT}"
    folder = lab.dir / "registry" / "auth"
    config, pidfile, log = folder / "config.yml", folder / "registry.pid", folder / "registry.log"
    _stop_leftover(pidfile, config)
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "data").mkdir(parents=True)
    (folder / "htpasswd").write_text(f"{USERNAME}:{PASSWORD_BCRYPT}\n")
    config.write_text(load_labkit().registry_config_text(
        f"{folder}/data", address, htpasswd=f"{folder}/htpasswd"))
    with open(log, "ab") as handle:
        proc = subprocess.Popen(["docker-registry", "serve", str(config)],
                                stdin=subprocess.DEVNULL, stdout=handle,
                                stderr=subprocess.STDOUT, start_new_session=True)
    pidfile.write_text(f"{proc.pid}\n")
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers_401(address):
            assert proc.poll() is None, f"auth registry exited: {log.read_text()[-500:]}"
            assert time.monotonic() < deadline, f"auth registry silent on {address}"
            time.sleep(0.05)
        yield AuthRegistry(address)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        shutil.rmtree(folder, ignore_errors=True)
