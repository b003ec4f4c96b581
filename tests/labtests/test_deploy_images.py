"""Deploy brings the images its hosts lack (issue 13, "Preflight and plan").

An image only lab1 holds is pushed to the other hosts (only the layers they
lack: they hold its busybox base), an air-gapped one included; an image in
the lab registry is pulled by a host that reaches it, and a host that cannot
falls back to a push from a host that has it; `--pull never` with an image
nobody holds refuses in one line per host and changes nothing.

A link cut (and every other fault of the matrix) mid-push during a deploy, then
the same deploy converging and sending only the missing layers, is the fault
matrix's push run: `test_fault_matrix.py::
test_an_interrupted_image_push_names_host_and_image_and_a_rerun_sends_what_is_missing`
(`tests/support/fault_push.py`). A full disk on the target is
`test_images_full_disk.py`.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml

from corral.backends import labels as L
from tests.support.deploy import corral_here, corral_on
from tests.support.images import MB, build_layered_image, push_to_registry, remove_image
from tests.support.lab import Lab
from tests.support.lab_cli import engine, write_inventory

pytestmark = pytest.mark.lab

BIG = 6 * MB


def write_stack(folder: Path, image: str, *, everywhere: bool = True) -> Path:
    """A one-service stack of `image` (on every host when `everywhere`)."""
    folder.mkdir(parents=True, exist_ok=True)
    labels = "    labels:\n      io.rancher.scheduler.global: 'true'\n" if everywhere else ""
    (folder / "docker-compose.yml").write_text(
        f"version: '2'\nservices:\n  app:\n    image: {image}\n"
        f"    command: [\"sh\", \"-c\", \"exec sleep 3600\"]\n{labels}")
    return folder


def inventory_of(lab: Lab, path: Path, names: list[str]) -> list[str]:
    """Corral's global options for an inventory of only the lab hosts `names`."""
    hosts = [h for h in yaml.safe_load(lab.inventory.read_text())["hosts"]
             if h["name"] in names]
    write_inventory(path, hosts)
    return ["--inventory", str(path), "--known-hosts", str(lab.known_hosts)]


def stack_images(lab: Lab, stack: str) -> dict[str, set[str]]:
    """Host -> the images of the stack's running containers there."""
    found = {}
    for host in lab.hosts:
        containers = engine(host.socket).containers.list(
            filters={"label": f"{L.STACK}={stack}"})
        if containers:
            found[host.name] = {c.attrs["Config"]["Image"] for c in containers}
    return found


def cleanup(lab: Lab, stack: str, refs: list[str], *options: str) -> None:
    corral_here("rm", stack, "--yes", *(options or lab.corral_args()))
    for host in lab.hosts:
        client = engine(host.socket)
        for ref in refs:
            remove_image(client, ref)
        client.close()


def test_an_image_only_lab1_has_is_pushed_with_only_the_missing_layers(
        lab: Lab, tmp_path: Path) -> None:
    image = f"corral-test/dimg-{uuid.uuid4().hex[:6]}:1"
    build_layered_image(engine(lab.host("lab1").socket), image.split(":")[0], "1",
                        big_bytes=BIG)
    stack = "dimg"
    folder = write_stack(tmp_path / "stack", image)
    blocked = lab.registry_hosts(reachable=False)
    assert blocked, "the lab has an air-gapped host"
    try:
        plan = corral_on(lab, "plan", str(folder), "--stack", stack, "--json")
        assert plan.returncode == 0, plan.stderr
        rows = {row["host"]: row for row in json.loads(plan.stdout)["images"]}
        assert rows["lab1"]["action"] == "present"
        others = [h.name for h in lab.hosts if h.name != "lab1" and h.name in rows]
        assert set(blocked) <= set(others)
        for host in others:
            row = rows[host]
            assert (row["action"], row["source"], row["image"]) == ("push", "lab1", image)
            # Only the random file and the marker: the busybox base is there already.
            assert BIG <= row["bytes"] < BIG + MB, row
        text = corral_on(lab, "plan", str(folder), "--stack", stack)
        assert f"push from lab1 ({BIG / 1e6:.1f} MB)" in text.stdout

        result = corral_on(lab, "deploy", str(folder), "--stack", stack, "--yes")
        assert result.returncode == 0, result.stderr
        assert stack_images(lab, stack) == {host: {image} for host in ["lab1", *others]}
        for host in others:
            line = next(line for line in result.stderr.splitlines()
                        if f" {host} " in f" {line} " and " push " in line and " done" in line)
            assert "2 of 3 layers" in line, line
        # A second deploy has every image: nothing moves.
        again = corral_on(lab, "plan", str(folder), "--stack", stack, "--json")
        assert {row["action"] for row in json.loads(again.stdout)["images"]} <= {"present"}
    finally:
        cleanup(lab, stack, [image])


@pytest.fixture
def in_registry(lab: Lab):
    """An image in the lab registry that no lab host holds any more: (ref, pusher)."""
    pusher = lab.registry_hosts(reachable=True)[0]
    name = f"corral-test/dpull-{uuid.uuid4().hex[:6]}"
    ref = f"{lab.registry_address}/{name}:1"
    client = engine(lab.host(pusher).socket)
    image_id = build_layered_image(client, name, "1", big_bytes=BIG)
    push_to_registry(client, image_id, ref)
    remove_image(client, ref)
    remove_image(client, f"{name}:1")
    yield ref, pusher
    for host in lab.hosts:
        remove_image(engine(host.socket), ref)


