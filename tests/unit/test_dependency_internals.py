"""Pins on the private internals of dependencies that Corral reaches into.

In a few places Corral goes past the documented API of docker-py, urllib3
(and the `http.client` and `socket` objects under it), Textual, pyte and
asyncssh. Each test here drives one such reach, through the Corral code that
relies on it wherever that is cheap (an in-process fake engine on a unix
socket, a socketpair, a tiny Textual app), and fails with a message naming
the library and its installed version, the internal, the Corral function that
uses it and what to look at in the new release. A dependency bump that moves
one of these internals then fails here, not in a user's console.

Each reach in the product code carries a comment pointing here.
"""

from __future__ import annotations

import contextlib
import http.client
import inspect
import io
import os
import platform
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from importlib.metadata import version
from types import SimpleNamespace

import asyncssh
import docker
import pyte
import pytest
import requests
import urllib3
from rich.console import Console
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingsMap
from textual.scroll_view import ScrollView
from textual.widget import Widget
from textual.widgets import DataTable, Input

from corral.backends.errors import BackendError, NotFound
from corral.backends.exec.attach import ExecRequest, ExecStream, _buffered_bytes
from corral.backends.logs.demux import STDERR, STDOUT, LogLine
from corral.backends.logs.follow import LogSource
from corral.backends.logs.reader import ContainerReader, _socket_of
from corral.backends.logs.spool import LogHistory
from corral.tui.console.key_order import InOrderKeys
from corral.tui.console.keys_help import binding_rows
from corral.tui.console.widgets.command_line import CommandLine
from corral.tui.console.widgets.logs.format import LineLook
from corral.tui.console.widgets.logs.lines import LogLines
from corral.tui.console.widgets.measured_table import MeasuredTable, cell_width
from corral.tui.console.widgets.terminal.render import RowRenderer
from corral.tui.console.widgets.terminal.screen import TerminalScreen, make_stream

# --- How a broken pin reports itself -------------------------------------------


def installed(*distributions: str) -> str:
    """The installed versions, e.g. `docker 7.1.0, urllib3 2.2.3`."""
    found = []
    for name in distributions:
        if name == "python":
            found.append(f"Python {platform.python_version()}")
            continue
        try:
            found.append(f"{name} {version(name)}")
        except Exception:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def pin(library: str, internal: str, user: str, check: str) -> str:
    """The failure message of one pin: what broke, who relies on it, what to look at."""
    return (
        f"\n{installed(*library.split('+'))}: {internal} changed or is gone.\n"
        f"  Relied on by: {user}\n"
        f"  Check: {check}\n"
        "  (pinned by tests/unit/test_dependency_internals.py)"
    )


@contextlib.contextmanager
def relied_on(message: str) -> Iterator[None]:
    """Turn any error raised by the reach (not an assertion) into `message`."""
    try:
        yield
    except AssertionError:
        raise
    except Exception as exc:
        pytest.fail(f"{message}\n  Raised: {type(exc).__name__}: {exc}")


def parameters(function: Callable) -> list[str]:
    return list(inspect.signature(function).parameters)


# --- A fake engine on a unix socket (what the SSH tunnel gives docker-py) -------

API_VERSION = "1.43"


