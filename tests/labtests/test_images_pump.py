"""A push's bulk bytes through OpenSSH children (`backends/ssh/pump.py`), on the lab.

lab1's engine is the source. Each test checks the `ssh` children it caused are
gone at the end: ended and reaped whatever way the push ended.
"""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import pytest

from corral.backends.errors import PushLinkLost
from corral.backends.images import push_image
from corral.backends.ssh import pump as pump_module
from tests.support.images import remove_image
from tests.support.lab import Lab
from tests.support.lab_cli import engine, running_fleet
from tests.support.pumps import pumps
from tests.support.waits import wait_until

__all__ = ["pumps"]  # the fixture, imported for pytest

pytestmark = pytest.mark.lab

BASE = "corral-lab/busybox:1"


def ssh_children() -> list[int]:
    """Pids of this process's `ssh` children still there (zombies included)."""
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:  # a thread that ended since the listing: it has no children
            continue
        for pid in children:
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == "ssh":
                    found.append(int(pid))
            except OSError:
                continue
    return found


@pytest.fixture()
def image(lab: Lab):
    """A two-layer image on lab1 (busybox + 8 MB of random data); removed after."""
    tag = f"corral-test/pump-{uuid.uuid4().hex[:6]}:1"
    lab1 = engine(lab.host("lab1").socket)
    container = lab1.containers.run(BASE, ["sh", "-c", "head -c 8000000 /dev/urandom > /b"],
                                    detach=True)
    container.wait(timeout=60)
    repository, _, label = tag.rpartition(":")
    container.commit(repository, label)
    container.remove(force=True)
    yield tag
    for host in ("lab1", "lab2", "lab3"):
        remove_image(engine(lab.host(host).socket), tag)


def test_a_push_streams_both_links_through_openssh_and_reaps_the_children(
        lab: Lab, image: str, pumps) -> None:
    with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
        report = push_image(fleet.session("lab1"), fleet.session("lab2"), image)
    assert report.mode == "partial"
    assert engine(lab.host("lab2").socket).images.get(image).id == report.image_id
    assert sorted(p.spec.name for p in pumps) == ["lab1", "lab2"]
    assert all(p.problem is None for p in pumps), [p.problem for p in pumps]
    assert all(p.process is None and p.client is None for p in pumps)
    assert not ssh_children()


def test_a_killed_openssh_child_is_a_lost_link_nothing_tagged_and_a_rerun_completes(
        lab: Lab, image: str, pumps) -> None:
    killed = []

    def kill_target_child(sent: int, read: int) -> None:
        target = [p for p in pumps if p.spec.name == "lab3" and p.process is not None]
        if not killed and target:
            killed.append(target[0].process.pid)
            os.kill(target[0].process.pid, signal.SIGKILL)

    lab3 = engine(lab.host("lab3").socket)
    with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
        with pytest.raises(PushLinkLost, match="nothing was loaded") as caught:
            push_image(fleet.session("lab1"), fleet.session("lab3"), image,
                       chunk_size=256 * 1024, on_progress=kill_target_child)
        assert killed and caught.value.host == "lab3"
        assert not lab3.images.list(name=image.split(":")[0])
        # The source's read ends on the feed's thread once it sees no push reads on.
        wait_until(lambda: not ssh_children(), "the OpenSSH children reaped", timeout=15)
        report = push_image(fleet.session("lab1"), fleet.session("lab3"), image)
    assert report.mode == "partial" and lab3.images.get(image).id == report.image_id
    assert not ssh_children()


def test_a_host_key_openssh_refuses_falls_back_to_the_session(
        lab: Lab, image: str, pumps, monkeypatch) -> None:
    """StrictHostKeyChecking holds: a key that known_hosts does not list for the
    name OpenSSH checks makes the child fail; the push goes through the session."""
    original = pump_module.ssh_command

    def wrong_alias(*args, **kwargs):
        command = original(*args, **kwargs)
        return [command[0], "-o", "HostKeyAlias=not-in-known-hosts", *command[1:]]

    monkeypatch.setattr(pump_module, "ssh_command", wrong_alias)
    with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
        report = push_image(fleet.session("lab1"), fleet.session("lab2"), image)
    assert engine(lab.host("lab2").socket).images.get(image).id == report.image_id
    assert pumps and all("ssh exited" in (p.problem or "") for p in pumps), \
        [p.problem for p in pumps]
    assert not ssh_children()


def test_without_the_pump_the_push_uses_the_session(
        lab: Lab, image: str, pumps, monkeypatch) -> None:
    monkeypatch.setenv("CORRAL_OPENSSH_PUMP", "0")
    with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
        report = push_image(fleet.session("lab1"), fleet.session("lab2"), image)
    assert engine(lab.host("lab2").socket).images.get(image).id == report.image_id
    assert not pumps
