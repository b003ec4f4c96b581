"""The fault matrix (issue 16, item 10): each fault × each activity, on one shared lab.

The cells and the runs that check them live in `tests/support/faults.py`
(the README's "Faults" table is generated from the same table); the image
push run in `tests/support/fault_push.py`. Every run
leaves the host answering again (`lab.restored`) so that no fault leaks into
the next case; measured times are printed on stderr (`pytest -s` shows them,
`bench/faults.py` prints them as a table).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support import fault_push as P
from tests.support import faults as F
from tests.support.deploy import corral_on
from tests.support.images import remove_image
from tests.support.lab import Lab
from tests.support.lab_cli import engine

pytestmark = pytest.mark.lab

CONSOLE_FAULTS = [fault for fault, run in F.runs() if run == "console"]
DEPLOY_FAULTS = [fault for fault, run in F.runs() if run == "deploy"]
PUSH_FAULTS = [fault for fault, run in F.runs() if run == "push"]
CONSOLE_DEPLOY_PUSH_FAULTS = [fault for fault in PUSH_FAULTS if fault in P.CONSOLE_DEPLOY_FAULTS]
CONSOLE_IMAGES_PUSH_FAULTS = [fault for fault in PUSH_FAULTS if fault in P.CONSOLE_IMAGES_FAULTS]


@pytest.fixture(scope="module")
def folders(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Both compose folders; the console run's stack deployed on the faulted host."""
    console, deploy = F.write_stacks(tmp_path_factory.mktemp("faults"))
    result = corral_on(lab, "deploy", str(console), "--stack", F.STACK, "--yes")
    assert result.returncode == 0, result.stderr
    yield console, deploy
    corral_on(lab, "rm", F.STACK, "--yes", "--volumes")
    corral_on(lab, "rm", F.DEPLOY_STACK, "--yes", "--volumes")


@pytest.mark.parametrize("fault", CONSOLE_FAULTS)
async def test_console_logs_shell_and_health_pass_ride_out(lab: Lab, folders, fault: str
                                                           ) -> None:
    try:
        result = await F.console_run(lab, fault)
    finally:
        lab.restored(F.HOST, after=fault)
    print(f"\n{fault}: {result}", file=sys.stderr)
    assert result.answered == ["views switch while offline", "views switch after recovery"]
    assert result.offline_after is not None, f"{F.HOST} never showed offline"
    assert result.offline_after <= F.DETECT_WITHIN + F.SLACK
    assert result.online_after is not None
    assert result.online_after <= F.RECOVER_WITHIN + F.SLACK
    if fault in F.SSH_DROPS:
        assert result.log_during.startswith("◌ waiting for lab2"), result.log_during
    assert result.log_status.startswith("● following")
    assert result.lines > 20
    assert (result.lost[:5], result.doubled[:5]) == ([], [])
    assert "waiting for" in result.shell_during or "lost" in result.shell_during
    assert "is back" in result.shell_after
    if fault in F.SSH_DROPS:  # the engine restart alone may be over before a pass starts
        assert result.passes_offline >= 1
    assert result.moved == []


@pytest.mark.parametrize("fault", DEPLOY_FAULTS)
def test_interrupted_deploy_converges_on_rerun(lab: Lab, folders, fault: str) -> None:
    try:
        result = F.deploy_run(lab, fault, folders[1])
    finally:
        lab.restored(F.HOST, after=fault)
    print(f"\n{fault}: {result}", file=sys.stderr)
    assert result.interrupted, f"the fault did not land mid-deploy: {result.error}"
    assert result.error.startswith(f"corral: {F.HOST}: "), result.tail
    assert result.rerun_code == 0, result.rerun_error
    expected = sorted(f"{F.DEPLOY_STACK}-box-{n}" for n in range(1, F.DEPLOY_SCALE + 1))
    assert result.containers == expected
    assert result.not_running == []
    assert result.orphans == []


@pytest.fixture(scope="module")
def pushed_images(lab: Lab) -> tuple[str, str]:
    """Three images only lab1 holds (busybox base + 80 MB + a marker): to deploy, for
    `images push`, for the console's deploy; each run removes its copies on the targets."""
    images = (P.build_image(lab, "fdimg"), P.build_image(lab, "fcimg"),
              P.build_image(lab, "fuimg"))
    yield images
    for image in images:
        remove_image(engine(lab.host(P.SOURCE).socket), image)


