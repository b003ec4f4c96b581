"""The shell pane's life cycle against a fake exec: open, resize, exit, host loss."""

from __future__ import annotations

import time

from textual.app import App, ComposeResult

from corral.backends.errors import DockerApiError, NotFound
from corral.backends.ssh.session import HostState, HostStatus
from corral.tui.console.widgets.terminal.pane import ShellPane
from tests.support.pilot import until
from tests.support.shell_pane import FakeFleet, FakeStream


class PaneHost(App):
    """One shell pane on a fake exec; records what the pane posts."""

    def __init__(self, stream: FakeStream | Exception, target: str = "lab1/web-1", **kwargs):
        super().__init__()
        self.fleet = FakeFleet("lab1", "lab2")
        self.stream = stream
        self.target = target
        self.kwargs = kwargs
        self.opened: list[tuple] = []
        self.ended: list[ShellPane.Ended] = []
        self.closed: list[ShellPane.Closed] = []

    def open(self, session, request, size):
        self.opened.append((session.name, request, size))
        if isinstance(self.stream, Exception):
            raise self.stream
        return self.stream

    def compose(self) -> ComposeResult:
        yield ShellPane(self.fleet, self.target, opener=self.open, **self.kwargs)

    def on_shell_pane_ended(self, message: ShellPane.Ended) -> None:
        self.ended.append(message)

    def on_shell_pane_closed(self, message: ShellPane.Closed) -> None:
        self.closed.append(message)


async def run_to_exit(pilot, app: PaneHost, stream: FakeStream, code: int) -> ShellPane:
    """Wait for the exec, end its process with `code`, wait for the pane to notice."""
    pane = app.query_one(ShellPane)
    await until(pilot, lambda: bool(app.opened), "the exec")
    stream.end(code)
    await until(pilot, lambda: pane.ended, "the end")
    return pane


async def test_opens_at_the_panes_size_and_names_its_container() -> None:
    stream = FakeStream([b"/ # "])
    app = PaneHost(stream, user="nobody", command=("sh", "-l"))
    async with app.run_test(size=(60, 16)) as pilot:
        pane = app.query_one(ShellPane)
        await until(pilot, lambda: bool(app.opened), "the exec")
        host, request, size = app.opened[0]
        assert host == "lab1" and request.container == "web-1"
        assert request.command == ("sh", "-l") and request.user == "nobody"
        assert size == (pane.view.size.height, pane.view.size.width) == (14, 58)
        assert pane.border_title == "lab1/web-1 · sh -l as nobody"
        await until(pilot, lambda: pane.view.screen_lines()[0] == "/ #", "the prompt")
        pane.view.blur()
        pane.focus()  # a container focusing its content reaches the terminal
        await pilot.pause()
        assert app.focused is pane.view
        await pilot.press("l", "s", "enter")
        assert b"".join(stream.sent) == b"ls\r"


async def test_resizing_the_pane_resizes_the_exec() -> None:
    stream = FakeStream([b"/ # "])
    app = PaneHost(stream)
    async with app.run_test(size=(60, 16)) as pilot:
        pane = app.query_one(ShellPane)
        # Started (its "connecting" subtitle gone): the resize goes to a running exec.
        await until(pilot, lambda: bool(app.opened) and pane.border_subtitle is None,
                    "the exec to start")
        await pilot.resize_terminal(80, 20)
        await until(pilot, lambda: stream.sizes[-1:] == [(18, 78)], "the resize", timeout=3)


async def test_exit_code_is_shown_and_a_key_closes() -> None:
    stream = FakeStream([b"/ # exit 3\r\n"])
    app = PaneHost(stream)
    async with app.run_test(size=(60, 16)) as pilot:
        pane = await run_to_exit(pilot, app, stream, 3)
        assert pane.border_subtitle == "exited with code 3 — press a key to close"
        assert pane.has_class("-ended")
        assert [(m.exit_code, m.lost) for m in app.ended] == [(3, False)]
        sent = len(stream.sent)
        await pilot.press("x")
        assert [m.exit_code for m in app.closed] == [3]
        assert len(stream.sent) == sent



