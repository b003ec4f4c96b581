"""Kept engine connections: reads repeated every few seconds reuse one connection."""

from __future__ import annotations

import http.server
import json
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.backends.errors import HostOffline, NotFound
from corral.backends.ssh.engine_http import KeptConnections


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the Docker engine answers

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        self.server.connections.add(id(self.connection))  # type: ignore[attr-defined]
        if not self.path.startswith("/v1.41/containers/abc/stats"):
            self.send_error(404)
            return
        data = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        request, _ = super().get_request()
        return request, ("local", 0)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[_Server]:
    server = _Server(str(tmp_path / "engine.sock"), _Handler)
    server.connections = set()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_repeated_reads_share_one_connection(engine: _Server) -> None:
    kept = KeptConnections(engine.server_address, host="lab1", timeout=5)
    for _ in range(5):
        answer = kept.get_json("/v1.41/containers/abc/stats", {"stream": "false",
                                                               "one-shot": "true"})
        assert answer == {"path": "/v1.41/containers/abc/stats?stream=false&one-shot=true"}
    assert len(engine.connections) == 1  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        kept.get_json("/v1.41/containers/gone/stats")
    kept.close()


def test_a_connection_closed_meanwhile_is_replaced_once(engine: _Server) -> None:
    kept = KeptConnections(engine.server_address, host="lab1", timeout=5)
    kept.get_json("/v1.41/containers/abc/stats")
    for conn in kept._idle:  # the engine (or the tunnel) dropped it while idle
        conn.sock.close()
    assert kept.get_json("/v1.41/containers/abc/stats")["path"].endswith("/stats")


def test_an_engine_that_is_gone_is_a_host_offline_error(tmp_path: Path) -> None:
    kept = KeptConnections(str(tmp_path / "none.sock"), host="lab1", timeout=5)
    with pytest.raises(HostOffline, match="lost the connection"):
        kept.get_json("/v1.41/containers/abc/stats")