def read_request(conn: socket.socket) -> bytes:
    """One HTTP request: the headers and a Content-Length body, if any."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


class FakeEngine:
    """Answers one HTTP request on a unix socket with `answer(conn, request)`."""

    def __init__(self, path: str, answer: Callable[[socket.socket, bytes], None]):
        self.request = b""
        self.error: BaseException | None = None
        self._answer = answer
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        self._listener.listen(1)
        self._listener.settimeout(10)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self._listener.accept()
            with conn:
                conn.settimeout(10)
                self.request = read_request(conn)
                self._answer(conn, self.request)
        except BaseException as exc:  # reported by join()
            self.error = exc
        finally:
            self._listener.close()

    def join(self) -> None:
        self._thread.join(10)
        assert not self._thread.is_alive(), "the fake engine never finished its answer"
        if self.error is not None:
            raise self.error


@pytest.fixture
def engine_path() -> Iterator[str]:
    # Not tmp_path: a unix socket path must stay under ~108 bytes.
    directory = tempfile.mkdtemp(prefix="corral-pin-")
    try:
        yield os.path.join(directory, "docker.sock")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def docker_client(path: str) -> docker.DockerClient:
    """A client as HostSession builds one (a fixed version: no /version call)."""
    return docker.DockerClient(base_url=f"unix://{path}", version=API_VERSION, timeout=10)


def chunk(payload: bytes) -> bytes:
    return f"{len(payload):x}\r\n".encode() + payload + b"\r\n"


def frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


# =============================================================================
# docker-py
# =============================================================================

DOCKER = "docker+requests+urllib3"
LOGS_USER = "corral.backends.logs.reader.ContainerReader._stream_once"
EXEC_USER = "corral.backends.exec.attach.ExecStream (__init__ and _buffered_bytes)"


def test_apiclient_private_request_helpers_keep_their_shape() -> None:
    api = docker.APIClient(base_url="unix:///nonexistent/docker.sock", version=API_VERSION)
    check = "the new docker-py's APIClient.logs (api/container.py) and api/client.py"
    calls = {
        "_get": (("http+docker://localhost/x",), {"params": {"tail": "all"}, "stream": True}),
        "_url": (("/containers/{0}/logs", "abc"), {}),
        "_raise_for_status": ((requests.Response(),), {}),
    }
    for name, (args, kwargs) in calls.items():
        method = getattr(api, name, None)
        message = pin(DOCKER, f"docker.APIClient.{name}", LOGS_USER, check)
        assert callable(method), message
        with relied_on(message + "\n  It no longer takes the arguments Corral passes."):
            inspect.signature(method).bind(*args, **kwargs)
    with relied_on(pin(DOCKER, "APIClient._url", LOGS_USER, check)):
        url = api._url("/containers/{0}/logs", "abc")
    api.close()
    assert url == f"http+docker://localhost/v{API_VERSION}/containers/abc/logs", pin(
        DOCKER, "APIClient._url's versioned URL", LOGS_USER, check
    )


def logs_reader(client: docker.DockerClient, sunk: list) -> ContainerReader:
    session = SimpleNamespace(name="pin", stream_client=lambda: client)
    gate = SimpleNamespace(generation=1, session=session)
    follower = ContainerReader(
        gate, "abc", 0, lambda item: sunk.append((item, follower._socket)) or True,
        threading.Event(), tail=10,
    )
    return follower


def test_logs_are_read_raw_from_the_response_under_requests(engine_path: str) -> None:
    stamp = b"2026-01-02T03:04:05.000000001Z "
    body = chunk(frame(STDOUT, stamp + b"hello\n")) + chunk(frame(STDERR, stamp + b"oops\n"))
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    engine = FakeEngine(engine_path, lambda conn, _: conn.sendall(head + body + b"0\r\n\r\n"))
    client = docker_client(engine_path)
    sunk: list = []
    message = pin(
        DOCKER,
        "APIClient._get/_url/_raise_for_status and requests' response.raw._fp.fp "
        "(urllib3 HTTPResponse -> http.client.HTTPResponse -> its buffered reader)",
        LOGS_USER,
        "that _get(url, params=, stream=True) still returns a requests.Response whose "
        "raw._fp.fp is the socket's io.BufferedReader positioned at the (chunked) body",
    )
    try:
        with relied_on(message):
            clean = logs_reader(client, sunk)._stream_once(tty=False)
        engine.join()
    finally:
        client.close()
    assert engine.request.startswith(
        f"GET /v{API_VERSION}/containers/abc/logs?".encode()
    ), message + f"\n  The request was: {engine.request[:200]!r}"
    assert clean is True, message + "\n  The terminating chunk was not seen."
    lines = [line for batch, _ in sunk for line in batch]
    assert [(line.stream, line.text) for line in lines] == [
        (STDOUT, "hello"), (STDERR, "oops")
    ], message
    assert isinstance(sunk[0][1], socket.socket), pin(
        "docker+urllib3+python",
        "the socket under response.raw._fp.fp (io.BufferedReader.raw -> socket.SocketIO._sock)",
        "corral.backends.logs.reader._socket_of (ContainerReader.abort and the follow "
        "timeout need the socket)",
        "how the new urllib3/http.client build the response's file object",
    )


def test_an_engine_refusal_is_raised_by_raise_for_status(engine_path: str) -> None:
    body = b'{"message": "No such container: abc"}'
    head = (
        b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    engine = FakeEngine(engine_path, lambda conn, _: conn.sendall(head + body))
    client = docker_client(engine_path)
    message = pin(
        DOCKER, "APIClient._get/_url/_raise_for_status (a 404 raises docker.errors.NotFound)",
        LOGS_USER, "the new docker-py's _raise_for_status and docker.errors.create_api_error_"
        "from_http_exception",
    )
    try:
        try:
            logs_reader(client, [])._stream_once(tty=False)
        except NotFound:
            pass
        except BackendError as exc:
            pytest.fail(f"{message}\n  Raised instead: {type(exc).__name__}: {exc}")
        else:
            pytest.fail(f"{message}\n  A 404 raised nothing.")
        engine.join()
    finally:
        client.close()


UPGRADED = (
    b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
    b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
)


def exec_answer(conn: socket.socket, _: bytes) -> None:
    """The engine's side of an exec: the upgrade and the first output in one write."""
    conn.sendall(UPGRADED + b"early")
    typed = b""
    while b"ping" not in typed:
        data = conn.recv(64)
        if not data:
            return
        typed += data
    conn.sendall(b"later")
    while conn.recv(64):  # until the client closes
        pass


