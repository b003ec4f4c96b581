"""A tunnel's private directory never outlives the process, closed or not."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

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
