"""Pulling an image on a host (`backends/images/pull.py`) against a fake engine.

The fake engine answers docker-py on a unix socket, as the SSH tunnel does: a
pull's progress stream, the engine's refusals, or silence (the registry behind
a firewall that drops packets: the engine says nothing until it gives up).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import docker
import pytest

from corral.backends import guard
from corral.backends.errors import (
    ActionRefused,
    DockerUnavailable,
    NotFound,
    RegistryDenied,
    RegistryUnreachable,
)
from corral.backends.images import LayerProgress, pull_image, split_reference
from corral.backends.inventory import RegistryLogin

API_VERSION = "1.41"
REGISTRY = "10.9.9.1:5000"
IMAGE = f"{REGISTRY}/team/app:2"
IMAGE_ID = "sha256:" + "ab" * 32

PULL_EVENTS = [
    {"status": "Pulling from team/app", "id": "2"},
    {"status": "Already exists", "progressDetail": {}, "id": "aaaaaaaaaaaa"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "bbbbbbbbbbbb"},
    {"status": "Downloading", "progressDetail": {"current": 4096, "total": 10000},
     "id": "bbbbbbbbbbbb"},
    {"status": "Downloading", "progressDetail": {"current": 10000, "total": 10000},
     "id": "bbbbbbbbbbbb"},
    {"status": "Download complete", "progressDetail": {}, "id": "bbbbbbbbbbbb"},
    {"status": "Extracting", "progressDetail": {"current": 10000, "total": 10000},
     "id": "bbbbbbbbbbbb"},
    {"status": "Pull complete", "progressDetail": {}, "id": "bbbbbbbbbbbb"},
    {"status": "Digest: sha256:" + "cd" * 32},
    {"status": f"Status: Downloaded newer image for {IMAGE}"},
]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class FakeEngine:
    """Answers each request on a unix socket; `pull` answers POST /images/create."""

    path: str
    pull: Callable[[socket.socket], None]
    ping_answers: bool = True
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(8)
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        # The client may hang up before an answer is all written (a pull that stops
        # reading at its error): that ends the connection, as it would the engine's.
        with conn, contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._requests_on(conn)

    def _requests_on(self, conn: socket.socket) -> None:
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip()
                       for k, _, v in (line.partition(":") for line in lines[1:])}
            url = urlsplit(target)
            self.requests.append(Request(method, url.path, parse_qs(url.query), headers))
            if url.path.endswith("/images/create"):
                self.pull(conn)
                return  # a pull's answer ends its connection here
            if url.path.endswith("/_ping"):
                if not self.ping_answers:
                    _wait_closed(conn)
                    return
                respond(conn, 200, b"OK", "text/plain")
            elif url.path.endswith("/json") and "/images/" in url.path:
                respond(conn, 200, json.dumps({"Id": IMAGE_ID}).encode())
            else:
                respond(conn, 404, b'{"message": "no such route"}')

    def pulls(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/images/create")]


def respond(conn: socket.socket, status: int, body: bytes,
            kind: str = "application/json") -> None:
    conn.sendall(f"HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


def stream(events: list[dict]) -> Callable[[socket.socket], None]:
    """A pull answer: the events, chunked, one JSON object per chunk."""

    def answer(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        for event in events:
            payload = json.dumps(event).encode() + b"\r\n"
            conn.sendall(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        conn.sendall(b"0\r\n\r\n")

    return answer


def refuse(status: int, message: str) -> Callable[[socket.socket], None]:
    """The engine's answer when the pull failed before any progress."""
    return lambda conn: respond(conn, status, json.dumps({"message": message}).encode())


def _wait_closed(conn: socket.socket) -> None:
    conn.settimeout(30)
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


def silent(conn: socket.socket) -> None:
    """A registry behind a dropping firewall: the engine says nothing for a long time."""
    _wait_closed(conn)


@pytest.fixture
def socket_dir() -> Iterator[str]:
    # Not tmp_path: a unix socket path must stay under ~108 bytes.
    directory = tempfile.mkdtemp(prefix="corral-pull-")
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def docker_config(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """An empty Docker client configuration (never the developer's own)."""
    directory = tmp_path / "docker-config"
    directory.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))
    return directory


@pytest.fixture
def engine(socket_dir: str, docker_config) -> Iterator[Callable[..., tuple]]:
    made: list[tuple[FakeEngine, docker.DockerClient]] = []

    def make(pull: Callable[[socket.socket], None], *, readonly: bool = False,
             ping_answers: bool = True) -> tuple[FakeEngine, SimpleNamespace]:
        path = os.path.join(socket_dir, f"e{len(made)}.sock")
        fake = FakeEngine(path, pull, ping_answers=ping_answers)
        client = docker.DockerClient(base_url=f"unix://{path}", version=API_VERSION, timeout=10)
        made.append((fake, client))
        return fake, SimpleNamespace(name="lab9", client=client, readonly=readonly)

    yield make
    for fake, client in made:
        client.close()
        fake.close()