def check_push(result: P.PushResult, image: str, overhead: int = P.TAR_OVERHEAD) -> None:
    """What the matrix's image push cell says, for one command."""
    assert result.interrupted, f"the fault did not land mid-push: {result}"
    assert result.exit_code == 1
    [line] = result.host_lines  # one line for the host, naming the image
    assert image in line, line
    assert result.stray == []  # no traceback, no stray log line
    assert result.left_on_host == []  # nothing tagged, nothing of its ID
    assert result.other_holds, f"{P.OTHER} did not get {image}"
    assert result.rerun_code == 0, result.rerun_error
    assert result.rerun_bytes is not None
    assert result.rerun_bytes <= 1.05 * result.missing + overhead


@pytest.mark.parametrize("fault", PUSH_FAULTS)
def test_an_interrupted_image_push_names_host_and_image_and_a_rerun_sends_what_is_missing(
        lab: Lab, pushed_images, tmp_path: Path, fault: str) -> None:
    deploy_image, cli_image, _ = pushed_images
    try:
        deployed = P.deploy_push_run(lab, fault, deploy_image, tmp_path)
    finally:
        lab.restored(F.HOST, after=fault)
    print(f"\n{fault}: {deployed}", file=sys.stderr)
    check_push(deployed, deploy_image)
    assert deployed.host_lines[0].startswith(f"  {F.HOST}: ")
    assert deployed.rerun_layers == "2 of 3 layers"
    assert deployed.running == [host.name for host in lab.hosts]  # converged everywhere
    assert deployed.other_rerun == "nothing"  # lab3 kept what it got
    try:
        pushed = P.cli_push_run(lab, fault, cli_image)
    finally:
        lab.restored(F.HOST, after=fault)
    print(f"{fault}: {pushed}", file=sys.stderr)
    check_push(pushed, cli_image)
    assert pushed.host_lines[0].startswith(f"corral: {F.HOST}: ")
    assert pushed.rerun_layers == "partial, 2 of 3 layers"
    assert pushed.other_rerun == "present, 0 B"


@pytest.mark.parametrize("fault", CONSOLE_DEPLOY_PUSH_FAULTS)
async def test_the_console_deploy_of_an_image_push_rides_out_the_fault(
        lab: Lab, pushed_images, tmp_path: Path, fault: str) -> None:
    image = pushed_images[2]
    try:
        result = await P.console_push_run(lab, fault, image, tmp_path)
    finally:
        lab.restored(F.HOST, after=fault)
    print(f"\n{fault}: {result}", file=sys.stderr)
    # The re-run is counted on lab2's veth: SSH and the console's own traffic too.
    check_push(result, image, overhead=P.WIRE_OVERHEAD)
    assert result.host_lines[0].startswith(f"{F.HOST}: "), result.host_lines
    assert result.running == [host.name for host in lab.hosts]


@pytest.fixture(scope="module")
def needed_image(lab: Lab):
    """A fourth image only lab1 holds, needed there by a (Compose-labelled) stack's container,
    so that `:images` shows where it is missing."""
    image = P.build_image(lab, "fnimg")
    user = engine(lab.host(P.SOURCE).socket).containers.run(
        image, ["sleep", "3600"], name=f"fnimg-{image[-8:-2]}", detach=True,
        labels={"com.docker.compose.project": "fnimg", "com.docker.compose.service": "app"})
    yield image
    user.remove(force=True)
    remove_image(engine(lab.host(P.SOURCE).socket), image)


@pytest.mark.parametrize("fault", CONSOLE_IMAGES_PUSH_FAULTS)
async def test_the_console_images_push_rides_out_the_fault(
        lab: Lab, needed_image: str, fault: str) -> None:
    try:
        result = await P.console_images_push_run(lab, fault, needed_image)
    finally:
        lab.restored(F.HOST, after=fault)
    print(f"\n{fault}: {result}", file=sys.stderr)
    check_push(result, needed_image, overhead=P.WIRE_OVERHEAD)
    assert f"{F.HOST}" in result.host_lines[0] and "failed" in result.host_lines[0]
    assert " pushed from lab1: " in result.rerun_layers, result.rerun_layers
