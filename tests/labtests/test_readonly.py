"""Read-only on the lab: every mutating verb refused, whichever source asked; nothing changes.

A small stack is deployed writable first; then each verb that would change
it, a host or the inventory runs with `--readonly`, `CORRAL_READONLY=1` and
`readonly: true` in the configuration file, and must fail in one line. The
engines (containers, their ids and states, a file `exec` would create), the
inventory and known_hosts are compared before and after. The backend gate is
also tried on its own, past the command line: a removal and a reconcile pass
with a replica missing change nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import platformdirs
import pytest

from corral.backends import guard
from corral.backends import labels as L
from corral.backends.deploy import gather, reconcile, remove
from corral.backends.errors import ActionRefused
from tests.support.deploy import corral_here
from tests.support.lab import Lab
from tests.support.lab_cli import engine, run_corral, running_fleet

pytestmark = pytest.mark.lab

STACK = "ro"
PROOF = "/tmp/readonly-proof"
COMPOSE = """\
version: '2'
services:
  web:
    image: corral-lab/busybox:1
    command: ["sleep", "3600"]
  store:
    image: corral-lab/busybox:1
    command: ["sleep", "3600"]
"""
RANCHER = """\
version: '2'
catalog:
  name: ro
  version: "1"
services:
  web:
    scale: 2
"""


def corral(lab: Lab, inventory: Path, *args: str) -> subprocess.CompletedProcess:
    """`corral` in-process, pointed at `inventory` (global options first: `exec -- CMD`)."""
    return corral_here("--inventory", str(inventory), "--known-hosts", str(lab.known_hosts),
                       *args)


@pytest.fixture(scope="module")
def folder(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ro")
    (path / "docker-compose.yml").write_text(COMPOSE)
    (path / "rancher-compose.yml").write_text(RANCHER)
    result = corral(lab, lab.inventory, "deploy", str(path), "--stack", STACK, "--yes")
    assert result.returncode == 0, result.stderr
    yield path
    guard._reset_for_tests()
    corral(lab, lab.inventory, "rm", STACK, "--yes")


@pytest.fixture
def inventory(lab: Lab) -> Path:
    """A copy of the lab's inventory beside it (identity paths stay valid): `hosts rm`
    must not touch it, and should it, the lab's own stays whole."""
    path = lab.dir / "inventory-readonly.yaml"
    shutil.copyfile(lab.inventory, path)
    yield path
    path.unlink(missing_ok=True)


def engines(lab: Lab) -> dict[str, list[tuple[str, str, str]]]:
    """Every container of every lab host: (name, id, status)."""
    return {host.name: sorted((c.name, c.id, c.status) for c in
                              engine(host.socket).containers.list(all=True))
            for host in lab.hosts}


def a_web_container(lab: Lab) -> tuple[str, str]:
    """(host, name) of one replica of the stack's web service."""
    for host in lab.hosts:
        for container in engine(host.socket).containers.list(
                filters={"label": f"{L.STACK}={STACK}"}):
            if container.labels[L.SERVICE] == "web":
                return host.name, container.name
    raise AssertionError("the stack has no web replica")


def mutating_commands(lab: Lab, folder: Path) -> dict[str, list[str]]:
    host, container = a_web_container(lab)
    return {
        "stack.deploy": ["deploy", str(folder), "--stack", "ro2", "--yes"],
        "stack.upgrade": ["upgrade", str(folder), "--stack", STACK, "--set", "X=1", "--yes"],
        "stack.scale": ["scale", f"{STACK}/web=3", "--yes"],
        "stack.confirm": ["confirm", STACK, "--yes"],
        "stack.rollback": ["rollback", STACK, "--yes"],
        "stack.reconcile": ["reconcile", "--yes"],
        "stack.rm": ["rm", STACK, "--volumes", "--yes"],
        "hosts.rm": ["hosts", "rm", host, "--yes"],
        "hosts.add": ["hosts", "add", "lab9", f"root@{lab.host(host).address}"],
        "exec": ["exec", f"{host}/{container}", "--", "touch", PROOF],
        "shell": ["shell", f"{host}/{container}", "--", "touch", PROOF],
    }


def proof_exists(lab: Lab) -> bool:
    host, name = a_web_container(lab)
    result = engine(lab.host(host).socket).containers.get(name).exec_run(["ls", PROOF])
    return result.exit_code == 0