def heard() -> list[tuple[str, str, dict]]:
    """Start recording what the gate tells observers: (verb, outcome, args)."""
    seen: list[tuple[str, str, dict]] = []
    guard.add_observer(lambda m, outcome, _detail: seen.append((m.verb, outcome, dict(m.args))))
    return seen


def test_a_pull_reports_each_layer_and_returns_the_image_id(engine) -> None:
    fake, session = engine(stream(PULL_EVENTS))
    seen = heard()
    progress: list[LayerProgress] = []
    result = pull_image(session, IMAGE, on_progress=progress.append)
    (pull,) = fake.pulls()
    assert pull.query == {"fromImage": [f"{REGISTRY}/team/app"], "tag": ["2"]}
    assert result.image_id == IMAGE_ID
    assert result.digest == "sha256:" + "cd" * 32
    assert result.layers == {"aaaaaaaaaaaa": "Already exists", "bbbbbbbbbbbb": "Pull complete"}
    assert result.downloaded == 10000 and not result.up_to_date
    assert LayerProgress("bbbbbbbbbbbb", "Downloading", 4096, 10000) in progress
    assert progress[-1] == LayerProgress("bbbbbbbbbbbb", "Pull complete", None, None)
    assert {p.layer for p in progress} == {"aaaaaaaaaaaa", "bbbbbbbbbbbb"}  # no image words
    assert seen == [("image.pull", "ok", {"registry": REGISTRY})]


def test_a_silent_registry_fails_fast_as_unreachable(engine) -> None:
    fake, session = engine(silent)
    started = time.monotonic()
    with pytest.raises(RegistryUnreachable) as caught:
        pull_image(session, IMAGE, reach_timeout=0.5)
    elapsed = time.monotonic() - started
    assert elapsed < 3, f"took {elapsed:.1f}s"
    assert str(caught.value) == f"lab9: registry {REGISTRY} unreachable: no answer within 0.5s"
    assert caught.value.registry == REGISTRY and caught.value.host == "lab9"


def test_a_silent_engine_is_the_hosts_problem_not_the_registrys(engine) -> None:
    fake, session = engine(silent, ping_answers=False)
    with pytest.raises(DockerUnavailable):
        pull_image(session, IMAGE, reach_timeout=0.3)


@pytest.mark.parametrize("message", [
    f'Get "https://{REGISTRY}/v2/": dial tcp {REGISTRY}: connect: connection refused',
    f'Get "https://{REGISTRY}/v2/": dial tcp {REGISTRY}: connect: no route to host',
    'Get "https://reg.example/v2/": dial tcp: lookup reg.example on 10.0.0.53:53: no such host',
    f'Get "http://{REGISTRY}/v2/": net/http: TLS handshake timeout',
])
def test_the_engines_network_errors_mean_unreachable(engine, message: str) -> None:
    fake, session = engine(refuse(500, message))
    seen = heard()
    started = time.monotonic()
    with pytest.raises(RegistryUnreachable) as caught:
        pull_image(session, IMAGE)
    assert time.monotonic() - started < 2
    text = str(caught.value)
    assert "\n" not in text and text.startswith(f"lab9: registry {REGISTRY} unreachable: ")
    assert seen[0][:2] == ("image.pull", "failed")


def test_an_unreachable_registry_reported_mid_stream_is_unreachable_too(engine) -> None:
    error = f"Get https://{REGISTRY}/v2/team/app/blobs/x: dial tcp {REGISTRY}: i/o timeout"
    fake, session = engine(stream([PULL_EVENTS[0], {"errorDetail": {"message": error},
                                                    "error": error}]))
    with pytest.raises(RegistryUnreachable):
        pull_image(session, IMAGE)


def test_an_unknown_tag_is_not_found_not_unreachable(engine) -> None:
    message = f"manifest for {IMAGE} not found: manifest unknown: manifest unknown"
    fake, session = engine(refuse(404, message))
    with pytest.raises(NotFound, match="manifest unknown"):
        pull_image(session, IMAGE)


def test_a_readonly_session_refuses_without_asking_the_engine(engine) -> None:
    fake, session = engine(stream(PULL_EVENTS), readonly=True)
    seen = heard()
    with pytest.raises(ActionRefused, match="read-only: refusing to image.pull"):
        pull_image(session, IMAGE)
    assert fake.requests == []
    assert seen == [("image.pull", "refused", {"registry": REGISTRY})]


