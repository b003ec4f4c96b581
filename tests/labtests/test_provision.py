"""`corral hosts provision` on bare lab hosts: Debian 12 with sshd and sudo, nothing else.

Each test host is a throwaway overlay of a cached debootstrap root on the lab's
bridge (tests/support/bare_host.py). Online, apt reaches the Debian mirror through
the test's proxy; offline, the host's packets to it are rejected and the engine
comes from a package bundle made by `corral bundle create --packages bookworm`.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import bare_host
from tests.support.lab import Lab
from tests.support.lab_cli import run_corral

pytestmark = pytest.mark.lab

PROVISION_TIMEOUT = 600
#: Doctor checks that warn on every host of this machine, provisioned or not: its kernel
#: has no ip_vs and runs cgroup v1. Not provisioning's to fix.
MACHINE_WARNINGS = {"engine.cgroup", "kernel.ip_vs"}


@pytest.fixture(scope="module")
def proxy(lab: Lab) -> Iterator[bare_host.MirrorProxy]:
    bare_host.ensure_cache()
    state = json.loads((lab.dir / "lab.json").read_text())
    mirror = bare_host.MirrorProxy(state["gateway"], "deb.debian.org")
    yield mirror
    mirror.close()


@pytest.fixture
def bare(lab: Lab, proxy: bare_host.MirrorProxy) -> Iterator[bare_host.BareHost]:
    """A fresh bare host (cleaned before and after, by namespace and pid)."""
    index = 1
    host = bare_host.start_bare(lab.dir, index, proxy)
    try:
        bare_host.wait_ssh(host)
        yield host
    finally:
        bare_host.stop_bare(lab.dir, host.lab_id, index)
        bare_host.delete_rules(host.lab_id)


def provision(host: bare_host.BareHost, *args: str) -> subprocess.CompletedProcess:
    return run_corral(*host.corral_args(), "hosts", "provision", host.name, *args,
                      timeout=PROVISION_TIMEOUT)


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 and mode of every file under `root` (links by target)."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = "-> " + os.readlink(path)
            elif path.is_file():
                found[key] = f"{path.stat().st_mode:o} " + hashlib.sha256(
                    path.read_bytes()).hexdigest()
            else:
                found[key] = f"{path.stat().st_mode:o}"
    return found


def assert_doctor_all_ok(host: bare_host.BareHost, output: str) -> None:
    """The doctor's table at the end of provision: every check ok (but the machine's)."""
    verdicts = {row[1]: row[2] for row in map(str.split, output.splitlines())
                if len(row) > 2 and row[0] == host.name}
    assert "engine.log-rotation" in verdicts and "ssh.socket-access" in verdicts, output
    bad = {check: status for check, status in verdicts.items()
           if status != "ok" and not (check in MACHINE_WARNINGS and status == "warn")}
    assert bad == {}, output


def assert_ready(host: bare_host.BareHost) -> None:
    """Docker answers through Corral's tunnel, daemon.json rotates logs and keeps
    containers alive across restarts, the SSH user is in the docker group."""
    ps = run_corral(*host.corral_args(), "ps", "--json")
    assert ps.returncode == 0, ps.stderr
    assert json.loads(ps.stdout) == []
    settings = json.loads((host.root / "etc/docker/daemon.json").read_text())
    assert settings["log-opts"] == {"max-size": "10m", "max-file": "3"}
    assert settings["live-restore"] is True
    # A fresh login has the group: the user reaches the engine without sudo.
    direct = subprocess.run(
        host.ssh("id -nG; docker info --format '{{.LiveRestoreEnabled}} {{.ServerVersion}}'"),
        capture_output=True, text=True, timeout=30)
    groups, engine = direct.stdout.splitlines()[:2]
    assert "docker" in groups.split(), direct
    assert engine.startswith("true 20.10"), direct


@pytest.fixture
def offline_bare(lab: Lab, proxy: bare_host.MirrorProxy) -> Iterator[bare_host.BareHost]:
    """A second fresh bare host, whose packets to the mirror are rejected."""
    host = bare_host.start_bare(lab.dir, 2, proxy)
    gateway = json.loads((lab.dir / "lab.json").read_text())["gateway"]
    rule = bare_host.block_mirror(host, gateway, proxy)
    try:
        bare_host.wait_ssh(host)
        yield host
    finally:
        bare_host.unblock_mirror(rule)
        bare_host.stop_bare(lab.dir, host.lab_id, 2)
        bare_host.delete_rules(host.lab_id)


def test_provision_bare_hosts_online_and_offline(
        bare: bare_host.BareHost, offline_bare: bare_host.BareHost,
        proxy: bare_host.MirrorProxy, tmp_path: Path) -> None:
    """bare1 from the mirror, bare2 (mirror blocked) from a package bundle made by
    `corral bundle create --packages bookworm`; side by side, as installs are most of
    the time. Then both again: nothing changes."""
    before = tree_hashes(bare.root / "etc")
    dry = provision(bare, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "apt-get install -y -q --no-install-recommends docker.io" in dry.stdout
    assert "sudo -n service docker start" in dry.stdout
    assert "usermod -aG docker corral" in dry.stdout
    assert "nothing was changed" in dry.stdout
    assert tree_hashes(bare.root / "etc") == before
    for path in ("usr/sbin/dockerd", "usr/bin/dockerd", "var/lib/dpkg/info/docker.io.list"):
        assert not (bare.root / path).exists(), path

    cut = subprocess.run(offline_bare.ssh("sudo -n apt-get update -q"),
                         capture_output=True, text=True, timeout=60)
    assert "Failed to fetch" in cut.stdout + cut.stderr or cut.returncode != 0, cut
    bundle = tmp_path / "docker-bookworm.bundle"

    def offline() -> subprocess.CompletedProcess:
        made = run_corral("bundle", "create", "--packages", "bookworm", "-o", str(bundle),
                          timeout=PROVISION_TIMEOUT)
        assert made.returncode == 0, made.stderr
        return provision(offline_bare, "--yes", "--from-bundle", str(bundle))

    asked = len(proxy.requests)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        online_run = pool.submit(provision, bare, "--yes")
        offline_run = pool.submit(offline)
        done, done_offline = online_run.result(), offline_run.result()
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(proxy.requests) > asked  # apt went to the mirror (bare2 cannot)
    assert "[  ok] live-restore: true" in done.stdout
    assert_doctor_all_ok(bare, done.stdout)
    assert done_offline.returncode == 0, done_offline.stdout + done_offline.stderr
    assert "offline from docker-bookworm.bundle" in done_offline.stdout
    assert_doctor_all_ok(offline_bare, done_offline.stdout)
    for host in (bare, offline_bare):
        assert_ready(host)

    settled = tree_hashes(bare.root / "etc")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        again = pool.submit(provision, bare, "--yes")
        again_offline = pool.submit(provision, offline_bare, "--yes", "--from-bundle",
                                    str(bundle))
        results = [again.result(), again_offline.result()]
    for result in results:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "nothing to change" in result.stdout
        assert "[change]" not in result.stdout
    assert tree_hashes(bare.root / "etc") == settled

    # Settings of the host's own are kept, the old file backed up, the engine restarted.
    own = '{"debug": true, "log-opts": {"max-size": "50m"}}'
    written = subprocess.run(
        bare.ssh(f"echo '{own}' | sudo -n tee /etc/docker/daemon.json >/dev/null"),
        capture_output=True, text=True, timeout=30)
    assert written.returncode == 0, written.stderr
    merged = provision(bare, "--yes")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "restart needed to apply them" in merged.stdout
    assert "sudo -n service docker restart" in merged.stdout
    settings = json.loads((bare.root / "etc/docker/daemon.json").read_text())
    assert settings == {"debug": True, "live-restore": True,
                        "log-opts": {"max-size": "50m", "max-file": "3"}}
    backups = list((bare.root / "etc/docker").glob("daemon.json.corral-*"))
    assert [json.loads(b.read_text()) for b in backups] == [json.loads(own)]
    assert "[  ok] live-restore: true" in merged.stdout
