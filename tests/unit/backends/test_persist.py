"""Persisted engine tunnels: their names, their private directory, stale ones, stopping them,
and a warm read that imports neither asyncssh nor docker-py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from corral.backends.inventory.load import HostSpec, SshTarget
from corral.backends.ssh import persist
from corral.backends.ssh.settings import SshSettings
from corral.tui.config import Config


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch):
    """A short private XDG_RUNTIME_DIR (socket paths are limited to ~100 bytes)."""
    base = tempfile.mkdtemp(prefix="cp-", dir="/tmp")
    monkeypatch.setenv("XDG_RUNTIME_DIR", base)
    monkeypatch.setenv("CORRAL_PERSIST", "1")
    yield Path(base)
    subprocess.run(["rm", "-rf", base], check=False)


def spec(tmp_path: Path, **changes) -> HostSpec:
    key = tmp_path / "id_ed25519"
    if not key.exists():
        key.write_text("not a real key\n")
        key.chmod(0o600)
    values = {"name": "edge1", "ssh": SshTarget("deploy", "10.0.0.5", 22),
              "identity": (str(key),), "socket": "/var/run/docker.sock"}
    values.update(changes)
    return HostSpec(**values)


def settings(tmp_path: Path) -> SshSettings:
    known = tmp_path / "known_hosts"
    if not known.exists():
        known.write_text("10.0.0.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne\n")
    return SshSettings(known_hosts=(str(known),), config=())


def test_the_name_changes_with_anything_that_decides_whom_and_how_we_trust(tmp_path):
    base = persist.key(spec(tmp_path), settings(tmp_path))
    assert persist.key(spec(tmp_path), settings(tmp_path)) == base
    assert persist.key(spec(tmp_path, name="other"), settings(tmp_path)) == base  # a label
    changed = [
        spec(tmp_path, ssh=SshTarget("deploy", "10.0.0.5", 2222)),
        spec(tmp_path, ssh=SshTarget("root", "10.0.0.5", 22)),
        spec(tmp_path, ssh=SshTarget("deploy", "10.0.0.6", 22)),
        spec(tmp_path, socket="/run/other.sock"),
        spec(tmp_path, jump=(SshTarget("ops", "bastion", 22),)),
        spec(tmp_path, identity=(str(tmp_path / "other_key"),)),
    ]
    for other in changed:
        assert persist.key(other, settings(tmp_path)) != base, other
    # the same key path with another key in it
    time.sleep(0.01)
    (tmp_path / "id_ed25519").write_text("another key, same path\n")
    assert persist.key(spec(tmp_path), settings(tmp_path)) != base
    now = persist.key(spec(tmp_path), settings(tmp_path))
    # known_hosts trusting another key for the host
    (tmp_path / "known_hosts").write_text("10.0.0.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwo\n")
    assert persist.key(spec(tmp_path), settings(tmp_path)) != now


def test_the_directory_must_be_ours_and_private(runtime: Path):
    path = persist.runtime_dir(create=True)
    assert path == str(runtime / "corral-persist")
    assert os.stat(path).st_mode & 0o777 == 0o700
    os.chmod(path, 0o750)
    assert persist.runtime_dir() is None
    os.chmod(path, 0o700)
    os.chown(path, 4321, -1)  # another user's (the tests run as root)
    assert persist.runtime_dir() is None
    os.rmdir(path)
    os.symlink(str(runtime), path)
    assert persist.runtime_dir() is None


def test_nothing_persists_when_switched_off(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CORRAL_PERSIST", "0")
    assert not persist.enabled(300)
    monkeypatch.setenv("CORRAL_PERSIST", "1")
    assert persist.enabled(300) and not persist.enabled(0)
    assert Config().persist_seconds == persist.DEFAULT_SECONDS


def test_stale_files_go_and_live_ones_stay(runtime: Path, tmp_path: Path):
    directory = Path(persist.runtime_dir(create=True))
    (directory / "dead.lock").write_text(json.dumps({"pid": 999999, "host": "x"}))
    (directory / "dead.sock").write_text("")
    lock = persist.take_lock(str(directory / "live"), spec(tmp_path))
    assert lock is not None
    try:
        assert persist.take_lock(str(directory / "live"), spec(tmp_path)) is None  # held
        found = persist.running()
        assert [(item.host, item.pid, item.key) for item in found] == \
            [("edge1", os.getpid(), "live")]
        assert not (directory / "dead.lock").exists() and not (directory / "dead.sock").exists()
    finally:
        os.close(lock)
    assert persist.running() == []  # its lock released: stale now


def test_a_socket_that_does_not_answer_is_forgotten(runtime: Path):
    directory = Path(persist.runtime_dir(create=True))
    (directory / "k.lock").write_text("{}")
    (directory / "k.sock").write_text("")
    persist.forget(str(directory / "k.sock"))
    assert list(directory.iterdir()) == []


def test_disconnect_stops_the_process_holding_the_lock(runtime: Path, tmp_path: Path):
    directory = Path(persist.runtime_dir(create=True))
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from corral.backends.inventory.load import HostSpec, SshTarget
        from corral.backends.ssh import persist
        fd = persist.take_lock({str(directory / 'abc')!r},
                               HostSpec('lab9', SshTarget('root', 'h', 22)))
        print('locked' if fd is not None else 'busy', flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert [item.host for item in persist.running()] == ["lab9"]
        assert persist.disconnect_persisted(["other"]) == []
        stopped = persist.disconnect_persisted(["lab9"])
        assert [(item.host, item.pid) for item in stopped] == [("lab9", holder.pid)]
        assert holder.wait(5) != 0
        assert persist.running() == []
    finally:
        holder.kill()
        holder.wait()


FAKE_ENGINE = """
import http.server, json, os, socketserver, sys

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/version"):
            body = {"ApiVersion": "1.41", "Version": "fake"}
        elif self.path.startswith("/v1.41/containers/json"):
            body = [{"Id": "abc", "Names": ["/web-1"], "Image": "web:1", "State": "running",
                     "Status": "Up", "Labels": {"io.rancher.stack.name": "shop"}}]
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