def test_a_readonly_process_refuses(engine) -> None:
    fake, session = engine(stream(PULL_EVENTS))
    guard.enter_readonly("--readonly")
    with pytest.raises(ActionRefused, match=r"read-only \(--readonly\)"):
        pull_image(session, IMAGE)
    assert fake.requests == []


def auth_of(request: Request) -> dict:
    header = request.headers["x-registry-auth"]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))


def test_the_operators_docker_config_supplies_the_credentials(engine, docker_config) -> None:
    token = base64.b64encode(b"alice:s3cret-pw").decode()
    (docker_config / "config.json").write_text(json.dumps({"auths": {REGISTRY: {"auth": token}}}))
    fake, session = engine(stream(PULL_EVENTS))
    seen = heard()
    pull_image(session, IMAGE)
    assert auth_of(fake.pulls()[0])["username"] == "alice"
    assert "s3cret" not in json.dumps(seen)


def test_passed_credentials_win_for_their_registry(engine, docker_config) -> None:
    fake, session = engine(stream(PULL_EVENTS))
    seen = heard()
    pull_image(session, IMAGE,
               credentials={REGISTRY: {"username": "bob", "password": "hunter2-pw"}})
    sent = auth_of(fake.pulls()[0])
    assert (sent["username"], sent["password"]) == ("bob", "hunter2-pw")
    assert "hunter2" not in json.dumps(seen)


def test_no_credentials_no_header(engine) -> None:
    fake, session = engine(stream(PULL_EVENTS))
    pull_image(session, IMAGE)
    assert "x-registry-auth" not in fake.pulls()[0].headers


def test_references_split_into_registry_repository_and_tag() -> None:
    assert split_reference("busybox") == ("docker.io", "busybox", "latest")
    assert split_reference(IMAGE) == (REGISTRY, f"{REGISTRY}/team/app", "2")
    digest = "sha256:" + "ef" * 32
    assert split_reference(f"{REGISTRY}/team/app@{digest}") == (
        REGISTRY, f"{REGISTRY}/team/app", digest)


def login(password: str = "hunter2-pw") -> RegistryLogin:
    return RegistryLogin(REGISTRY, "bob", password, "/etc/corral/inventory.yaml:7")


def test_a_registries_login_is_sent_and_never_reported(engine) -> None:
    fake, session = engine(stream(PULL_EVENTS))
    seen = heard()
    pull_image(session, IMAGE, credentials={REGISTRY: login()})
    assert auth_of(fake.pulls()[0]) == {"username": "bob", "password": "hunter2-pw",
                                        "serveraddress": REGISTRY}
    assert seen == [("image.pull", "ok", {"registry": REGISTRY})]


def test_refused_credentials_are_one_line_naming_the_entry_not_unreachable(engine) -> None:
    fake, session = engine(refuse(500, "unauthorized: authentication required"))
    seen = heard()
    with pytest.raises(RegistryDenied) as caught:
        pull_image(session, IMAGE, credentials={REGISTRY: login()})
    assert str(caught.value) == (
        f"lab9: registry {REGISTRY} refused the credentials for team/app:2 "
        "(user bob, registries: at /etc/corral/inventory.yaml:7)")
    assert not isinstance(caught.value, RegistryUnreachable)
    assert seen[0][:2] == ("image.pull", "failed")
    assert "hunter2" not in repr(caught.value.args) + json.dumps(seen)


def test_a_registry_wanting_credentials_when_none_were_found_says_so(engine) -> None:
    message = f'Head "http://{REGISTRY}/v2/team/app/manifests/2": no basic auth credentials'
    fake, session = engine(refuse(500, message))
    with pytest.raises(RegistryDenied) as caught:
        pull_image(session, IMAGE)
    assert str(caught.value).startswith(
        f"lab9: registry {REGISTRY} wants credentials for team/app:2 and none were found")
    assert "x-registry-auth" not in fake.pulls()[0].headers


def test_the_docker_config_is_read_at_each_pull_and_named_when_refused(
    engine, docker_config
) -> None:
    fake, session = engine(refuse(500, "unauthorized: authentication required"))
    # Written after the session's client was made: a `docker login` since counts.
    token = base64.b64encode(b"alice:s3cret-pw").decode()
    (docker_config / "config.json").write_text(json.dumps({"auths": {REGISTRY: {"auth": token}}}))
    with pytest.raises(RegistryDenied) as caught:
        pull_image(session, IMAGE)
    assert auth_of(fake.pulls()[0])["username"] == "alice"
    assert str(caught.value).endswith(f"(user alice, from {docker_config}/config.json)")
    assert "s3cret" not in str(caught.value)
