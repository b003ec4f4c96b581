"""`corral hosts provision` and `corral bundle create --packages`: refusals in one line,
before any host is contacted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.deploy import corral_here
from tests.support.no_host import unreachable_inventory

INVENTORY = "hosts:\n  - name: lab1\n    ssh: root@127.0.0.1:9\n"


@pytest.fixture
def no_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return unreachable_inventory(monkeypatch, tmp_path, INVENTORY,
                                 "a refused provision started contacting hosts")


def test_provision_without_a_terminal_needs_yes(no_host: Path) -> None:
    result = corral_here("hosts", "provision", "lab1", "--inventory", str(no_host))
    assert result.returncode == 2
    assert result.stderr == ("corral: refusing to provision without confirmation: pass --yes "
                             "(stdin is not a terminal) or --dry-run\n")


def test_a_file_that_is_not_a_package_bundle_is_refused(no_host: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bundle"
    junk.write_bytes(b"not a tar at all" * 100)
    result = corral_here("hosts", "provision", "lab1", "--yes", "--from-bundle", str(junk),
                         "--inventory", str(no_host))
    assert result.returncode == 1
    assert result.stderr.startswith(f"corral: {junk}: not a bundle")
    assert len(result.stderr.splitlines()) == 1


def test_package_bundles_are_made_for_bookworm_only(tmp_path: Path) -> None:
    out = tmp_path / "p.bundle"
    result = corral_here("bundle", "create", "--packages", "bullseye", "-o", str(out))
    assert result.returncode == 1
    assert result.stderr == ("corral: --packages bullseye: package bundles are made for "
                             "bookworm only\n")
    both = corral_here("bundle", "create", "web", "--packages", "bookworm", "-o", str(out))
    assert both.returncode == 2
    assert both.stderr == "corral: name an ENTRY or --packages DISTRO, not both\n"
    assert not out.exists()
