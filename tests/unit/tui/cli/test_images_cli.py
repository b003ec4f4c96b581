"""`corral images`: bad input is one line before any host is contacted; prune asks first,
naming the host and every image; progress on a terminal only."""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import pytest

from corral.backends.images import HostImage, RemoveReport
from corral.tui.cli import images as images_cli
from corral.tui.cli.main import parse_command_line
from corral.tui.cli.support import connected_fleet
from corral.tui.cli.transfer_board import TransferBoard
from tests.support.deploy import corral_here
from tests.support.no_host import unreachable_inventory

INVENTORY = ("hosts:\n  - name: lab1\n    ssh: root@127.0.0.1:9\n"
             "  - name: lab2\n    ssh: root@127.0.0.1:9\n")


@pytest.fixture
def no_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return unreachable_inventory(monkeypatch, tmp_path, INVENTORY, "bad input reached a host")


@pytest.mark.parametrize(("argv", "error"), [
    (["push", "app:1", "--to", "lab1,,lab2"], "--to 'lab1,,lab2': an empty host name"),
    (["push", "app:1", "--to", "lab9"], "lab9"),
    (["push", "app:1", "--to", "lab1,lab2", "--from", "lab2"], "--from lab2 is also a target"),
    (["push", "bad name", "--to", "lab1"], "'bad name' is not an image reference"),
    (["pull", "app:1", "--to", "lab1,"], "--to 'lab1,': an empty host name"),
    (["pull", "app:1", "--to", "nowhere"], "nowhere"),
    (["prune", "--host", "lab1"], "refusing to remove unused images without confirmation"),
])
def test_bad_input_is_one_line_exit_2(argv, error, no_host: Path) -> None:
    result = corral_here("images", *argv, "--inventory", str(no_host))
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("corral: ")
    assert error in result.stderr
    assert len(result.stderr.splitlines()) == 1


class _Session:
    name = "lab1"
    online = True
    readonly = False


class _Fleet:
    def session(self, name: str) -> _Session:
        return _Session()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("answer", ["y\n", "n\n"])
def test_prune_asks_naming_host_and_images(answer: str, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture) -> None:
    unused = [HostImage("lab1", "sha256:" + "a" * 64, ["team/old:1"], 5 << 20),
              HostImage("lab1", "sha256:" + "b" * 64, [], 1 << 20)]
    removed = []

    def remove(session, images, readonly=False):
        removed.extend(images)
        return RemoveReport("lab1", removed=["team/old:1", "bbbbbbbbbbbb"], freed=6 << 20)

    monkeypatch.setattr(images_cli, "connected_fleet",
                        lambda args, hosts=None: contextlib.nullcontext(_Fleet()))
    monkeypatch.setattr("corral.backends.images.unused_images", lambda session: unused)
    monkeypatch.setattr("corral.backends.images.remove_images", remove)
    monkeypatch.setattr("sys.stdin", _Terminal(answer))
    code = images_cli.run_prune(images_cli.argparse.Namespace(host="lab1", yes=False,
                                                              json=False))
    out, err = capsys.readouterr()
    assert "from lab1" in err and "team/old:1, bbbbbbbbbbbb" in err and "[y/N]" in err
    if answer == "y\n":
        assert code == 0 and removed == unused
        assert out == "lab1: removed 2 image(s): team/old:1, bbbbbbbbbbbb\n"
    else:
        assert code == 1 and removed == [] and out == ""
        assert "nothing removed" in err


def test_progress_is_drawn_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _Terminal()
    monkeypatch.setattr("sys.stderr", err)
    with TransferBoard() as board:
        board._last = -1e9  # due at once
        board.update("lab2 app:1", 5 << 20, 20 << 20, "read, 4.0MiB sent")
        board.update("lab3 app:1", 1 << 20, 20 << 20)  # throttled: drawn with the next
        board._last = -1e9
        board.update("lab3 app:1", 2 << 20, 20 << 20)
    drawn = err.getvalue()
    assert "lab2 app:1: 5.0MiB of 20.0MiB read, 4.0MiB sent  " in drawn and "/s  ETA " in drawn
    assert "lab3 app:1: 2.0MiB of 20.0MiB" in drawn
    assert drawn.endswith("\x1b[2A\x1b[J")  # erased: the results print clean

    plain = io.StringIO()
    monkeypatch.setattr("sys.stderr", plain)
    with TransferBoard() as board:
        board.update("lab2 app:1", 5 << 20, 20 << 20)
    assert plain.getvalue() == ""


def test_from_local_without_a_local_engine_is_one_line(no_host: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("corral.backends.inventory.local_inventory", lambda: None)
    result = corral_here("images", "push", "app:1", "--to", "lab1", "--from", "local",
                         "--inventory", str(no_host))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == ("corral: --from local: the inventory has no local host and this "
                             "machine has no Docker engine socket\n")


def test_asyncio_note_of_a_write_to_a_closed_tunnel_never_reaches_stderr(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A host lost mid-push (sshd gone) makes asyncio log "socket.send() raised
    exception." beside the command's one-line error: every command's fleet drops it."""
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY)
    args = parse_command_line(["images", "ls", "--inventory", str(inventory)])
    handler = logging.StreamHandler()  # stderr, as Python's last-resort handler writes
    logging.getLogger().addHandler(handler)
    try:
        with connected_fleet(args, hosts=["lab1"]):
            logging.getLogger("asyncio").warning("socket.send() raised exception.")
            logging.getLogger("asyncio").warning("another asyncio warning")
    finally:
        logging.getLogger().removeHandler(handler)
    err = capsys.readouterr().err
    assert "socket.send()" not in err and "another asyncio warning" in err