def read_until(stream: ExecStream, expected: bytes) -> bytes:
    got = b""
    deadline = time.monotonic() + 10
    while expected not in got and time.monotonic() < deadline:
        data = stream.read(0.2)
        if data == b"":
            break
        got += data or b""
    return got


def test_exec_socket_is_the_socketio_docker_py_hands_back(engine_path: str) -> None:
    engine = FakeEngine(engine_path, exec_answer)
    client = docker_client(engine_path)
    check = (
        "what the new docker-py's exec_start(socket=True) returns "
        "(APIClient._get_raw_response_socket)"
    )
    try:
        with relied_on(pin(DOCKER, "APIClient.exec_start(socket=True)", EXEC_USER, check)):
            sockio = client.api.exec_start("e1", tty=True, socket=True)
        assert isinstance(sockio, socket.SocketIO), pin(
            DOCKER, "exec_start(socket=True) returning socket.SocketIO", EXEC_USER, check
        ) + f"\n  It returned: {type(sockio)!r}"
        response = getattr(sockio, "_response", None)
        assert isinstance(response, requests.Response), pin(
            DOCKER, "the `_response` docker-py sets on the exec socket (it also keeps the "
            "socket open: a collected response closes it)",
            "corral.backends.exec.attach._buffered_bytes and ExecStream's socket",
            "APIClient._get_raw_response_socket in the new docker-py",
        )
        assert isinstance(getattr(sockio, "_sock", None), socket.socket), pin(
            "docker+python", "socket.SocketIO._sock (the socket under docker-py's SocketIO)",
            "corral.backends.exec.attach.ExecStream.__init__ (select() and non-blocking send)",
            "how the new Python names the socket inside socket.SocketIO",
        )
        buffered = pin(
            DOCKER, "sockio._response.raw._fp.fp (the reader holding bytes read past the "
            "101 headers)", "corral.backends.exec.attach._buffered_bytes",
            "that _fp.fp is still the io.BufferedReader over the same SocketIO",
        )
        with relied_on(buffered):
            reader = response.raw._fp.fp
        assert isinstance(reader, io.BufferedReader) and reader.raw is sockio, buffered
        with relied_on(pin(DOCKER, "the exec socket", EXEC_USER, check)):
            stream = ExecStream(
                SimpleNamespace(connection=None, online=True, name="pin"), "e1", sockio,
                ExecRequest("web"),
            )
        try:
            # The first output came in the same write as the headers: http.client
            # buffered it, and only `_buffered_bytes` can hand it on.
            assert stream._leftover == b"early", buffered
            # Peeked, not read: the reader keeps them, and ExecStream reads the socket.
            assert _buffered_bytes(sockio) == b"early", buffered
            assert read_until(stream, b"early") == b"early", buffered
            assert stream.write(b"ping"), pin(DOCKER, "the exec socket", EXEC_USER, check)
            assert read_until(stream, b"later") == b"later", pin(
                "docker+python", "SocketIO._sock", EXEC_USER, check
            )
        finally:
            stream.close()
        engine.join()
    finally:
        client.close()


PULL_USER = "corral.backends.images.pull._events (pull_image)"


