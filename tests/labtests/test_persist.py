"""Persisted connections on the lab: a second `corral ps` reuses the first one's, a changed
inventory entry does not, a killed keeper falls back to a direct connection, and
`corral hosts disconnect` ends them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from corral.backends.ssh import persist
from tests.support.lab import Lab
from tests.support.lab_cli import run_corral
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch):
    """Persisting on, in a private runtime directory of this test's own."""
    base = tempfile.mkdtemp(prefix="cpl-", dir="/tmp")
    monkeypatch.setenv("XDG_RUNTIME_DIR", base)
    monkeypatch.setenv("CORRAL_PERSIST", "1")
    yield Path(base)
    persist.disconnect_persisted()
    subprocess.run(["rm", "-rf", base], check=False)


def corral(lab: Lab, *args: str, inventory: Path | None = None) -> subprocess.CompletedProcess:
    return run_corral("--inventory", str(inventory or lab.inventory),
                      "--known-hosts", str(lab.known_hosts), *args)


def tunnels(lab: Lab, inventory: Path | None = None) -> dict[str, str]:
    """Each host's tunnel as `corral hosts --json` reports it."""
    done = corral(lab, "hosts", "--json", inventory=inventory)
    assert done.returncode == 0, done.stderr
    return {row["name"]: row["tunnel"] for row in json.loads(done.stdout)}


def kept(count: int) -> dict[str, int]:
    """Host -> keeper pid, once `count` persisted tunnels are up with their sockets."""
    def ready():
        alive = [item for item in persist.running() if os.path.exists(item.socket)]
        return {item.host: item.pid for item in alive} if len(alive) == count else None
    try:
        return wait_until(ready, f"{count} persisted tunnels", timeout=30)
    except AssertionError as exc:
        # What the keepers said (each logs why it ended or did not start).
        log = Path(persist.runtime_dir() or "/nonexistent") / "persist.log"
        said = log.read_text() if log.exists() else f"(no {log})"
        running = [(item.host, item.pid) for item in persist.running()]
        raise AssertionError(f"{exc}; keepers running: {running}; persist.log:\n{said}") from None


def test_a_second_read_reuses_the_connection_a_changed_entry_does_not(lab: Lab, runtime: Path,
                                                                       tmp_path: Path):
    first = corral(lab, "ps", "-a")
    assert first.returncode == 0, first.stderr
    pids = kept(3)
    assert tunnels(lab) == {host.name: "persisted" for host in lab.hosts}
    again = corral(lab, "ps", "-a")
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert kept(3) == pids  # the same keepers: no new connection was handed over

    # lab1 on its other SSH port: another entry, never the old connection
    text = lab.inventory.read_text().replace(f"{lab.host('lab1').address}:22",
                                             f"{lab.host('lab1').address}:2222", 1)
    changed = tmp_path / "inventory.yaml"
    changed.write_text(text)
    seen = tunnels(lab, changed)
    assert seen["lab1"] != "persisted" and seen["lab2"] == "persisted", seen  # 2222: dial-stdio

    kept(4)  # the three, and the changed entry's own
    # a mutating verb is refused in read-only mode whatever is persisted
    refused = corral(lab, "--readonly", "hosts", "rm", "lab3", "--yes")
    assert refused.returncode != 0 and "read-only" in refused.stderr.lower(), refused.stderr
    assert corral(lab, "--readonly", "ps").returncode == 0

    stopped = corral(lab, "hosts", "disconnect")
    assert stopped.returncode == 0, stopped.stderr
    assert sorted(line.split("\t")[0] for line in stopped.stdout.splitlines()) == \
        ["lab1", "lab1", "lab2", "lab3"]
    assert persist.running() == []

    # --no-persist: a direct connection, and nothing left behind
    done = corral(lab, "ps", "-a", "--no-persist")
    assert done.returncode == 0, done.stderr
    time.sleep(2)
    assert persist.running() == []


def test_a_killed_keeper_falls_back_to_a_direct_connection(lab: Lab, runtime: Path):
    assert corral(lab, "ps", "-a").returncode == 0
    pids = kept(3)
    sockets = [item.socket for item in persist.running()]
    os.kill(pids["lab2"], signal.SIGKILL)  # the keeper of every host of that command
    wait_until(lambda: not any(persist._lock_state(path.removesuffix(".sock") + ".lock")[0]
                               for path in sockets), "the keeper gone", 10)
    assert all(os.path.exists(path) for path in sockets)  # stale sockets left behind
    done = corral(lab, "ps", "-a")
    assert done.returncode == 0, done.stderr  # every host answered
    assert set(kept(3)) == {"lab1", "lab2", "lab3"}  # handed over afresh
    assert set(kept(3).values()).isdisjoint(pids.values())
