"""Which distribution a host runs, and how Corral installs Docker there.

The engine comes from the distribution's own packages: nothing is fetched from
Docker's repositories and nothing is installed on the operator's machine.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from corral.backends.errors import ProvisionError


@dataclass(frozen=True)
class Family:
    """How one family of distributions installs Docker.

    Attributes:
        manager: `apt`, `dnf` or `yum`.
        packages: What to install (the engine's package first).
        bundles: Whether a package bundle (`.deb` files) can install it offline.
    """

    manager: str
    packages: tuple[str, ...]
    bundles: bool = False


#: os-release `ID` -> how Docker is installed there. RHEL 8 and later (and its
#: rebuilds) ship no Docker Engine package: they are refused, not guessed at.
FAMILIES: dict[str, Family] = {
    "debian": Family("apt", ("docker.io",), bundles=True),
    "ubuntu": Family("apt", ("docker.io",), bundles=True),
    "raspbian": Family("apt", ("docker.io",), bundles=True),
    "fedora": Family("dnf", ("moby-engine",)),
    "centos": Family("yum", ("docker",)),
    "amzn": Family("yum", ("docker",)),
}


@dataclass(frozen=True)
class Distro:
    """A host's distribution, from its /etc/os-release.

    Attributes:
        id: `ID` (`debian`).
        version_id: `VERSION_ID` (`12`).
        codename: `VERSION_CODENAME` (`bookworm`), or "".
        pretty: `PRETTY_NAME`.
        family: How Docker is installed there.
    """

    id: str
    version_id: str
    codename: str
    pretty: str
    family: Family


def parse_os_release(text: str) -> dict[str, str]:
    """The KEY=value pairs of an os-release file (values unquoted as a shell would)."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or key.startswith("#"):
            continue
        try:
            parts = shlex.split(value)
        except ValueError:
            continue
        values[key] = parts[0] if parts else ""
    return values


def detect(text: str, host: str) -> Distro:
    """The distribution an os-release file describes.

    Raises:
        ProvisionError: No Docker package Corral knows of for it (named).
    """
    values = parse_os_release(text)
    ident = values.get("ID", "").lower()
    pretty = values.get("PRETTY_NAME") or f"{ident} {values.get('VERSION_ID', '')}".strip()
    family = FAMILIES.get(ident)
    if family is None:
        for like in values.get("ID_LIKE", "").lower().split():
            if like in ("debian", "ubuntu"):
                family = FAMILIES[like]
                break
    if family is None:
        known = ", ".join(sorted(FAMILIES))
        raise ProvisionError(
            f"{pretty or 'an unknown system'} (ID={ident or '?'}): Corral installs Docker only "
            f"from the packages of {known}; install Docker Engine yourself, then run "
            "provision again for the settings", host=host)
    return Distro(ident, values.get("VERSION_ID", ""), values.get("VERSION_CODENAME", ""),
                  pretty, family)