def test_a_pull_is_docker_pys_own_request_with_a_timeout(engine_path: str,
                                                         monkeypatch) -> None:
    check = ("the new docker-py's APIClient.pull (api/image.py): its request, its "
             "X-Registry-Auth header (docker.auth.get_config_header: load_config, "
             "resolve_authconfig, encode_header) and _stream_helper(decode=True); Corral "
             "sends the same request with a timeout")
    for name in ("load_config", "resolve_authconfig", "encode_header",
                 "resolve_repository_name"):
        assert callable(getattr(docker.auth, name, None)), pin(
            DOCKER, f"docker.auth.{name}", PULL_USER, check)
    assert callable(getattr(docker.utils.config, "find_config_file", None)), pin(
        DOCKER, "docker.utils.config.find_config_file", PULL_USER, check)
    api = docker.APIClient(base_url="unix:///nonexistent/docker.sock", version=API_VERSION)
    assert hasattr(api, "credstore_env"), pin(DOCKER, "APIClient.credstore_env", PULL_USER,
                                              check)
    for name, args, kwargs in (
        ("_post", ("http+docker://localhost/x",),
         {"params": {}, "headers": {}, "stream": True, "timeout": 1.0}),
        ("_stream_helper", (requests.Response(),), {"decode": True}),
    ):
        message = pin(DOCKER, f"docker.APIClient.{name}", PULL_USER, check)
        with relied_on(message + "\n  It no longer takes the arguments Corral passes."):
            inspect.signature(getattr(api, name)).bind(*args, **kwargs)
    api.close()
    monkeypatch.setenv("DOCKER_CONFIG", os.path.dirname(engine_path))

    def answer(conn: socket.socket, _: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n"
                     + chunk(b'{"status":"Pull complete","id":"abc"}\r\n') + b"0\r\n\r\n")

    from corral.backends.images.pull import _Auth, _events

    fake = FakeEngine(engine_path, answer)
    client = docker_client(engine_path)
    session = SimpleNamespace(name="pinned", client=client, readonly=False)
    with relied_on(pin(DOCKER, "the pull request and its stream", PULL_USER, check)):
        events = list(_events(session, client.api, "busybox:1", "docker.io", "busybox", "1",
                              _Auth(), 5.0))
    client.close()
    fake.join()
    assert events == [{"status": "Pull complete", "id": "abc"}], pin(
        DOCKER, "_stream_helper(decode=True)'s decoded messages", PULL_USER, check)
    assert fake.request.startswith(b"POST /v1.43/images/create?"), pin(
        DOCKER, "APIClient._post / _url", PULL_USER, check)


# =============================================================================
# urllib3 (and the http.client / socket objects under it)
# =============================================================================

URLLIB3 = "urllib3+python"


class PairConnection(urllib3.connection.HTTPConnection):
    """An urllib3 connection over a given socket, as docker-py's UnixHTTPConnection is."""

    def __init__(self, sock: socket.socket):
        super().__init__("localhost", timeout=10)
        self._pair = sock

    def connect(self) -> None:
        self.sock = self._pair


def test_urllib3_response_keeps_the_http_client_response_in_fp() -> None:
    client_end, engine_end = socket.socketpair()
    body = chunk(b"hello") + b"0\r\n\r\n"
    engine_end.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    users = (
        "corral.backends.logs.reader.ContainerReader._stream_once (response.raw._fp.fp) and "
        "corral.backends.exec.attach._buffered_bytes (sockio._response.raw._fp.fp)"
    )
    message = pin(
        URLLIB3, "urllib3.response.HTTPResponse._fp (the http.client.HTTPResponse) and its "
        "`fp` (the socket's io.BufferedReader)", users,
        "where the new urllib3 keeps the http.client response (HTTPResponse.__init__, "
        "HTTPConnection.getresponse)",
    )
    try:
        conn = PairConnection(client_end)
        with relied_on(message):
            conn.request("GET", "/containers/abc/logs", preload_content=False)
            response = conn.getresponse()
            original = response._fp
            reader = original.fp
        assert isinstance(response, urllib3.response.HTTPResponse), message
        assert isinstance(original, http.client.HTTPResponse), message
        assert isinstance(reader, io.BufferedReader), message
        # Corral decodes the chunked body itself: nothing may have read or
        # decoded it before, and read1 must hand over the raw bytes.
        with relied_on(message):
            raw = reader.read1(65536)
        assert raw == body, message + f"\n  read1 gave {raw!r}"
        assert _socket_of(reader) is client_end, pin(
            URLLIB3, "io.BufferedReader.raw -> socket.SocketIO._sock",
            "corral.backends.logs.reader._socket_of",
            "how the new Python names the socket inside socket.SocketIO",
        )
    finally:
        client_end.close()
        engine_end.close()


# =============================================================================
# Textual
# =============================================================================

TEXTUAL = "textual"


class PinBase(Widget, can_focus=True):
    BINDINGS = [Binding("x", "base", "Base", id="pin.base", tooltip="inherited")]


class PinLeaf(PinBase):
    BINDINGS = [
        Binding("y", "leaf", "Leaf", id="pin.leaf", tooltip="own"),
        Binding("z", "hidden('a', 'b')", "Hidden", id="pin.hidden"),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "hidden" and parameters == ("a", "b"))


class KeysApp(App):
    BINDINGS = [Binding("f9", "noop", "App key", id="pin.app")]

    def compose(self) -> ComposeResult:
        yield PinLeaf()


