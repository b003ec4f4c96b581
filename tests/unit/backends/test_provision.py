"""Provisioning's pure parts: the distribution table, the daemon.json merge, the choice of
a bundle's packages, and sudo that wants a password (a fake connection)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from corral.backends.errors import ProvisionError
from corral.backends.provision import daemon_json
from corral.backends.provision.distro import detect
from corral.backends.provision.packages import Deb, PackageBundle, choose, names
from corral.backends.provision.remote import Remote

DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n' \
         "VERSION_CODENAME=bookworm\n"


def test_debian_installs_docker_io_and_unknown_systems_are_refused() -> None:
    distro = detect(DEBIAN, "h1")
    assert (distro.id, distro.codename, distro.family.packages) == (
        "debian", "bookworm", ("docker.io",))
    assert detect("ID=linuxmint\nID_LIKE=ubuntu\n", "h1").family.manager == "apt"
    assert detect("ID=fedora\nVERSION_ID=40\n", "h1").family.packages == ("moby-engine",)
    with pytest.raises(ProvisionError, match=r"^h1: Rocky Linux 9 \(ID=rocky\): Corral "):
        detect('ID="rocky"\nPRETTY_NAME="Rocky Linux 9"\n', "h1")


def test_daemon_json_merge_keeps_what_is_there() -> None:
    assert daemon_json.merged({}) == {"log-opts": {"max-size": "10m", "max-file": "3"},
                                      "live-restore": True}
    current = {"log-opts": {"max-size": "50m"}, "debug": True,
               "insecure-registries": ["a:5000"]}
    merged = daemon_json.merged(current, ("b:5000", "a:5000"))
    assert merged == {"log-opts": {"max-size": "50m", "max-file": "3"}, "debug": True,
                      "live-restore": True, "insecure-registries": ["a:5000", "b:5000"]}
    assert daemon_json.merged(merged, ("b:5000",)) == merged  # idempotent
    journald = {"log-driver": "journald"}
    assert "log-opts" not in daemon_json.merged(journald)


def test_a_daemon_json_that_is_not_json_is_refused_with_its_line() -> None:
    with pytest.raises(ProvisionError, match=r"^h1: /etc/docker/daemon.json: line 2: not JSON"):
        daemon_json.parse('{\n  "debug": tru\n}', "h1")


def test_depends_fields_become_groups_of_names() -> None:
    assert names("libc6 (>= 2.34), iptables | nftables:any, adduser") == [
        ["libc6"], ["iptables", "nftables"], ["adduser"]]


def test_only_the_packages_the_host_lacks_are_chosen() -> None:
    debs = (Deb("packages/d.deb", "docker.io", "20", "containerd, runc (>= 1), libc6, "
                "iptables | nftables"),
            Deb("packages/c.deb", "containerd", "1.6", "libc6, runc"),
            Deb("packages/r.deb", "runc", "1.1", "libc6"),
            Deb("packages/l.deb", "libc6", "2.36"),
            Deb("packages/i.deb", "iptables", "1.8", "libip4tc2"),
            Deb("packages/p.deb", "libip4tc2", "1.8"))
    bundle = PackageBundle(SimpleNamespace(path=Path("b.bundle")), "bookworm",  # type: ignore
                           ("docker.io",), debs)
    chosen = choose(bundle, {"libc6", "iptables"}, "h1")
    assert sorted(deb.package for deb in chosen) == ["containerd", "docker.io", "runc"]
    missing = r"^h1: needs (libc6|iptables), which is neither installed nor in b.bundle$"
    with pytest.raises(ProvisionError, match=missing):
        choose(PackageBundle(bundle.bundle, "bookworm", ("docker.io",), debs[:3]), set(), "h1")


class _Conn:
    """An SSH connection whose sudo wants a password."""

    async def run(self, command: str, **_: object) -> SimpleNamespace:
        if command == "id -un":
            return SimpleNamespace(exit_status=0, stdout="ops\n", stderr="")
        assert command.startswith("sudo -n ")  # never a prompt
        return SimpleNamespace(exit_status=1, stdout="",
                               stderr="sudo: a password is required\n")

    def close(self) -> None:
        pass


def test_sudo_that_wants_a_password_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fake_open(host, settings):
        return _Conn()

    monkeypatch.setattr("corral.backends.provision.remote.open_connection", fake_open)
    monkeypatch.setattr("corral.backends.provision.remote.close_connection", lambda c: None)
    host = SimpleNamespace(name="h1")
    with pytest.raises(ProvisionError) as caught:
        asyncio.run(Remote.open(host, None))  # type: ignore[arg-type]
    assert str(caught.value) == (
        "h1: sudo for ops needs a password or is not allowed (sudo: a password is "
        "required); provision needs passwordless sudo (NOPASSWD) or the root user")