def test_a_registry_image_is_pulled_by_a_host_that_reaches_the_registry(
        lab: Lab, tmp_path: Path, in_registry) -> None:
    ref, host = in_registry
    options = inventory_of(lab, tmp_path / "inventory.yaml", [host])
    folder = write_stack(tmp_path / "stack", ref)
    stack = "dpull"
    try:
        plan = corral_here("plan", str(folder), "--stack", stack, "--json", *options)
        assert plan.returncode == 0, plan.stderr
        [row] = json.loads(plan.stdout)["images"]
        assert (row["host"], row["action"], row["source"]) == (
            host, "pull", lab.registry_address)
        result = corral_here("deploy", str(folder), "--stack", stack, "--yes", *options)
        assert result.returncode == 0, result.stderr
        assert any(f" {host} " in line and " pull " in line and " done" in line
                   for line in result.stderr.splitlines()), result.stderr
        assert stack_images(lab, stack) == {host: {ref}}
    finally:
        cleanup(lab, stack, [ref], *options)


def test_pull_never_refuses_in_one_line_and_changes_nothing(
        lab: Lab, tmp_path: Path, in_registry) -> None:
    ref, host = in_registry
    options = inventory_of(lab, tmp_path / "inventory.yaml", [host])
    folder = write_stack(tmp_path / "stack", ref)
    result = corral_here("deploy", str(folder), "--stack", "dnever", "--yes",
                         "--pull", "never", *options)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if ref in line]
    assert len(lines) == 1, result.stderr
    assert host in result.stderr and "unavailable" in lines[0] and "--pull never" in lines[0]
    assert "nothing was changed" in result.stderr
    assert stack_images(lab, "dnever") == {}
    client = engine(lab.host(host).socket)
    assert not client.containers.list(all=True, filters={"label": f"{L.STACK}=dnever"})
    assert not client.volumes.list(filters={"label": f"{L.RECORD}=dnever"})


def test_a_host_that_cannot_reach_the_registry_gets_a_push_instead(
        lab: Lab, tmp_path: Path, in_registry) -> None:
    ref, pusher = in_registry
    blocked = lab.registry_hosts(reachable=False)[0]
    options = inventory_of(lab, tmp_path / "inventory.yaml", [pusher, blocked])
    folder = write_stack(tmp_path / "stack", ref)
    stack = "dfall"
    try:
        plan = corral_here("plan", str(folder), "--stack", stack, "--json", *options)
        rows = {row["host"]: row for row in json.loads(plan.stdout)["images"]}
        assert rows[pusher]["action"] == rows[blocked]["action"] == "pull"
        # Nobody holds it yet: the blocked host has no fallback until the pusher pulls.
        assert rows[blocked]["fallback"] == ""
        first = corral_here("deploy", str(folder), "--stack", stack, "--yes", *options)
        assert first.returncode != 0
        assert blocked in first.stderr and "unreachable" in first.stderr
        # Now the pusher holds it: the plan names it as the fallback, and the deploy
        # pushes it to the blocked host after its pull fails fast.
        plan = corral_here("plan", str(folder), "--stack", stack, "--json", *options)
        rows = {row["host"]: row for row in json.loads(plan.stdout)["images"]}
        assert rows[pusher]["action"] == "present"
        assert (rows[blocked]["action"], rows[blocked]["fallback"]) == ("pull", pusher)
        second = corral_here("deploy", str(folder), "--stack", stack, "--yes", *options)
        assert second.returncode == 0, second.stderr
        assert any(f" {blocked} " in line and " push " in line and " done" in line
                   for line in second.stderr.splitlines()), second.stderr
        assert stack_images(lab, stack) == {pusher: {ref}, blocked: {ref}}
    finally:
        cleanup(lab, stack, [ref], *options)


def test_an_upgrade_to_an_image_only_lab1_has_pushes_it_first(
        lab: Lab, tmp_path: Path) -> None:
    image = f"corral-test/dup-{uuid.uuid4().hex[:6]}:1"
    build_layered_image(engine(lab.host("lab1").socket), image.split(":")[0], "1",
                        big_bytes=MB)
    stack = "dup"
    try:
        first = write_stack(tmp_path / "v1", "corral-lab/busybox:1")
        result = corral_on(lab, "deploy", str(first), "--stack", stack, "--yes")
        assert result.returncode == 0, result.stderr
        hosts = sorted(stack_images(lab, stack))
        second = write_stack(tmp_path / "v2", image)
        result = corral_on(lab, "upgrade", str(second), "--stack", stack, "--yes")
        assert result.returncode == 0, result.stderr
        pushed = {line.split()[2] for line in result.stderr.splitlines()
                  if " push " in line and " done" in line}
        assert pushed == set(hosts) - {"lab1"}, result.stderr
        assert stack_images(lab, stack) == {host: {image} for host in hosts}
        assert corral_on(lab, "confirm", stack, "--yes").returncode == 0
    finally:
        cleanup(lab, stack, [image])
