"""`corral hosts provision` on bare lab hosts: Debian 12 with sshd and sudo, nothing else.

Each test host is a throwaway overlay of a cached debootstrap root on the lab's
bridge (tests/support/bare_host.py). Online, apt reaches the Debian mirror through
the test's proxy; offline, the host's packets to it are rejected and the engine
comes from a package bundle made by `corral bundle create --packages bookworm`.
"""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def proxy(lab: Lab) -> Iterator[bare_host.MirrorProxy]:
    bare_host.ensure_cache()
    state = json.loads((lab.dir / "lab.json").read_text())
    mirror = bare_host.MirrorProxy(state["gateway"], "deb.debian.org")
    yield mirror
    mirror.close()


@pytest.fixture
def bare(lab: Lab, proxy: bare_host.MirrorProxy, request) -> Iterator[bare_host.BareHost]:
    """A fresh bare host (cleaned before and after, by namespace and pid)."""
    index = getattr(request, "param", 1)
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


def assert_ready(host: bare_host.BareHost) -> None:
    """Docker answers through Corral's tunnel, daemon.json rotates logs and keeps
    containers alive across restarts, the SSH user is in the docker group."""
    ps = run_corral(*host.corral_args(), "ps", "--json")
    assert ps.returncode == 0, ps.stderr
    assert json.loads(ps.stdout) == []
    facts = run_corral(*host.corral_args(), "hosts", "--json")
    assert facts.returncode == 0, facts.stderr
    assert json.loads(facts.stdout)[0]["docker_version"].startswith("20.10")
    settings = json.loads((host.root / "etc/docker/daemon.json").read_text())
    assert settings["log-opts"] == {"max-size": "10m", "max-file": "3"}
    assert settings["live-restore"] is True
    groups = subprocess.run(host.ssh("id -nG"), capture_output=True, text=True, timeout=15)
    assert "docker" in groups.stdout.split(), groups
    # A fresh login has the group: the user reaches the engine without sudo.
    direct = subprocess.run(host.ssh("docker info --format '{{.LiveRestoreEnabled}}'"),
                            capture_output=True, text=True, timeout=30)
    assert direct.stdout.strip() == "true", direct.stderr


def test_dry_run_then_provision_online_then_nothing_to_do(
        bare: bare_host.BareHost, proxy: bare_host.MirrorProxy) -> None:
    before = tree_hashes(bare.root / "etc")
    dry = provision(bare, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "apt-get install -y -q --no-install-recommends docker.io" in dry.stdout
    assert "sudo -n service docker start" in dry.stdout
    assert "usermod -aG docker corral" in dry.stdout
    assert "nothing was changed" in dry.stdout
    assert tree_hashes(bare.root / "etc") == before
    assert not (bare.root / "usr/bin/dockerd").exists()

    asked = len(proxy.requests)
    done = provision(bare, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(proxy.requests) > asked  # apt went to the mirror
    assert "[  ok] live-restore: true" in done.stdout
    assert_ready(bare)

    settled = tree_hashes(bare.root / "etc")
    again = provision(bare, "--yes")
    assert again.returncode == 0, again.stderr
    assert "nothing to change" in again.stdout
    assert "[change]" not in again.stdout
    assert tree_hashes(bare.root / "etc") == settled


@pytest.fixture(scope="module")
def package_bundle(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("packages") / "docker-bookworm.bundle"
    made = run_corral("bundle", "create", "--packages", "bookworm", "-o", str(path),
                      timeout=PROVISION_TIMEOUT)
    assert made.returncode == 0, made.stderr
    return path


@pytest.mark.parametrize("bare", [2], indirect=True)
def test_provision_offline_from_a_package_bundle(
        bare: bare_host.BareHost, proxy: bare_host.MirrorProxy, package_bundle: Path,
        lab: Lab) -> None:
    gateway = json.loads((lab.dir / "lab.json").read_text())["gateway"]
    rule = bare_host.block_mirror(bare, gateway, proxy)
    try:
        cut = subprocess.run(bare.ssh("sudo -n apt-get update -q -o Acquire::Retries=0"),
                             capture_output=True, text=True, timeout=60)
        assert "Failed to fetch" in cut.stdout + cut.stderr or cut.returncode != 0
        done = provision(bare, "--yes", "--from-bundle", str(package_bundle))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "offline from docker-bookworm.bundle" in done.stdout
        assert_ready(bare)
        again = provision(bare, "--yes", "--from-bundle", str(package_bundle))
        assert "nothing to change" in again.stdout, again.stdout + again.stderr
    finally:
        bare_host.unblock_mirror(rule)