def tell(app, state: HostState, error: str | None, when: float, **more) -> None:
    """Report a status of lab1 to everything listening to its session."""
    for listener in app.fleet.sessions["lab1"].listeners:
        listener(HostStatus("lab1", state, error, when, **more))

async def test_a_host_going_down_is_reported_not_frozen() -> None:
    stream = FakeStream([b"/ # "])
    app = PaneHost(stream)
    async with app.run_test(size=(60, 16)) as pilot:
        pane = app.query_one(ShellPane)
        await until(pilot, lambda: bool(app.opened), "the exec")
        stream.connection_lost = True
        tell(app, HostState.OFFLINE, "keepalive timeout", time.time())
        await until(pilot, lambda: pane.ended, "the pane to notice")
        assert pane.border_subtitle == (
            "waiting for lab1… · connection to lab1 lost — press a key to close")
        assert pane.has_class("-lost") and stream.closed
        assert pane.has_class("-waiting") and "waiting for lab1" in str(
            pane.query_one("#shell-waiting").render())
        assert [(m.exit_code, m.lost) for m in app.ended] == [(None, True)]
        tell(app, HostState.ONLINE, None, time.time())
        await until(pilot, lambda: "lab1 is back" in pane.border_subtitle, "the host back")
        assert pane.border_subtitle == (
            "connection to lab1 lost · lab1 is back — press a key to close")
        assert not pane.has_class("-waiting")


async def test_a_changed_host_key_ends_the_shell_without_waiting() -> None:
    stream = FakeStream([b"/ # "])
    app = PaneHost(stream)
    async with app.run_test(size=(60, 16)) as pilot:
        pane = app.query_one(ShellPane)
        await until(pilot, lambda: bool(app.opened), "the exec")
        stream.connection_lost = True
        tell(app, HostState.OFFLINE, "keepalive timeout", time.time())
        await until(pilot, lambda: pane.ended, "the pane to notice")
        tell(app, HostState.OFFLINE, "presents a key which is NOT the key", time.time(),
             key_changed=True)
        await until(pilot, lambda: pane.key_refused is not None, "the key change")
        assert pane.border_subtitle.startswith("HOST KEY CHANGED: lab1: presents a key")
        assert not pane.has_class("-waiting") and not pane.lost


async def test_a_pane_opened_on_a_host_that_is_down_says_it_waits() -> None:
    stream = FakeStream([b"/ # "])
    app = PaneHost(stream)
    app.fleet.sessions["lab1"].online = False
    app.fleet.sessions["lab1"].status = HostStatus(
        "lab1", HostState.CONNECTING, "Server not responding to keepalive", time.time())
    async with app.run_test(size=(60, 16)) as pilot:
        pane = app.query_one(ShellPane)
        await pilot.pause()
        assert pane.border_subtitle == "waiting for lab1…"
        assert pane.has_class("-waiting")
        assert pane.host_down and not pane.ended


async def test_a_missing_container_is_named() -> None:
    app = PaneHost(NotFound("No such container: web-9", host="lab1"), target="lab1/web-9")
    async with app.run_test(size=(60, 16)) as pilot:
        pane = app.query_one(ShellPane)
        await until(pilot, lambda: pane.ended, "the failure")
        assert pane.border_subtitle == "press a key to close"
        body = str(pane.query_one("#shell-failure").render())
        assert "Cannot open a shell in lab1/web-9:\nNo such container: web-9" in body


async def test_an_unknown_host_is_named() -> None:
    app = PaneHost(FakeStream(), target="lab7/web-1")
    async with app.run_test(size=(60, 16)) as pilot:
        pane = app.query_one(ShellPane)
        await until(pilot, lambda: pane.ended, "the failure")
        assert "no host named 'lab7'" in pane.border_subtitle
        assert app.opened == []


async def test_removing_the_pane_ends_the_process() -> None:
    stream = FakeStream([b"/ # "])
    app = PaneHost(stream)
    async with app.run_test(size=(60, 16)) as pilot:
        await until(pilot, lambda: bool(app.opened), "the exec")
        await app.query_one(ShellPane).remove()
        await until(pilot, lambda: stream.closed and stream.terminated, "the process to end")