async def test_each_node_keeps_its_merged_bindings_in_bindings() -> None:
    message = pin(
        TEXTUAL, "DOMNode._bindings (a BindingsMap whose key_to_bindings maps a key to a "
        "list of Binding, inherited BINDINGS merged in)",
        "corral.tui.console.keys_help.binding_rows (the `?` help screens)",
        "where the new Textual keeps a node's bindings (DOMNode.__init__, "
        "DOMNode._merge_bindings, Screen._binding_chain)",
    )
    app = KeysApp()
    async with app.run_test():
        leaf = app.query_one(PinLeaf)
        with relied_on(message):
            bindings = leaf._bindings
            groups = bindings.key_to_bindings
        assert isinstance(bindings, BindingsMap) and isinstance(groups, dict), message
        assert all(
            isinstance(group, list) and all(isinstance(b, Binding) for b in group)
            for group in groups.values()
        ), message
        assert {"x", "y", "z"} <= set(groups), message + f"\n  Keys: {sorted(groups)}"
        with relied_on(message):
            rows = binding_rows(leaf, app)
        ids = [row[2] for row in rows]
        assert ids[:2] in (["pin.leaf", "pin.base"], ["pin.base", "pin.leaf"]), message
        assert "pin.app" in ids and "pin.hidden" not in ids, message + f"\n  Rows: {rows}"
        assert ("y", "Leaf", "pin.leaf", "own") in rows, message + f"\n  Rows: {rows}"


async def test_the_app_keeps_the_users_keymap_in_keymap() -> None:
    message = pin(
        TEXTUAL, "App._keymap (binding id -> keys, set by App.set_keymap)",
        "corral.tui.console.keys_help.binding_rows (the `?` help shows remapped keys)",
        "where the new Textual keeps the keymap (App.set_keymap, Screen._binding_chain)",
    )
    app = KeysApp()
    app.set_keymap({"pin.leaf": "f2"})
    async with app.run_test() as pilot:
        with relied_on(message):
            keymap = app._keymap
        assert keymap == {"pin.leaf": "f2"}, message + f"\n  Keymap: {keymap}"
        leaf = app.query_one(PinLeaf)
        rows = binding_rows(leaf, app)
        assert ("f2", "Leaf", "pin.leaf", "own") in rows, message + f"\n  Rows: {rows}"
        # ... and it is the key Textual dispatches.
        pressed: list[str] = []
        leaf.action_leaf = lambda: pressed.append("leaf")
        leaf.focus()
        await pilot.press("f2")
        assert pressed == ["leaf"], message


class OrderApp(InOrderKeys):
    def compose(self) -> ComposeResult:
        yield Input("ab", id="first")
        yield Input("", id="second")


async def test_a_key_bubbles_to_the_app_on_the_terms_in_order_keys_follows() -> None:
    message = pin(
        TEXTUAL, "Message._stop_propagation, MessagePump._parent and is_parent_active (a key "
        "bubbles from the focused widget to the app on these terms, its bindings run there)",
        "corral.tui.console.key_order.InOrderKeys (each key sent after the last one finished)",
        "how the new Textual bubbles a Key and where it runs bindings (MessagePump._on_message,"
        " App.on_event, App._on_key)",
    )
    app = OrderApp()
    async with app.run_test() as pilot:
        first, second = app.query(Input)
        first.focus()
        await pilot.pause()
        # End and Tab run through bindings at the app; the letters are taken by the Input.
        for key in ("end", "x", "tab", "y"):
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        for _ in range(40):
            await pilot.pause()
            if second.value:
                break
        with relied_on(message):
            idle = app._key_in_flight is None and not app._held_keys
        assert (first.value, second.value) == ("abx", "y"), message + (
            f"\n  Values: {first.value!r}, {second.value!r}")
        assert idle, message + "\n  A key never finished its way: the others were held back"


class PromptApp(App):
    def compose(self) -> ComposeResult:
        yield CommandLine(["hosts", "images"])


async def test_input_keeps_the_whole_suggested_value_in_suggestion() -> None:
    message = pin(
        TEXTUAL, "Input._suggestion (the whole suggested value, set from the suggester)",
        "corral.tui.console.widgets.command_line.CommandLine.action_complete (tab "
        "completion on the `:` line)",
        "how the new Input stores a SuggestionReady (Input._on_suggestion_ready)",
    )
    app = PromptApp()
    async with app.run_test() as pilot:
        line = app.query_one(CommandLine)
        line.open(":")
        await pilot.press("h", "o")
        for _ in range(20):
            await pilot.pause()
            if getattr(line, "_suggestion", None):
                break
        with relied_on(message):
            suggestion = line._suggestion
        assert suggestion == "hosts", message + f"\n  _suggestion: {suggestion!r}"
        await pilot.press("tab")
        assert line.value == "hosts", message


