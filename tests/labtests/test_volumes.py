"""`corral volumes export|import|copy` on the lab: files, owners and modes arrive byte for byte.

A volume on lab1 is filled through a container (a directory, a file owned
999:998 mode 0640, a symlink, a few MB of random bytes), exported to a tar
file, imported on lab2 into a new volume, copied lab1 -> lab3, and read back
through a container on each host. Then the refusals: a running container
writing the volume, read-only, a bad tar (nothing sent), and an engine error
mid-import (no helper container, no half-made volume left behind).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from corral.backends.volumes import HELPER_LABEL
from tests.support.deploy import corral_on as corral
from tests.support.lab import Lab
from tests.support.lab_cli import engine

pytestmark = pytest.mark.lab

IMAGE = "corral-lab/busybox:1"
VOLUME = "corral-vt-data"
FILL = (
    "mkdir -p /v/d/e && echo hello > /v/d/f && chown 999:998 /v/d/f && chmod 640 /v/d/f"
    " && head -c 4000000 /dev/urandom > /v/d/e/random.bin && chmod 600 /v/d/e/random.bin"
    " && ln -s /etc/passwd /v/link && chmod 750 /v/d"
)
#: Every entry with its type and mode, owner, size, time and link; then the checksums.
LIST = ("cd /v && find . | sort | while read f; do stat -c '%n %A %u:%g %s %Y %N' \"$f\";"
        " done | grep -v '^\\. ' ; find . -type f | sort | xargs md5sum")


def run_on(socket: str, volume: str, command: str) -> str:
    client = engine(socket)
    output = client.containers.run(IMAGE, ["sh", "-c", command], remove=True,
                                   volumes={volume: {"bind": "/v", "mode": "rw"}})
    return output.decode()


def helpers_left(lab: Lab) -> list[str]:
    return [f"{host.name}/{container.name}" for host in lab.hosts
            for container in engine(host.socket).containers.list(
                all=True, filters={"label": HELPER_LABEL})]


def remove_volume(lab: Lab, host: str, name: str) -> None:
    client = engine(lab.host(host).socket)
    for container in client.containers.list(all=True, filters={"volume": name}):
        container.remove(force=True)
    for volume in client.volumes.list(filters={"name": name}):
        if volume.name == name:
            volume.remove(force=True)


@pytest.fixture
def filled(lab: Lab):
    names = {"lab1": [VOLUME], "lab2": ["corral-vt-restored"], "lab3": [VOLUME]}
    for host, volumes in names.items():
        for name in volumes:
            remove_volume(lab, host, name)
    run_on(lab.host("lab1").socket, VOLUME, FILL)
    yield run_on(lab.host("lab1").socket, VOLUME, LIST)
    for host, volumes in names.items():
        for name in volumes:
            remove_volume(lab, host, name)


def test_export_import_copy_arrive_byte_identical(lab: Lab, filled: str,
                                                  tmp_path: Path) -> None:
    assert "999:998" in filled and "random.bin" in filled and "-> '/etc/passwd'" in filled
    tar_path = tmp_path / "data.tar"

    exported = corral(lab, "volumes", "export", f"lab1/{VOLUME}", "-o", str(tar_path), "--json")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["bytes"] == tar_path.stat().st_size > 4_000_000
    assert tar_path.stat().st_mode & 0o777 == 0o600
    with tarfile.open(tar_path) as tar:  # a plain tar of the volume's files under ./
        names = tar.getnames()
        assert {"./d/f", "./d/e/random.bin", "./link"} <= set(names)
        assert tar.getmember("./d/f").uid == 999

    imported = corral(lab, "volumes", "import", str(tar_path), "lab2/corral-vt-restored",
                      "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["created"] is True

    copied = corral(lab, "volumes", "copy", f"lab1/{VOLUME}", "lab3")
    assert copied.returncode == 0, copied.stderr
    assert copied.stdout.startswith(f"Copied lab1/{VOLUME} to lab3/{VOLUME} (created): ")

    assert run_on(lab.host("lab2").socket, "corral-vt-restored", LIST) == filled
    assert run_on(lab.host("lab3").socket, VOLUME, LIST) == filled
    assert run_on(lab.host("lab1").socket, VOLUME, LIST) == filled  # the source untouched
    assert helpers_left(lab) == []

    # lab3's volume now holds files: off a terminal, only --yes writes into it.
    again = corral(lab, "volumes", "copy", f"lab1/{VOLUME}", "lab3")
    assert again.returncode == 1
    assert again.stderr == (f"corral: lab3: volume {VOLUME} already holds files; not confirmed"
                            " (--yes confirms off a terminal), nothing written\n")
    assert corral(lab, "volumes", "copy", f"lab1/{VOLUME}", "lab3", "--yes").returncode == 0
    assert helpers_left(lab) == []


def test_a_running_writer_is_refused_unless_live(lab: Lab, filled: str,
                                                 tmp_path: Path) -> None:
    client = engine(lab.host("lab1").socket)
    writer = client.containers.run(
        IMAGE, ["sh", "-c", "while :; do date > /v/clock; sleep 0.2; done"], detach=True,
        name="corral-vt-writer", volumes={VOLUME: {"bind": "/v", "mode": "rw"}})
    try:
        tar_path = tmp_path / "live.tar"
        for argv in (("export", f"lab1/{VOLUME}", "-o", str(tar_path)),
                     ("copy", f"lab1/{VOLUME}", "lab3")):
            refused = corral(lab, "volumes", *argv)
            assert refused.returncode == 1
            assert refused.stderr.startswith(f"corral: lab1: volume {VOLUME} is mounted "
                                             "read-write by running container corral-vt-writer;")
            assert len(refused.stderr.splitlines()) == 1
        assert not tar_path.exists()
        assert VOLUME not in [v.name for v in engine(lab.host("lab3").socket).volumes.list()]
        live = corral(lab, "volumes", "export", f"lab1/{VOLUME}", "-o", str(tar_path), "--live")
        assert live.returncode == 0, live.stderr
        with tarfile.open(tar_path) as tar:
            assert "./clock" in tar.getnames()
    finally:
        writer.remove(force=True)
    assert helpers_left(lab) == []


def test_read_only_refuses_every_transfer(lab: Lab, filled: str, tmp_path: Path) -> None:
    tar_path = tmp_path / "ro.tar"
    tar_path.write_bytes(b"")
    for argv in (("export", f"lab1/{VOLUME}", "-o", str(tmp_path / "x.tar")),
                 ("copy", f"lab1/{VOLUME}", "lab3", "--yes")):
        refused = corral(lab, "--readonly", "volumes", *argv)
        assert refused.returncode == 1
        assert refused.stderr.startswith("corral: read-only (--readonly): refusing to volume.")
    assert not (tmp_path / "x.tar").exists()
    assert helpers_left(lab) == []


def test_a_bad_tar_is_refused_before_any_host_and_an_engine_error_leaves_nothing(
        lab: Lab, tmp_path: Path) -> None:
    escaping = tmp_path / "escape.tar"
    with tarfile.open(escaping, "w") as tar:
        info = tarfile.TarInfo("../../etc/cron.d/evil")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    refused = corral(lab, "volumes", "import", str(escaping), "lab2/corral-vt-bad")
    assert refused.returncode == 2
    assert refused.stderr == (f"corral: {escaping}: member '../../etc/cron.d/evil' is a path"
                              " that climbs out with '..'; refusing the archive (nothing was"
                              " sent)\n")

    # Passes Corral's check, but the engine cannot extract it: a hard link to a
    # member the archive does not hold.
    broken = tmp_path / "broken.tar"
    with tarfile.open(broken, "w") as tar:
        info = tarfile.TarInfo("./orphan")
        info.type = tarfile.LNKTYPE
        info.linkname = "./missing"
        tar.addfile(info)
    failed = corral(lab, "volumes", "import", str(broken), "lab2/corral-vt-bad")
    assert failed.returncode == 1
    assert failed.stderr.startswith("corral: lab2: ")
    assert len(failed.stderr.splitlines()) == 1
    assert helpers_left(lab) == []
    assert "corral-vt-bad" not in [v.name for v in engine(lab.host("lab2").socket).volumes.list()]


#: Runs `corral` in a child process that reports its own peak RSS on stderr. Not
#: `getrusage().ru_maxrss`: Linux carries the parent's high-water mark into a child
#: across fork/vfork + exec (at exec the kernel folds the old address space's peak
#: into the process's), so under pytest that figure was the pytest process's own
#: peak (65-77 MB run alone, 472-503 MB late in a full suite). `VmHWM` is the peak
#: of the child's own address space.
MEASURED = """\
import re, sys
from pathlib import Path
from corral.tui.cli.main import main
code = main(sys.argv[1:])
hwm = re.search(r"^VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text(), re.M)
print(f"peak_rss_kb={hwm.group(1)}", file=sys.stderr)
sys.exit(code)
"""


def test_a_large_copy_streams_with_flat_memory(lab: Lab) -> None:
    name = "corral-vt-large"
    for host in ("lab1", "lab2"):
        remove_volume(lab, host, name)
    try:
        run_on(lab.host("lab1").socket, name, "dd if=/dev/urandom of=/v/blob bs=1M count=300"
               " 2>/dev/null && md5sum /v/blob > /v/blob.md5")
        # A whole-volume buffer would be 300 MB; a paused SSH channel that refills
        # its window early grew by about half the bytes copied. The CLI alone
        # (Python, asyncssh, docker-py) is 60-80 MB.
        result = subprocess.run(
            [sys.executable, "-c", MEASURED, "volumes", "copy", f"lab1/{name}", "lab2",
             *lab.corral_args()], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        peak = int(result.stderr.rsplit("peak_rss_kb=", 1)[1]) / 1024
        assert peak < 130, f"peak RSS {peak:.0f} MB for a 300 MB copy"
        assert run_on(lab.host("lab2").socket, name, "cd /v && md5sum -c blob.md5") \
            == "/v/blob: OK\n"
    finally:
        for host in ("lab1", "lab2"):
            remove_volume(lab, host, name)