async def test_a_process_that_exited_is_not_terminated() -> None:
    stream = FakeStream([b"/ # "])
    app = PaneHost(stream)
    async with app.run_test(size=(60, 16)) as pilot:
        pane = await run_to_exit(pilot, app, stream, 0)
        await pane.remove()
        assert not stream.terminated


class CrashLoopApi:
    """The engine's low-level API for one restarting container, recording calls."""

    def __init__(self) -> None:
        self.created: list[dict] = []
        self.started: list[str] = []
        self.removed: list[str] = []

    def inspect_container(self, ref: str) -> dict:
        return {
            "Id": "c0ffee", "Name": "/web-1", "Image": "sha256:abc", "RestartCount": 7,
            "State": {"Status": "restarting", "Running": True, "Restarting": True,
                      "ExitCode": 3, "Error": ""},
            "Config": {"Env": ["MODE=prod"], "User": "", "WorkingDir": "/srv",
                       "Labels": {"io.corral.stack": "shop"}},
            "HostConfig": {"Binds": ["/data:/data"], "NetworkMode": "shop",
                           "PortBindings": {"80/tcp": [{"HostPort": "8080"}]},
                           "RestartPolicy": {"Name": "always"}},
        }

    def create_container(self, **settings) -> dict:
        self.created.append(settings)
        return {"Id": "d00d"}

    def start(self, ref: str) -> None:
        self.started.append(ref)

    def remove_container(self, ref: str, **kwargs) -> None:
        self.removed.append(ref)


async def test_a_crash_looping_container_gets_the_error_and_a_debug_shell() -> None:
    restarting = DockerApiError(
        "Container c0ffee is restarting, wait until the container is running", host="lab1",
        status=409)
    stream = FakeStream([b"/ # "])
    attempts = [restarting, stream]

    app = PaneHost(stream)
    api = app.fleet.sessions["lab1"].api = CrashLoopApi()

    def open_(session, request, size):
        app.opened.append((session.name, request, size))
        result = attempts.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    app.open = open_
    async with app.run_test(size=(70, 20)) as pilot:
        pane = app.query_one(ShellPane)
        await until(pilot, lambda: pane.ended, "the failure")
        body = str(pane.query_one("#shell-failure").render())
        assert "is restarting, wait until the container is running" in body  # whole, wrapped
        assert "web-1 is restarting (last exit code 3, restarted 7 times)." in body
        assert "d: open a debug shell" in body
        assert pane.border_subtitle == "d: debug shell · any other key closes"
        assert pane.query_one("#shell-failure").region.height > 4
        await pilot.press("d")
        await until(pilot, lambda: pane.view.screen_lines()[0] == "/ #", "the debug shell")
        assert not pane.ended and pane.view.has_focus
        (settings,) = api.created
        copy = settings["name"]
        assert copy.startswith("web-1-debug-") and api.started == ["d00d"]
        assert settings["entrypoint"] == ["sh"] and settings["environment"] == ["MODE=prod"]
        assert settings["labels"]["io.corral.debug-of"] == "c0ffee"
        assert "io.corral.stack" not in settings["labels"]
        host_config = settings["host_config"]
        assert host_config["Binds"] == ["/data:/data"] and host_config["NetworkMode"] == "shop"
        assert "PortBindings" not in host_config and host_config["RestartPolicy"] == {"Name": "no"}
        assert app.opened[-1][1].container == copy
        assert "DEBUG COPY" in pane.border_title
        await pane.remove()
        await until(pilot, lambda: api.removed == [copy], "the copy removed")


async def test_an_engine_error_is_shown_as_written_not_read_as_markup() -> None:
    # Engine errors carry brackets ("[/]", "[bold]"): drawn as markup they would
    # be swallowed or break the pane's rendering.
    error = DockerApiError("OCI runtime exec failed: [/] [bold]no sh[/bold]", host="lab1",
                           status=500)
    app = PaneHost(FakeStream([b""]))

    def open_(session, request, size):
        raise error

    app.open = open_
    async with app.run_test(size=(70, 20)) as pilot:
        pane = app.query_one(ShellPane)
        await until(pilot, lambda: pane.ended, "the failure")
        await pilot.pause()
        body = str(pane.query_one("#shell-failure").render())
        assert "OCI runtime exec failed: [/] [bold]no sh[/bold]" in body