class LinesApp(App):
    def compose(self) -> ComposeResult:
        yield LogLines(LogHistory(), LineLook([LogSource("lab1", "a" * 12, "web-1")]))


async def test_scroll_update_tells_the_scrollbars_the_virtual_size() -> None:
    message = pin(
        TEXTUAL, "Widget._scroll_update(virtual_size) (updates the scrollbars after "
        "set_reactive(ScrollView.virtual_size, ...) skipped the layout)",
        "corral.tui.console.widgets.logs.lines.LogLines._resize_virtual",
        "what the new Textual's virtual_size watcher calls (Widget._scroll_update, "
        "ScrollView.watch_virtual_size)",
    )
    assert parameters(getattr(ScrollView, "_scroll_update", lambda: None)) == [
        "self", "virtual_size"
    ], message
    app = LinesApp()
    async with app.run_test(size=(60, 12)) as pilot:
        lines = app.query_one(LogLines)
        await pilot.pause()
        with relied_on(message):
            lines.add_lines([LogLine(n, 0, STDOUT, f"line {n}") for n in range(150)])
        # No pause: the scrollbar and the scroll position must be right at once
        # (a scrollbar's window_virtual_size starts at 100: hence 150 lines).
        bar = lines.vertical_scrollbar
        assert lines.virtual_size.height == 150, message
        assert lines.show_vertical_scrollbar and bar.window_size > 0, message
        assert bar.window_virtual_size == 150, message + f"\n  {bar.window_virtual_size=}"
        assert lines.scroll_y == lines.max_scroll_y > 0, message + (
            f"\n  scroll_y={lines.scroll_y} max_scroll_y={lines.max_scroll_y}"
        )


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield MeasuredTable()


async def test_measured_table_measures_cells_as_data_table_does() -> None:
    user = "corral.tui.console.widgets.measured_table (cell_width, MeasuredTable._fit)"
    formatter = pin(
        "textual+rich", "textual.widgets._data_table.default_cell_formatter and "
        "textual.render.measure (how DataTable measures a cell)", user,
        "DataTable._update_column_widths in the new Textual, and make cell_width "
        "measure the same way",
    )
    with relied_on(formatter):
        from textual.render import measure
        from textual.widgets._data_table import default_cell_formatter
    console = Console(width=200)
    cells = ["plain", "[b]bold[/b] and [red]markup[/]", "表情 wide", 3.14159, 42, None,
             Text("rich text"), Text(""), Text("表情 wide"), Text("two\nlines, longer")]
    for cell in cells:
        with relied_on(formatter):
            expected = measure(console, default_cell_formatter(cell, wrap=False, height=1), 1)
        assert cell_width(console, cell) == expected, formatter + f"\n  Cell: {cell!r}"
    column_message = pin(
        TEXTUAL, "DataTable Column.auto_width/content_width/label (auto-width columns "
        "render at content_width)", user,
        "Column.get_render_width and DataTable._update_column_widths in the new Textual",
    )
    app = TableApp()
    async with app.run_test():
        table = app.query_one(MeasuredTable)
        with relied_on(column_message):
            key = table.add_column("NAME")
            column = table.columns[key]
            assert column.auto_width and column.content_width == column.label.cell_len
            column.content_width = 17
            width = column.get_render_width(table)
        assert width == 17 + 2 * table.cell_padding, column_message
    sizing = pin(
        TEXTUAL, "DataTable._require_update_dimensions (set, the table's idle recomputes "
        "its size from the columns' content_width)",
        "corral.tui.console.widgets.measured_table (MeasuredTable._widths_changed)",
        "DataTable._on_idle and _update_dimensions in the new Textual",
    )
    with relied_on(sizing):
        idle = inspect.getsource(DataTable._on_idle)
    assert "_require_update_dimensions" in idle and "_update_dimensions" in idle, sizing


class CountingTable(MeasuredTable):
    drawn: list[int]

    def render_line(self, y: int):
        self.drawn.append(y)
        return super().render_line(y)


class CountingTableApp(App):
    def compose(self) -> ComposeResult:
        yield CountingTable()


