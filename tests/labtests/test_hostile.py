"""Hostile bytes from a host never act on the operator's terminal (issue 16, items 3 and 7).

A lab container whose labels and log lines carry OSC 52 (clipboard), title
changes, clear screen, alternate screen and terminal queries: `corral ps` and
`corral logs` to a terminal (a pty) show them neutralised with colours kept;
a pipe and `--raw` get the container's bytes unchanged; a 40 KB line arrives
whole; `logs -f` ends with a one-line error when the host's key changes.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import pytest

from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab

CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"
TITLE = "\x1b]0;pwned\x07"
#: Raw sequences that must never reach a terminal from a host.
ACTING = (b"\x1b]52", b"\x1b]0;", b"\x1b[2J", b"\x1b[?1049h", b"\x1b[c", b"\x07", b"\x9b")
LONG = 40_000
NAME = "hostile-logs"
# busybox printf: \033 is ESC, \007 BEL; each sequence of the issue, then a colour.
SCRIPT = (
    r"printf '\033[31mred\033[0m plain\n'; "
    r"printf 'clip \033]52;c;cm0gLXJmIH4=\007 title \033]0;pwned\007 clear \033[2J "
    r"alt \033[?1049h query \033[c c1 \302\2331m end\n'; "
    f"head -c {LONG} /dev/zero | tr '\\0' x; printf '\\n'; "
    "printf 'last\\n'; sleep 3600"
)


@pytest.fixture(scope="module")
def hostile(lab: Lab):
    """A container on lab1 with hostile labels and hostile log lines."""
    container = engine(lab.host("lab1").socket).containers.run(
        "corral-lab/busybox:1", name=NAME, detach=True, command=["sh", "-c", SCRIPT],
        labels={"io.corral.stack": f"evil{TITLE}", "io.corral.service": f"svc{CLIPBOARD}\x1b[2J"},
    )
    try:
        wait_until(lambda: b"last\n" in container.logs(), f"{NAME} to print", timeout=20)
        yield container
    finally:
        container.remove(force=True)


def corral(*args: str) -> list[str]:
    return [sys.executable, "-m", "corral.tui.cli.main", *args]


def on_terminal(command: list[str], timeout: float = 60) -> tuple[int, bytes, str]:
    """Run `command` with stdout on a pty (raw mode: bytes unchanged), stderr piped."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO once the child's side is closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        process = subprocess.run(command, stdout=slave, stderr=subprocess.PIPE,
                                 stdin=subprocess.DEVNULL, timeout=timeout)
    finally:
        os.close(slave)
    reader.join(10)
    os.close(master)
    return process.returncode, b"".join(chunks), process.stderr.decode(errors="replace")


def test_ps_to_a_terminal_shows_hostile_labels_escaped(lab: Lab, hostile) -> None:
    code, out, err = on_terminal(corral("ps", "--host", "lab1", *lab.corral_args()))
    assert code == 0, err
    assert b"\x1b" not in out and b"\x07" not in out
    assert rb"evil\x1b]0;pwned\x07" in out
    assert rb"svc\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J" in out


def test_logs_to_a_terminal_keep_colours_and_neutralise_the_rest(lab: Lab, hostile) -> None:
    code, out, err = on_terminal(corral("logs", f"lab1/{NAME}", *lab.corral_args()))
    assert code == 0, err
    assert b"\x1b[31mred\x1b[0m plain" in out  # SGR colours kept
    for sequence in ACTING:
        assert sequence not in out, sequence
    assert (rb"clip \x1b]52;c;cm0gLXJmIH4=\x07 title \x1b]0;pwned\x07 clear \x1b[2J "
            rb"alt \x1b[?1049h query \x1b[c c1 \x9b1m end") in out
    assert b"\n" + b"x" * LONG + b"\n" in out


def test_logs_to_a_pipe_and_raw_to_a_terminal_get_the_bytes_unchanged(lab: Lab, hostile) -> None:
    exact = hostile.logs()
    piped = subprocess.run(corral("logs", f"lab1/{NAME}", *lab.corral_args()),
                           capture_output=True, timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == exact
    code, out, err = on_terminal(corral("logs", f"lab1/{NAME}", "--raw", *lab.corral_args()))
    assert code == 0, err
    assert out == exact


def test_a_40_kb_line_arrives_whole(lab: Lab, hostile) -> None:
    piped = subprocess.run(corral("logs", f"lab1/{NAME}", "--json", *lab.corral_args()),
                           capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0, piped.stderr
    lines = piped.stdout.splitlines()
    assert len(lines) == 4  # red, the hostile line, the long line, last
    assert '"line": "' + "x" * LONG + '"' in lines[2]


def test_logs_follow_ends_with_an_error_when_the_host_key_changes(
    lab: Lab, hostile, tmp_path: Path
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(lab.known_hosts.read_text())
    process = subprocess.Popen(
        corral("logs", "-f", f"lab1/{NAME}", "--inventory", str(lab.inventory),
               "--known-hosts", str(known)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.extend(iter(process.stdout.readline, b"")),
                              daemon=True)
    reader.start()
    try:
        wait_until(lambda: b"last\n" in out, "the follow to print the last line", timeout=30)
        # Another key for lab1 in the operator's known_hosts: from now on
        # lab1 presents a key that is NOT the recorded one.
        other = tmp_path / "other"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)],
                       check=True)
        address = lab.host("lab1").address
        lines = [line for line in known.read_text().splitlines()
                 if line.split()[0] != address]
        lines.append(f"{address} {other.with_suffix('.pub').read_text().strip()}")
        known.write_text("\n".join(lines) + "\n")
        with lab.faulted("lab1", "sshd-stop"):
            time.sleep(2)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    err = process.stderr.read().decode()
    assert code == 1, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("corral: lab1: ") and "NOT the key" in last, err
    assert "Traceback" not in err
