"""A lab HAProxy image built from this machine's Debian `haproxy` package (no registry).

Like the lab's busybox images: a minimal root filesystem as a tar (the
`haproxy` binary, every shared library `ldd` names, the dynamic loader, a
passwd file and the configuration folder), `docker import`ed on each lab
engine. Corral's load balancer services run it (`corral/haproxy:2.6` is
the inventory's default `load_balancer_image`).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import docker

REPO, TAG = "corral/haproxy", "2.6"
IMAGE = f"{REPO}:{TAG}"
HAPROXY = "/usr/sbin/haproxy"


def available() -> bool:
    """Whether this machine has Debian's haproxy to build the image from."""
    return Path(HAPROXY).exists() and shutil.which("ldd") is not None


def libraries(binary: str = HAPROXY) -> list[str]:
    """Absolute paths of the shared libraries (and loader) `binary` needs."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    paths = []
    for line in out.splitlines():
        match = re.search(r"(/\S+)\s+\(0x", line)
        if match:
            paths.append(match.group(1))
    return paths


def rootfs_tar() -> bytes:
    """The image's root filesystem: haproxy, its libraries, /etc and the config folder."""
    buffer = io.BytesIO()
    now = int(time.time())
    seen: set[str] = set()
    with tarfile.open(fileobj=buffer, mode="w") as tar:

        def directory(path: str, mode: int = 0o755) -> None:
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts) + 1):
                name = "/".join(parts[:depth])
                if name not in seen:
                    seen.add(name)
                    info = tarfile.TarInfo(name)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, now
                    tar.addfile(info)

        def regular(path: str, data: bytes, mode: int) -> None:
            directory(str(Path(path).parent))
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.mtime = len(data), mode, now
            tar.addfile(info, io.BytesIO(data))

        for folder in ("tmp", "run", "var/lib/haproxy", "usr/local/etc/haproxy", "proc", "sys",
                       "dev"):
            directory(folder, 0o1777 if folder == "tmp" else 0o755)
        regular("/usr/sbin/haproxy", Path(HAPROXY).read_bytes(), 0o755)
        for library in libraries():
            # Resolve symlinks: the file's bytes under the name the loader asks for.
            regular(library, Path(library).resolve().read_bytes(), 0o755)
        regular("/etc/passwd", b"root:x:0:0:root:/root:/bin/false\n"
                b"haproxy:x:100:101::/var/lib/haproxy:/bin/false\n", 0o644)
        regular("/etc/group", b"root:x:0:\nhaproxy:x:101:\n", 0o644)
    return buffer.getvalue()


def import_into(client: docker.DockerClient, tar: bytes) -> None:
    """`docker import` the rootfs as `corral/haproxy:2.6` on one engine."""
    client.api.import_image_from_data(
        tar, repository=REPO, tag=TAG,
        changes=["ENV PATH=/usr/sbin:/usr/bin:/bin", 'CMD ["haproxy","-W","-db","-f",'
                 '"/usr/local/etc/haproxy/haproxy.cfg"]'])
