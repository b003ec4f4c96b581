"""A tunnel's private directory never outlives the process, closed or not."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import tempfile

from corral.backends.ssh.tunnel import DockerTunnel, private_directory


def test_close_removes_the_directory_once() -> None:
    tunnel = DockerTunnel(private_directory("lab1"), "forward")
    assert os.stat(tunnel.directory).st_mode & 0o777 == 0o700
    tunnel.close()
    tunnel.close()
    assert not os.path.exists(tunnel.directory)


def test_a_tunnel_dropped_unclosed_removes_its_directory() -> None:
    tunnel = DockerTunnel(private_directory("lab1"), "forward")
    directory = tunnel.directory
    del tunnel
    gc.collect()
    assert not os.path.exists(directory)


def test_a_process_that_exits_without_closing_leaves_nothing() -> None:
    code = ("from corral.backends.ssh.tunnel import DockerTunnel, private_directory\n"
            "kept = DockerTunnel(private_directory('lab1'), 'forward')\n"
            "print(kept.directory)\n")
    directory = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True).stdout.strip()
    assert directory and not os.path.exists(directory)


def test_the_directory_of_a_killed_process_is_removed_by_the_next(monkeypatch) -> None:
    base = tempfile.mkdtemp(prefix="ct-", dir="/tmp")  # short: socket paths are bounded
    monkeypatch.setenv("XDG_RUNTIME_DIR", base)
    code = ("import os\n"
            "from corral.backends.ssh.tunnel import DockerTunnel, private_directory\n"
            "kept = DockerTunnel(private_directory('lab1'), 'forward')\n"
            "print(kept.directory, flush=True)\n"
            "os._exit(0)\n")  # as SIGKILL would end it: no clean-up runs
    try:
        orphan = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.strip()
        assert os.path.dirname(orphan) == base and os.path.isdir(orphan)
        unmarked = os.path.join(base, "corral-lab-mine")  # not a tunnel's: left alone
        os.mkdir(unmarked)
        live = DockerTunnel(private_directory("lab2"), "forward")
        assert not os.path.exists(orphan)
        assert os.path.isdir(unmarked)
        fresh = DockerTunnel(private_directory("lab3"), "forward")
        assert os.path.isdir(live.directory)  # this process is alive: its directory stays
        fresh.close()
        live.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)
