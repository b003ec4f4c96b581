"""Bringing a host from sshd and sudo to a ready Docker host, over SSH, idempotently.

What the layers above may import; everything else in this package is internal.
"""

from corral.backends.provision.distro import FAMILIES, Distro, Family, detect
from corral.backends.provision.packages import (
    BUNDLE_DISTROS,
    PackageBundle,
    create_package_bundle,
    open_package_bundle,
)
from corral.backends.provision.remote import Remote
from corral.backends.provision.steps import Check, Step, Survey, apply, recheck, survey

__all__ = [
    "apply",
    "BUNDLE_DISTROS",
    "Check",
    "create_package_bundle",
    "detect",
    "Distro",
    "FAMILIES",
    "Family",
    "open_package_bundle",
    "PackageBundle",
    "recheck",
    "Remote",
    "Step",
    "survey",
    "Survey",
]
