"""Package bundles: the .debs Docker needs, made on a connected machine, installed offline.

A package bundle is a `corral-bundle/1` file (`backends/images/bundle.py`: every
member listed in `manifest.json` with its sha256 and size, checked as it is read)
holding `packages/<file>.deb` and, in the manifest, a `packages` section: the
distribution, what to install, and each .deb's control fields (package, version,
depends, pre-depends, provides), so the host's missing dependencies are chosen
without a mirror.

`create_package_bundle` resolves the dependency closure with the operator
machine's own apt against an empty package status (so nothing the host might lack
is left out) into a temporary directory: nothing is installed on the operator's
machine. On the host only what it lacks is copied and installed (`dpkg -i`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral.backends.errors import BundleError, ProvisionError
from corral.backends.images import Bundle, open_bundle
from corral.backends.provision.distro import FAMILIES, parse_os_release

FORMAT = "corral-bundle/1"
MANIFEST = "manifest.json"
PREFIX = "packages/"
#: Distributions a package bundle can be made for (codename -> os-release ID).
BUNDLE_DISTROS = {"bookworm": "debian"}
APT_TIMEOUT = 900


@dataclass(frozen=True)
class Deb:
    """One .deb of a package bundle."""

    member: str
    package: str
    version: str
    depends: str = ""
    pre_depends: str = ""
    provides: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"member": self.member, "package": self.package, "version": self.version,
                "depends": self.depends, "pre_depends": self.pre_depends,
                "provides": self.provides}


@dataclass(frozen=True)
class PackageBundle:
    """A package bundle, opened and checked for shape.

    Attributes:
        bundle: The bundle (members and their expected sha256).
        distro: The distribution's codename (`bookworm`).
        install: What to install (`docker.io`).
        debs: Every .deb it holds.
    """

    bundle: Bundle
    distro: str
    install: tuple[str, ...]
    debs: tuple[Deb, ...]


def names(field: str) -> list[list[str]]:
    """A Depends-style field as groups of alternatives, names only (`a (>= 1) | b:any`)."""
    groups = []
    for group in field.split(","):
        alternatives = [re.split(r"[\s(:\[]", alt.strip(), maxsplit=1)[0]
                        for alt in group.split("|")]
        alternatives = [name for name in alternatives if name]
        if alternatives:
            groups.append(alternatives)
    return groups


def local_codename() -> tuple[str, str]:
    """(ID, VERSION_CODENAME) of the operator's machine."""
    try:
        values = parse_os_release(Path("/etc/os-release").read_text())
    except OSError:
        return "", ""
    return values.get("ID", ""), values.get("VERSION_CODENAME", "")


def create_package_bundle(distro: str, path: Path, packages: tuple[str, ...] = ()) -> dict:
    """Write a package bundle for `distro` to `path` (mode 0600, renamed once whole).

    Args:
        distro: A codename of `BUNDLE_DISTROS`; the operator's machine must run it
            (its apt resolves and downloads the packages).
        path: The bundle to write.
        packages: What to install (default: the family's Docker packages).

    Returns:
        What was written: path, distro, install, debs, bytes.

    Raises:
        ProvisionError: Another distribution, no apt, or apt failed (one line).
    """
    if distro not in BUNDLE_DISTROS:
        raise ProvisionError(f"--packages {distro}: package bundles are made for "
                             f"{', '.join(sorted(BUNDLE_DISTROS))} only")
    ident, codename = local_codename()
    if (ident, codename) != (BUNDLE_DISTROS[distro], distro) or shutil.which("apt-get") is None:
        raise ProvisionError(
            f"--packages {distro}: this machine runs {ident or '?'} {codename or '?'}; make "
            f"the bundle on a connected {BUNDLE_DISTROS[distro]} {distro} machine")
    install = packages or FAMILIES[BUNDLE_DISTROS[distro]].packages
    with tempfile.TemporaryDirectory(prefix="corral-packages-") as scratch:
        work = Path(scratch)
        archives = work / "archives"
        (archives / "partial").mkdir(parents=True)
        (work / "status").write_text("")
        # An empty dpkg status: apt downloads the whole closure, whatever this
        # machine has installed; its own cache and locks are left alone.
        command = ["apt-get", "-q", "-y", "--download-only", "--no-install-recommends",
                   "-o", f"Dir::State::status={work / 'status'}",
                   "-o", f"Dir::Cache::archives={archives}",
                   "-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache=",
                   "-o", "Debug::NoLocking=1", "install", *install]
        result = subprocess.run(command, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=APT_TIMEOUT)
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise ProvisionError(f"apt-get could not fetch {' '.join(install)}: "
                                 f"{lines[-1] if lines else result.returncode}")
        files = sorted(archives.glob("*.deb"))
        debs = [_control(deb) for deb in files]
        return _write(path, distro, install, list(zip(files, debs, strict=True)))


