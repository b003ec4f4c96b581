"""Pins on the private internals that volume transfers and the SSH window fix reach into.

Kept beside `test_dependency_internals.py` (same helpers, same failure
messages) so the two branches merge without touching one file; fold in at will.
"""

from __future__ import annotations

import inspect
import io
import tarfile

import asyncssh
import asyncssh.channel

from corral.backends.volumes import transfer
from tests.unit.test_dependency_internals import (
    DOCKER,
    FakeEngine,
    chunk,
    docker_client,
    engine_path,  # noqa: F401 (the fixture)
    pin,
    relied_on,
)

VOLUMES_USER = "corral.backends.volumes.transfer._archive_response and _stream_chunks"
WINDOW_USER = "corral.backends.ssh.window.install (a paused channel's window refill)"


def test_the_archive_is_read_raw_and_uncompressed(engine_path: str) -> None:  # noqa: F811
    body = b"".join(chunk(part) for part in (b"a" * 1000, b"b" * 3000)) + b"0\r\n\r\n"
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    engine = FakeEngine(engine_path, lambda conn, _: conn.sendall(head + body))
    client = docker_client(engine_path)
    session = type("Session", (), {"name": "pin", "call": lambda self, m, *a: m(client, *a)})()
    message = pin(DOCKER, "APIClient._get(url, params=, stream=True, headers=) and "
                  "response.raw.stream(amt, decode_content=False)", VOLUMES_USER,
                  "that the archive still arrives as the engine's bytes, de-chunked")
    try:
        with relied_on(message), transfer._archive(session, "abc") as chunks:
            data = b"".join(chunks)
        engine.join()
    finally:
        client.close()
    assert data == b"a" * 1000 + b"b" * 3000, message
    request = engine.request.decode("latin-1")
    assert request.startswith("GET /v1.43/containers/abc/archive?path=%2Fcorral-volume%2F."), \
        message + f"\n  The request was: {request[:200]!r}"
    # Without it the engine gzips the tar, and an export would not be a plain tar.
    assert "accept-encoding: identity" in request.lower(), message


def test_a_tar_stream_reads_through_the_chunk_reader() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("./x"), io.BytesIO(b""))
    parts = iter([buffer.getvalue()[:700], buffer.getvalue()[700:]])
    with tarfile.open(fileobj=transfer._ChunkReader(parts), mode="r|") as tar:
        assert [member.name for member in tar] == ["./x"]


def test_a_channel_refills_its_window_as_window_py_expects() -> None:
    source = inspect.getsource(asyncssh.channel)
    message = pin("asyncssh", "SSHChannel._deliver_data/_accept_data window accounting "
                  "(_recv_buf, _recv_window, _init_recv_window)", WINDOW_USER,
                  "whether the new asyncssh still refills the whole window on the first "
                  "packet delivered after a pause (if fixed upstream, drop window.py)")
    assert list(inspect.signature(asyncssh.channel.SSHChannel._deliver_data).parameters) \
        == ["self", "data", "datatype"], message
    for line in ("self._recv_buf.append((data, datatype))",
                 "self._deliver_data(*self._recv_buf.pop(0))",
                 "if self._recv_window < self._init_recv_window / 2:",
                 "self._recv_window = self._init_recv_window"):
        assert line in source, message + f"\n  Missing: {line}"
