"""A full disk on the target surfaces as one line (issue 13, "Real parts for the tests").

The lab's hosts are network (and UTS) namespaces sharing the machine's mount
namespace, each engine with its own data root (`hosts/labN/docker`). Docker
20.10 unpacks a `docker load` archive into a temporary directory under
`DATA_ROOT/tmp` (the daemon points TMPDIR there) before it registers any layer,
so a 1 MB tmpfs mounted over lab2's `DATA_ROOT/tmp` is a full disk for lab2's
loads alone, and a real one: the engine itself answers "no space left on
device". The test mounts it and always unmounts it.

`corral images push` and `corral deploy` must then each print one line naming
the host, the image and the engine's reason, exit 1 without a traceback, leave
nothing tagged on the target, and not try the full archive (it cannot fit
where the partial one did not). The console's deploy (the plan screen's apply)
shows the same row: host, then image and reason.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from corral.backends import labels as L
from corral.backends.images import push as push_module
from corral.catalog.answers import resolve_answers
from corral.catalog.render import render
from corral.tui.cli.deploy_args import version_at
from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.screens.plan import PlanScreen
from tests.support.console import SIZE, console, online, until
from tests.support.deploy import corral_on
from tests.support.images import MB, build_layered_image, remove_image
from tests.support.lab import Lab
from tests.support.lab_cli import engine

pytestmark = pytest.mark.lab

HOST = "lab2"
REASON = "no space left on device"


@contextlib.contextmanager
def full_disk(lab: Lab, host: str) -> Iterator[Path]:
    """A 1 MB tmpfs over `host`'s engine temporary directory for the block."""
    hosts = json.loads((lab.dir / "lab.json").read_text())["hosts"]
    tmp = Path(next(item["data_root"] for item in hosts if item["name"] == host)) / "tmp"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700",
                    f"corral-full-{host}", str(tmp)], check=True)
    try:
        yield tmp
    finally:
        # Lazily: a load the engine still unpacks must not keep the mount alive.
        subprocess.run(["umount", "-l", str(tmp)], check=True)


@pytest.fixture
def image(lab: Lab) -> Iterator[str]:
    """An image only lab1 holds: busybox base, 8 MB of random data, a marker."""
    ref = f"corral-test/full-{uuid.uuid4().hex[:6]}:1"
    build_layered_image(engine(lab.host("lab1").socket), ref.split(":")[0], "1",
                        big_bytes=8 * MB)
    yield ref
    for host in lab.hosts:
        remove_image(engine(host.socket), ref)


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every archive upload a push starts (`push._send`), by image: the full-archive
    fallback would be a second one."""
    started: list[str] = []
    real = push_module._send

    def counted(source, target, image, *args, **kwargs):
        started.append(image)
        return real(source, target, image, *args, **kwargs)

    monkeypatch.setattr(push_module, "_send", counted)
    return started


def nothing_of(lab: Lab, host: str, image: str) -> list[str]:
    """Tags of `image`'s repository on `host` (none is the expectation)."""
    client = engine(lab.host(host).socket)
    return [tag for found in client.images.list(name=image.split(":")[0]) for tag in found.tags]


def test_images_push_onto_a_full_disk_is_one_line_and_no_fallback(
        lab: Lab, image: str, sends: list[str]) -> None:
    with full_disk(lab, HOST):
        result = corral_on(lab, "images", "push", image, "--to", HOST)
    print(f"\n{result.stderr}")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"corral: {HOST}: loading {image} failed: "), line
    assert line.endswith(REASON), line
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert sends == [image]  # the full archive was not tried
    assert nothing_of(lab, HOST, image) == []
    # The disk has room again: the same push goes through, only the missing layers.
    again = corral_on(lab, "images", "push", image, "--to", HOST, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["mode"] == "partial"


def stack_on_lab2(folder: Path, image: str) -> Path:
    """A one-service stack of `image` on lab2 alone (zone=b)."""
    folder.mkdir()
    (folder / "docker-compose.yml").write_text(
        f"version: '2'\nservices:\n  app:\n    image: {image}\n"
        "    command: [\"sleep\", \"3600\"]\n    labels:\n"
        "      io.rancher.scheduler.affinity:host_label: zone=b\n")
    return folder


def test_deploy_onto_a_full_disk_is_one_line_and_changes_no_container(
        lab: Lab, image: str, sends: list[str], tmp_path: Path) -> None:
    folder = stack_on_lab2(tmp_path / "full", image)
    try:
        with full_disk(lab, HOST):
            result = corral_on(lab, "deploy", str(folder), "--stack", "full", "--yes")
        print(f"\n{result.stderr}")
        assert result.returncode == 1
        errors = [line for line in result.stderr.splitlines() if not line.startswith("[")]
        assert errors[0] == ("corral: stack full: images did not reach every host; "
                             "no container was changed"), errors
        [line] = errors[1:]  # the host's own line: host, image, the engine's reason
        assert line.startswith(f"  {HOST}: loading {image} failed: "), line
        assert line.endswith(REASON), line
        assert "Traceback" not in result.stderr
        assert sends == [image]
        assert nothing_of(lab, HOST, image) == []
        client = engine(lab.host(HOST).socket)
        assert client.containers.list(all=True, filters={"label": f"{L.STACK}=full"}) == []
    finally:
        corral_on(lab, "rm", "full", "--yes", "--volumes")


def plain(renderable) -> str:
    """A rich renderable as plain text, lines unwrapped (long engine messages included)."""
    out = Console(width=1000, record=True, file=io.StringIO())
    out.print(renderable)
    return out.export_text()


async def test_the_console_deploy_onto_a_full_disk_names_host_image_and_reason(
        lab: Lab, image: str, sends: list[str], tmp_path: Path) -> None:
    version = version_at(stack_on_lab2(tmp_path / "cfull", image))
    stack = render(version, resolve_answers(version.info.questions), stack_name="cfull")
    app = console(lab)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await online(pilot, app)
            screen = PlanScreen(app.flow, stack, resolve_answers(version.info.questions))
            app.push_screen(screen)
            await until(pilot, lambda: screen.phase != "planning", "the plan", timeout=30)
            assert screen.phase == "planned", plain(screen.status)
            with full_disk(lab, HOST):
                await pilot.press("a")
                assert isinstance(app.screen, ConfirmScreen)
                await pilot.press("y")
                await until(pilot, lambda: screen.phase in ("done", "failed"), "the apply",
                            timeout=60)
            said = plain(screen.status)
            print(f"\n{said}")
            assert screen.phase == "failed"
            [row] = [line for line in said.splitlines() if line.strip().startswith(HOST)]
            assert f"loading {image} failed: " in row and row.rstrip().endswith(REASON), row
            assert "Traceback" not in said
        assert sends == [image]
        assert nothing_of(lab, HOST, image) == []
        client = engine(lab.host(HOST).socket)
        assert client.containers.list(all=True, filters={"label": f"{L.STACK}=cfull"}) == []
    finally:
        corral_on(lab, "rm", "cfull", "--yes", "--volumes")