def _control(path: Path) -> Deb:
    """A .deb's control fields, read in-process (an `ar` archive holding
    `control.tar.{xz,gz,zst}`): no subprocess per package."""
    text = _control_text(path)
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if line[:1].isspace() and key:
            fields[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return Deb(PREFIX + path.name, fields.get("Package", ""), fields.get("Version", ""),
               fields.get("Depends", ""), fields.get("Pre-Depends", ""),
               fields.get("Provides", ""))


def _control_text(path: Path) -> str:
    with open(path, "rb") as deb:
        if deb.read(8) != b"!<arch>\n":
            raise ProvisionError(f"{path.name}: not a .deb (no ar header)")
        while header := deb.read(60):
            name = header[:16].decode().strip().rstrip("/")
            size = int(header[48:58].decode().strip())
            data = deb.read(size)
            if size % 2:
                deb.read(1)
            if name.startswith("control.tar"):
                return _member_control(path, name, data)
    raise ProvisionError(f"{path.name}: no control archive")


def _member_control(path: Path, name: str, data: bytes) -> str:
    if name.endswith(".zst"):
        result = subprocess.run(["zstd", "-dc"], input=data, capture_output=True, timeout=60)
        data = result.stdout
        mode = "r:"
    else:
        mode = {"control.tar.xz": "r:xz", "control.tar.gz": "r:gz"}.get(name, "r:")
    with tarfile.open(fileobj=io.BytesIO(data), mode=mode) as tar:
        for member in tar:
            if member.name in ("./control", "control"):
                handle = tar.extractfile(member)
                if handle is not None:
                    return handle.read().decode("utf-8", "replace")
    raise ProvisionError(f"{path.name}: no control file")


def _write(path: Path, distro: str, install: tuple[str, ...],
           debs: list[tuple[Path, Deb]]) -> dict:
    members = []
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part",
                                             dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as raw, \
                tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for file, deb in debs:
                digest = hashlib.sha256()
                with open(file, "rb") as source:
                    while chunk := source.read(1 << 20):
                        digest.update(chunk)
                size = file.stat().st_size
                info = tarfile.TarInfo(deb.member)
                info.size, info.mode, info.mtime = size, 0o644, int(time.time())
                with open(file, "rb") as source:
                    tar.addfile(info, source)
                members.append({"name": deb.member, "size": size,
                                "sha256": "sha256:" + digest.hexdigest()})
            manifest = {
                "format": FORMAT,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "members": members, "images": [], "entry": {},
                "packages": {"distro": distro, "install": list(install),
                             "debs": [deb.to_dict() for _, deb in debs]},
            }
            data = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))
        os.replace(temporary, path)
    except BaseException:
        with_suppress_unlink(temporary)
        raise
    return {"path": str(path), "distro": distro, "install": list(install),
            "debs": len(debs), "bytes": path.stat().st_size}


def with_suppress_unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def open_package_bundle(path: Path | str) -> PackageBundle:
    """Open a package bundle and check its shape (member bytes are checked as they are
    copied, or all at once by `corral bundle verify`).

    Raises:
        BundleError: Not a bundle, or a bundle without packages (named).
    """
    bundle = open_bundle(path)
    try:
        with open(bundle.path, "rb") as stream:
            info = bundle.members[MANIFEST]
            stream.seek(info.offset_data)
            section: Any = json.loads(stream.read(info.size)).get("packages")
        debs = tuple(Deb(str(d["member"]), str(d["package"]), str(d["version"]),
                         str(d.get("depends", "")), str(d.get("pre_depends", "")),
                         str(d.get("provides", ""))) for d in section["debs"])
        install = tuple(str(name) for name in section["install"])
        distro = str(section["distro"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise bundle.fail("holds no packages (make one with: corral bundle create "
                          "--packages DISTRO)", MANIFEST) from None
    for deb in debs:
        if deb.member not in bundle.expected or not deb.member.startswith(PREFIX) \
                or "/" in deb.member[len(PREFIX):]:
            raise bundle.fail(f"lists {deb.member!r}, which is not a package member", MANIFEST)
    return PackageBundle(bundle, distro, install, debs)


def choose(bundle: PackageBundle, installed: set[str], host: str) -> list[Deb]:
    """The bundle's .debs the host lacks to install `bundle.install`.

    Args:
        bundle: The package bundle.
        installed: Package names installed on the host, and the names they provide.
        host: For errors.

    Raises:
        ProvisionError: A dependency the host lacks is not in the bundle.
    """
    by_name: dict[str, Deb] = {}
    for deb in bundle.debs:
        by_name.setdefault(deb.package, deb)
    for deb in bundle.debs:
        for (name, *_) in names(deb.provides):
            by_name.setdefault(name, deb)
    chosen: dict[str, Deb] = {}
    wanted = list(reversed(bundle.install))
    while wanted:
        name = wanted.pop()
        if name in installed or name in chosen:
            continue
        deb = by_name.get(name)
        if deb is None:
            raise ProvisionError(f"needs {name}, which is neither installed nor in "
                                 f"{bundle.bundle.path.name}", host=host)
        if deb.package in {d.package for d in chosen.values()}:
            chosen[name] = deb
            continue
        chosen[name] = deb
        for group in names(deb.pre_depends) + names(deb.depends):
            if any(alt in installed or alt in chosen for alt in group):
                continue
            pick = next((alt for alt in group if alt in by_name), group[0])
            wanted.append(pick)
    unique: dict[str, Deb] = {}
    for deb in chosen.values():
        unique.setdefault(deb.member, deb)
    return list(unique.values())


def check_distro(bundle: PackageBundle, codename: str, host: str) -> None:
    """Refuse a bundle made for another distribution than the host's."""
    if bundle.distro != codename:
        raise BundleError(f"{bundle.bundle.path}: made for {bundle.distro}; {host} runs "
                          f"{codename or 'another distribution'}")