class Server(socketserver.UnixStreamServer):
    def get_request(self):
        request, _ = super().get_request()
        return request, ("local", 0)

server = Server(sys.argv[1], Handler)
print("ready", flush=True)
server.serve_forever()
"""


def test_a_warm_ps_reads_through_the_persisted_socket_without_asyncssh_or_docker(
        runtime: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The whole point: a second `corral ps` loads no SSH library and no docker-py."""
    monkeypatch.setenv("HOME", str(tmp_path))
    spec(tmp_path)  # writes the key file
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(textwrap.dedent(f"""\
        hosts:
          - name: edge1
            ssh: deploy@10.0.0.5:22
            identity: {tmp_path / 'id_ed25519'}
            socket: /var/run/docker.sock
        """))
    from corral.backends.inventory import load_inventory
    host = load_inventory(inventory).hosts[0]
    directory = Path(persist.runtime_dir(create=True))
    settings(tmp_path)  # writes known_hosts
    as_the_cli_makes_them = SshSettings(known_hosts=(str(tmp_path / "known_hosts"),))
    base = directory / persist.key(host, as_the_cli_makes_them)
    lock = persist.take_lock(str(base), host)
    engine = subprocess.Popen([sys.executable, "-c", FAKE_ENGINE, f"{base}.sock"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert engine.stdout.readline().strip() == "ready"
        probe = textwrap.dedent(f"""
            import sys
            from corral.tui.cli.main import main
            code = main(["--inventory", {str(inventory)!r}, "--known-hosts",
                         {str(tmp_path / 'known_hosts')!r}, "ps", "--json"])
            heavy = [name for name in ("asyncssh", "docker", "requests") if name in sys.modules]
            print("HEAVY", heavy, code, file=sys.stderr)
        """)
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              timeout=60, env={**os.environ, "HOME": str(tmp_path)})
        assert "HEAVY [] 0" in done.stderr, done.stderr
        rows = json.loads(done.stdout)
        assert [(row["host"], row["name"], row["stack"]) for row in rows] == \
            [("edge1", "web-1", "shop")]
    finally:
        engine.kill()
        engine.wait()
        os.close(lock)


def test_asyncssh_loads_without_asking_the_toolchain_for_liboqs():
    """`ctypes.util.find_library` runs ldconfig, gcc and ld: never for liboqs."""
    probe = textwrap.dedent("""
        import ctypes.util
        asked = []
        real = ctypes.util.find_library
        def spy(name):
            asked.append(name)
            return real(name)
        ctypes.util.find_library = spy
        from corral.backends.sshlib import asyncssh
        import asyncssh.crypto.pq
        print([name for name in asked if "oqs" in name])
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.strip() == "[]"


def test_the_engine_http_client_turns_statuses_into_our_errors(tmp_path: Path):
    from corral.backends.errors import HostOffline, NotFound
    from corral.backends.ssh import engine_http
    path = str(tmp_path / "e.sock")
    engine = subprocess.Popen([sys.executable, "-c", FAKE_ENGINE, path],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert engine.stdout.readline().strip() == "ready"
        assert engine_http.get_json(path, "/version", host="h", timeout=5)["ApiVersion"] == "1.41"
        with pytest.raises(NotFound):
            engine_http.get_json(path, "/v1.41/nothing", host="h", timeout=5)
    finally:
        engine.kill()
        engine.wait()
    with pytest.raises(HostOffline):
        engine_http.get_json(str(tmp_path / "none.sock"), "/version", host="h", timeout=5)