async def test_measured_table_repaints_only_an_updated_row() -> None:
    message = pin(
        TEXTUAL, "DataTable._data/_row_locations/_column_locations/_update_count (a cell "
        "changed in _data with _update_count bumped and refresh_row drawn anew; the line "
        "cache keyed by _update_count)",
        "corral.tui.console.widgets.measured_table (MeasuredTable._set_cell)",
        "DataTable.update_cell and render_line in the new Textual",
    )
    app = CountingTableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(CountingTable)
        table.drawn = []
        table.add_column("NAME", key="name")
        table.add_column("CPU", key="cpu")
        for n in range(40):
            table.add_row(f"c{n}", "1.0%", key=f"k{n}")
        await pilot.pause()
        await pilot.pause()
        table.drawn.clear()
        with relied_on(message):
            table.update_cell("k3", "cpu", "9.9%")
        await pilot.pause()
        await pilot.pause()
        assert table.get_row("k3") == ["c3", "9.9%"], message
        assert table.drawn == [4], message + f"\n  lines drawn: {table.drawn}"
        table.drawn.clear()
        table.update_cell("k30", "cpu", "9.9%")  # below the screen: nothing drawn
        await pilot.pause()
        assert table.drawn == [], message + f"\n  lines drawn: {table.drawn}"
        assert "9.9%" in str(table.render_line(4)), message



async def test_the_linux_driver_writes_to_its_file_and_resumes_on_sigcont() -> None:
    import signal

    from textual.drivers.linux_driver import LinuxDriver

    from corral.tui.console.driver import CorralDriver, HangupSafeOutput

    message = pin(
        TEXTUAL, "LinuxDriver._file (what each output thread writes to: WriterThread(self._file) "
        "in start_application_mode) and LinuxDriver._sigcont_application (the SIGCONT handler "
        "installed by LinuxDriver.__init__)",
        "corral.tui.console.driver.CorralDriver (a terminal that hangs up must not hang the "
        "console)",
        "LinuxDriver.__init__, start_application_mode and the SIGCONT handling in the new Textual",
    )
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTSTP, signal.SIGCONT)}
    try:
        with relied_on(message):
            driver = CorralDriver(app=None)
            source = inspect.getsource(LinuxDriver.start_application_mode)
        assert isinstance(driver._file, HangupSafeOutput), message
        assert "WriterThread(self._file)" in source, message
        handler = signal.getsignal(signal.SIGCONT)
        assert getattr(handler, "__func__", None) is CorralDriver._sigcont_application, message
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)

# =============================================================================
# pyte
# =============================================================================

PYTE = "pyte"
SCREEN_USER = "corral.tui.console.widgets.terminal.screen.TerminalScreen"


def fed(data: bytes, columns: int = 20, lines: int = 4) -> tuple[TerminalScreen, list[bytes]]:
    replies: list[bytes] = []
    screen = TerminalScreen(columns, lines, reply=replies.append)
    make_stream(screen).feed(data)
    return screen, replies


def test_private_modes_reach_set_mode_shifted_by_five() -> None:
    message = pin(
        PYTE, "private modes: Stream calls set_mode/reset_mode(*modes, private=True), and "
        "Screen.mode holds them shifted left by 5 (modes.DECOM == 6 << 5)",
        f"{SCREEN_USER}.set_mode/reset_mode (alternate screen), .app_cursor, "
        ".bracketed_paste",
        "pyte's screens.Screen.set_mode and streams.Stream._parser_fsm",
    )
    assert pyte.modes.DECOM == 6 << 5 and pyte.modes.DECCOLM == 3 << 5, message
    screen, _ = fed(b"\x1b[?1h\x1b[?2004h\x1b[?1049h")
    assert screen.app_cursor and screen.bracketed_paste, message
    assert screen.in_alternate, message
    make_stream(screen).feed(b"\x1b[?1049l\x1b[?1l\x1b[?2004l")
    assert not (screen.in_alternate or screen.app_cursor or screen.bracketed_paste), message


def test_screen_hooks_are_called_by_the_stream() -> None:
    hooks = (
        "Screen.index (a line feed at the bottom), erase_in_display(how) (ESC[3J), "
        "report_device_status(mode) and write_process_input(data)"
    )
    message = pin(
        PYTE, hooks, f"{SCREEN_USER} (scrollback, `clear`, answers to queries)",
        "the hook names pyte's Stream dispatches to and the Screen methods that call "
        "write_process_input",
    )
    screen, replies = fed(b"1\r\n2\r\n3\r\n4\r\n5\r\n6", lines=4)
    assert [row[0].data for row in screen.history] == ["1", "2"], message
    make_stream(screen).feed(b"\x1b[6n\x1b[c\x1b[5n")
    assert replies == [b"\x1b[4;2R", b"\x1b[?6c", b"\x1b[0n"], message + f"\n  {replies!r}"
    make_stream(screen).feed(b"\x1b[3J")
    assert not screen.history, message


