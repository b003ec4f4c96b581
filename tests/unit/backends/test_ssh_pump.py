"""The OpenSSH pump's command line and its fall-backs (`backends/ssh/pump.py`)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from corral.backends.inventory.load import HostSpec, SshTarget
from corral.backends.ssh import pump as P
from corral.backends.ssh.connect import SshSettings
from tests.support.pumps import pumps

__all__ = ["pumps"]  # the fixture, imported for pytest


@pytest.fixture()
def known(tmp_path: Path) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text("10.0.0.1 ssh-ed25519 AAAA\n")
    return path


def spec(**changes) -> HostSpec:
    fields = dict(name="web1", ssh=SshTarget("10.0.0.1", "deploy", 2222),
                  identity=("/keys/id_ed25519",), socket="/run/docker.sock")
    fields.update(changes)
    return HostSpec(**fields)


def option(command: list[str], name: str) -> str:
    values = [command[i + 1].split("=", 1)[1] for i, word in enumerate(command)
              if word == "-o" and command[i + 1].startswith(f"{name}=")]
    assert len(values) == 1, (name, command)
    return values[0]


def test_the_command_is_as_strict_as_corrals_own_connection(known: Path) -> None:
    settings = SshSettings(known_hosts=(str(known), "/nonexistent"), connect_timeout=7,
                           keepalive_interval=1.0, keepalive_count_max=3)
    command = P.ssh_command(spec(), settings, "/tmp/d/docker.sock")
    assert command is not None and command[:2] == ["ssh", "-N"]
    assert option(command, "StrictHostKeyChecking") == "yes"
    assert option(command, "BatchMode") == "yes"
    assert option(command, "UserKnownHostsFile") == str(known)  # only the files that exist
    assert option(command, "GlobalKnownHostsFile") == "none"
    assert option(command, "ExitOnForwardFailure") == "yes"
    assert option(command, "ControlPath") == "none"
    assert option(command, "ProxyJump") == option(command, "ProxyCommand") == "none"
    assert option(command, "ConnectTimeout") == "7"
    assert (option(command, "ServerAliveInterval"), option(command, "ServerAliveCountMax")) \
        == ("1", "3")
    joined = " ".join(command)
    assert "-i /keys/id_ed25519" in joined and "-l deploy" in joined and "-p 2222" in joined
    assert command[-4:] == ["-L", "/tmp/d/docker.sock:/run/docker.sock", "--", "10.0.0.1"]
    assert "-F" not in command  # ~/.ssh/config as for asyncssh (settings.config None)


def test_the_config_file_corral_reads_is_the_one_openssh_reads(known: Path) -> None:
    named = P.ssh_command(spec(), SshSettings(known_hosts=(str(known),),
                                              config=("/etc/corral/ssh_config",)), "/s")
    assert named[named.index("-F") + 1] == "/etc/corral/ssh_config"
    none = P.ssh_command(spec(), SshSettings(known_hosts=(str(known),), config=()), "/s")
    assert none[none.index("-F") + 1] == "/dev/null"


@pytest.mark.parametrize("changes, settings", [
    ({"jump": (SshTarget("bastion"),)}, {}),
    ({"identity": ("/keys/my key",)}, {}),
    ({"ssh": None}, {}),
    ({}, {"config": ("/a", "/b")}),
    ({}, {"known_hosts": ("/nonexistent",)}),
], ids=["jump", "space", "local", "configs", "no-known-hosts"])
def test_hosts_openssh_cannot_reach_as_corral_does_are_not_pumped(
        known: Path, changes: dict, settings: dict) -> None:
    options = {"known_hosts": (str(known),), **settings}
    assert P.ssh_command(spec(**changes), SshSettings(**options), "/s") is None


class Session:
    """A HostSession stand-in for `bulk_client`."""

    def __init__(self, known: Path, timeout: float = 1.0):
        self.name = "web1"
        self.spec = spec()
        self.settings = SshSettings(known_hosts=(str(known),), connect_timeout=timeout)
        self.fallback = FakeClient()
        self.client = FakeClient()

    def stream_client(self):
        return self.fallback


class FakeClient:
    class api:  # noqa: N801 — docker-py's attribute name
        api_version = "1.41"
        timeout = 60


def fake_ssh(directory: Path, script: str) -> None:
    path = directory / "ssh"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.parametrize("script, problem", [
    ("echo 'Host key verification failed.' >&2; exit 255",
     "ssh exited with 255: Host key verification failed."),
    ("exec sleep 60", "OpenSSH did not forward in time"),
], ids=["refused", "hangs"])
def test_a_child_that_does_not_forward_is_reaped_and_the_session_is_used(
        tmp_path: Path, known: Path, monkeypatch, pumps: list, script: str,
        problem: str) -> None:
    fake_ssh(tmp_path, script)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(P, "START_SLACK", 0.3)
    session = Session(known, timeout=0.5)
    with P.bulk_client(session) as (client, pump):
        assert client is session.fallback and pump is None
    [tried] = pumps
    assert tried.problem == problem
    assert tried.process is None and tried._directory is None  # reaped, directory removed


def test_no_ssh_or_switched_off_means_the_session(tmp_path: Path, known: Path,
                                                  monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no ssh there
    session = Session(known)
    with P.bulk_client(session) as (client, pump):
        assert client is session.fallback and pump is None
    monkeypatch.setenv("CORRAL_OPENSSH_PUMP", "0")
    assert not P.pump_enabled()


LATE_LISTENER = """\
import socket, sys, time
local = sys.argv[sys.argv.index("-L") + 1].split(":", 1)[0]
server = socket.socket(socket.AF_UNIX)
server.bind(local)   # the path is there now, but a connect is refused...
time.sleep(0.4)
server.listen(1)     # ...until OpenSSH listens on it
while True:
    conn, _ = server.accept()
    request = b""
    while b"\\r\\n\\r\\n" not in request:
        request += conn.recv(65536) or b"\\r\\n\\r\\n"
    conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nOK")
    conn.close()
"""


def test_a_child_between_bind_and_listen_is_asked_again(tmp_path: Path, known: Path,
                                                         monkeypatch, pumps: list) -> None:
    # CI saw a push fall back to the session: "Connection refused" from a child
    # whose socket was bound and not yet listening.
    (tmp_path / "late.py").write_text(LATE_LISTENER)
    fake_ssh(tmp_path, f'exec {sys.executable} {tmp_path / "late.py"} "$@"')
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    session = Session(known, timeout=1.0)
    with P.bulk_client(session) as (client, pump):
        assert pump is not None, pumps[0].problem
        assert client is not session.fallback
        assert client.api.ping()
    assert pump.process is None  # reaped


def test_only_a_refused_connect_is_asked_again() -> None:
    import requests
    import urllib3

    refused = requests.ConnectionError(urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionRefusedError(111, "Connection refused")))
    assert P._refused(refused)
    reset = requests.ConnectionError(urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer")))
    assert not P._refused(reset)
    assert not P._refused(RuntimeError("engine said no"))