@pytest.mark.parametrize("source", ["--readonly", "CORRAL_READONLY", "config"])
def test_every_mutating_verb_is_refused_and_nothing_changes(
        lab: Lab, folder: Path, inventory: Path, source: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    options, reason = [], source
    if source == "--readonly":
        options = ["--readonly"]
    elif source == "CORRAL_READONLY":
        monkeypatch.setenv("CORRAL_READONLY", "yes")
        reason = "CORRAL_READONLY=yes"
    else:
        config = Path(platformdirs.user_config_dir("corral")) / "config.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("readonly: true\n")
        reason = f"readonly: true in {config}"
    before = engines(lab)
    texts = (inventory.read_text(), lab.known_hosts.read_text())
    for verb, argv in mutating_commands(lab, folder).items():
        result = corral(lab, inventory, *options, *argv)
        guard._reset_for_tests()  # in-process: the next command starts afresh
        assert result.returncode != 0, f"{verb}: {result.stderr}"
        lines = result.stderr.splitlines()
        assert len(lines) == 1, f"{verb}: {result.stderr}"
        assert lines[0].startswith(f"corral: read-only ({reason}): refusing to {verb}"), lines
        assert "Traceback" not in result.stderr
    assert engines(lab) == before
    assert (inventory.read_text(), lab.known_hosts.read_text()) == texts
    assert not proof_exists(lab)


def test_a_separate_read_only_process_removes_nothing(lab: Lab, folder: Path) -> None:
    """The issue's own command, as a user types it."""
    before = engines(lab)
    result = run_corral("--readonly", "rm", STACK, "--yes", *lab.corral_args())
    assert result.returncode != 0
    assert result.stderr == f"corral: read-only (--readonly): refusing to stack.rm {STACK}\n"
    assert engines(lab) == before


def test_reading_verbs_still_work(lab: Lab, folder: Path) -> None:
    host, container = a_web_container(lab)
    for argv in (["ps", "--json"], ["stacks"], ["hosts", "--json"], ["catalog", "list"],
                 ["plan", str(folder), "--stack", STACK], ["logs", f"{host}/{container}"],
                 ["logs", STACK]):
        result = corral(lab, lab.inventory, "--readonly", *argv)
        guard._reset_for_tests()
        assert result.returncode == 0, f"{argv}: {result.stderr}"
    stacks = corral(lab, lab.inventory, "--readonly", "stacks").stdout
    assert any(line.startswith(f"{STACK} ") for line in stacks.splitlines())


def test_the_backend_gate_holds_past_the_command_line(lab: Lab, folder: Path) -> None:
    """No CLI in the way: a removal is refused and a reconcile pass (the console's health
    pass is one) re-creates no missing replica."""
    host, name = a_web_container(lab)
    client = engine(lab.host(host).socket)
    client.containers.get(name).remove(force=True)
    try:
        guard.enter_readonly("--readonly")
        with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
            before = engines(lab)
            state = gather(fleet)
            with pytest.raises(ActionRefused, match=f"refusing to stack.rm {STACK}"):
                remove(fleet, state, STACK, volumes=True)
            report = reconcile(fleet, stacks=[STACK], state=state)
            assert "refusing to stack.reconcile" in report.errors[STACK]
            assert STACK not in report.actions  # nothing claimed done
            assert engines(lab) == before
    finally:
        guard._reset_for_tests()
        assert corral(lab, lab.inventory, "reconcile", "--stack", STACK, "--yes").returncode == 0


async def test_a_read_only_console_opens_no_shell(lab: Lab, folder: Path) -> None:
    """`s` on a running container: hidden, refused, and the session itself runs no exec."""
    from corral.backends.exec import ExecRequest, ExecStream
    from tests.support.console import SIZE, console, online, select, view

    host, name = a_web_container(lab)
    app = console(lab, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        await select(pilot, app, "containers", name)
        screen = app.screen
        assert view(app, "containers").check_action("open_shell", ()) is False
        await pilot.press("s")
        await pilot.pause(0.5)  # a duration: no pane may follow the key
        assert not screen.workspace.panes
        await pilot.press("question_mark")
        assert "containers.shell" not in app.screen.body.columns[2]._cells
        with pytest.raises(ActionRefused, match=f"read-only: refusing to shell {name}"):
            ExecStream.open(app.fleet.session(host),
                            ExecRequest(name, ("touch", PROOF), verb="shell"))
    assert not proof_exists(lab)