def test_rows_are_sparse_dicts_of_chars_with_a_default() -> None:
    user = (
        "corral.tui.console.widgets.terminal.render.RowRenderer.render (row.default, "
        "char[0], char[1:]) and TerminalView (screen.dirty replaced by a new set)"
    )
    message = pin(
        PYTE, "Screen.buffer rows (StaticDefaultDict with a `default` Char; Char fields "
        "data, fg, bg, bold, italics, underscore, strikethrough, reverse, blink in that "
        "order; \"\" in the right half of a wide character)", user,
        "pyte's screens.Char and screens.StaticDefaultDict",
    )
    assert pyte.screens.Char._fields == (
        "data", "fg", "bg", "bold", "italics", "underscore", "strikethrough", "reverse",
        "blink",
    ), message
    screen, _ = fed(b"\x1b[31;1mA\x1b[0m \xe8\xa1\xa8")
    screen.dirty = set()  # TerminalView takes the set and leaves a new one
    make_stream(screen).feed(b"\r\nx")
    assert screen.dirty >= {1}, message
    row = screen.buffer[0]
    assert isinstance(row.default, pyte.screens.Char), message
    assert sorted(row) == [0, 1, 2, 3], message + f"\n  Columns: {sorted(row)}"
    assert row[0][1:] == ("red", "default", True, False, False, False, False, False), message
    assert (row[2].data, row[3].data) == ("表", ""), message
    strip = RowRenderer().render(row, screen.columns)
    segments = list(strip)
    assert segments[0].text == "A" and segments[0].style is not None, message
    assert segments[0].style.color.name == "red" and segments[0].style.bold, message
    assert strip.text.startswith("A 表") and strip.cell_length == screen.columns, message


def test_resize_override_keeps_the_screen_usable() -> None:
    message = pin(
        PYTE, "Screen state TerminalScreen.resize rewrites itself (lines, columns, tabstops, "
        "margins, ensure_hbounds, ensure_vbounds)", f"{SCREEN_USER}.resize",
        "pyte's Screen.resize: any new size-dependent state must be reset there too",
    )
    screen, _ = fed(b"")
    for name in ("tabstops", "margins", "ensure_hbounds", "ensure_vbounds", "cursor"):
        assert hasattr(screen, name), message + f"\n  Missing: {name}"
    screen.resize(3, 10)
    make_stream(screen).feed(b"0123456789abc\tZ")
    assert (screen.lines, screen.columns) == (3, 10), message
    assert screen.buffer[0][9].data == "9" and screen.buffer[1][0].data == "a", message
    assert screen.buffer[1][8].data == "Z", message  # the tab stop at 8 survived


# =============================================================================
# asyncssh
# =============================================================================


def test_a_keepalive_timeout_is_connection_lost_with_a_keepalive_reason() -> None:
    message = pin(
        "asyncssh", "SSHConnection._keepalive_timer_callback losing the connection through "
        "connection_lost(ConnectionLost('... keepalive')), set_keepalive(interval, count_max)",
        "corral.backends.ssh.linkwatch (LinkWatch._check loses a silent link the same way; "
        "HostSession tells 'link lost … (keepalives)' from the reason)",
        "how the new asyncssh ends a connection whose keepalives go unanswered, and make "
        "LinkWatch do the same",
    )
    cls = asyncssh.SSHClientConnection
    with relied_on(message):
        source = inspect.getsource(cls._keepalive_timer_callback)
        assert parameters(cls.set_keepalive)[:3] == ["self", "interval", "count_max"], message
        assert parameters(cls.connection_lost)[:2] == ["self", "exc"], message
        assert callable(cls.is_closed), message
    assert "self.connection_lost(" in source and "keepalive" in source, message


def test_connections_take_corral_attributes() -> None:
    message = pin(
        "asyncssh", "SSHClientConnection instances accepting extra attributes "
        "(conn.corral_check, conn.corral_jumps)",
        "corral.backends.ssh.connect (_connect_one, open_connection, lost_reason, "
        "close_connection) and corral.backends.ssh.probe",
        "whether the new asyncssh gave SSHClientConnection __slots__ or attributes of "
        "those names; if so keep them in a dict keyed by connection instead",
    )
    cls = asyncssh.SSHClientConnection
    assert not hasattr(cls, "corral_check") and not hasattr(cls, "corral_jumps"), message
    with relied_on(message):
        conn = cls.__new__(cls)
        conn.corral_check = "check"
        conn.corral_jumps = []
    assert conn.corral_check == "check", message
