"""`corral images ls|push|pull|prune` against the lab (issue 13, command line).

An image built on lab1 is pushed to two hosts at once (one of them blocked from
the registry: a push needs no registry), another is pulled by a reachable host
from the lab registry, `ls` shows both with the containers using them, and
`prune` asks, then removes only the images no container uses. Read-only
refuses push, pull and prune in one line each.
"""

from __future__ import annotations

import json
import uuid

import docker
import pytest

from corral.backends.inventory import local_inventory
from tests.support.deploy import corral_on as corral
from tests.support.images import MB, build_layered_image, push_to_registry, remove_image
from tests.support.lab import Lab
from tests.support.lab_cli import engine

pytestmark = pytest.mark.lab

BASE = "corral-lab/busybox:1"


@pytest.fixture(scope="module")
def images(lab: Lab):
    """(pushed, pulled): an image on lab1 only, and one in the lab registry only."""
    reachable = [name for name in lab.registry_hosts(reachable=True) if name != "lab1"]
    assert reachable and lab.registry_hosts(reachable=False), "the lab has both kinds"
    source = engine(lab.host("lab1").socket)
    suffix = uuid.uuid4().hex[:8]
    pushed = f"corral-test/cli-push-{suffix}:1"
    build_layered_image(source, *pushed.split(":"), big_bytes=4 * MB)
    pulled = f"{lab.registry_address}/corral-test/cli-pull-{suffix}:1"
    image_id = build_layered_image(source, f"corral-test/cli-pull-{suffix}", "1",
                                   big_bytes=2 * MB)
    push_to_registry(source, image_id, pulled)
    for ref in (pulled, f"corral-test/cli-pull-{suffix}:1"):
        remove_image(source, ref)
    yield pushed, pulled
    for host in lab.hosts:
        client = engine(host.socket)
        for container in client.containers.list(all=True, filters={"label": "corral-test-cli"}):
            container.remove(force=True)
        for ref in (pushed, pulled):
            remove_image(client, ref)


def image_id(lab: Lab, host: str, ref: str) -> str | None:
    try:
        return engine(lab.host(host).socket).api.inspect_image(ref)["Id"]
    except docker.errors.NotFound:
        return None


def test_push_to_two_hosts_at_once_one_line_each(lab: Lab, images) -> None:
    pushed, _ = images
    reachable = next(n for n in lab.registry_hosts(reachable=True) if n != "lab1")
    blocked = lab.registry_hosts(reachable=False)[0]
    result = corral(lab, "images", "push", pushed, "--to", f"{reachable},{blocked}")
    assert result.returncode == 0, result.stderr
    lines = sorted(result.stdout.splitlines())
    assert len(lines) == 2, result.stdout
    for line, host in zip(lines, sorted([reachable, blocked]), strict=True):
        assert line.startswith(f"{host}: {pushed} pushed from lab1: "), line
        assert " sent in " in line and "already there" in line
    wanted = image_id(lab, "lab1", pushed)
    assert image_id(lab, reachable, pushed) == wanted == image_id(lab, blocked, pushed)

    again = corral(lab, "images", "push", pushed, "--to", blocked, "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["ok"] and report["mode"] == "present" and report["bytes_sent"] == 0
    assert report["host"] == blocked


def test_push_from_the_local_engine(lab: Lab, images, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--from local`: this machine's engine (lab1's socket plays it), reached without SSH."""
    pushed, _ = images
    target = lab.registry_hosts(reachable=False)[0]
    remove_image(engine(lab.host(target).socket), pushed)
    monkeypatch.setattr("corral.backends.inventory.local_inventory",
                        lambda: local_inventory(lab.host("lab1").socket))
    result = corral(lab, "images", "push", pushed, "--to", target, "--from", "local")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{target}: {pushed} pushed from local: "), result.stdout
    assert image_id(lab, target, pushed) == image_id(lab, "lab1", pushed)


def test_pull_on_a_reachable_host_and_one_line_for_a_blocked_one(lab: Lab, images) -> None:
    _, pulled = images
    reachable = next(n for n in lab.registry_hosts(reachable=True) if n != "lab1")
    blocked = lab.registry_hosts(reachable=False)[0]
    result = corral(lab, "images", "pull", pulled, "--to", f"{reachable},{blocked}")
    assert result.returncode == 1
    assert result.stdout.startswith(f"{reachable}: {pulled} pulled: "), result.stdout
    errors = result.stderr.splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"corral: {blocked}: "), result.stderr
    assert "unreachable" in errors[0]
    assert image_id(lab, reachable, pulled) and not image_id(lab, blocked, pulled)


def test_ls_shows_images_and_their_users(lab: Lab, images) -> None:
    pushed, pulled = images
    host = next(n for n in lab.registry_hosts(reachable=True) if n != "lab1")
    client = engine(lab.host(host).socket)
    user = f"cli-user-{uuid.uuid4().hex[:6]}"
    client.containers.create(pushed, name=user, labels={"corral-test-cli": "1"})
    result = corral(lab, "images", "ls", "--host", host, "--json")
    assert result.returncode == 0, result.stderr
    listed = {tag: row for row in json.loads(result.stdout) for tag in row["tags"]}
    assert listed[pushed]["used_by"] == [user] and listed[pushed]["host"] == host
    assert listed[pulled]["used_by"] == [] and listed[pulled]["size"] > 2 * MB
    table = corral(lab, "images", "ls", "--host", host).stdout.splitlines()
    assert table[0].split() == ["HOST", "IMAGE", "ID", "SIZE", "USED", "BY", "CREATED"]
    assert any(pushed in line and user in line for line in table)


def test_prune_asks_then_removes_only_unused_images(lab: Lab, images) -> None:
    pushed, pulled = images
    host = next(n for n in lab.registry_hosts(reachable=True) if n != "lab1")
    client = engine(lab.host(host).socket)
    for ref in (pushed, BASE):  # used: they must stay
        client.containers.create(ref, labels={"corral-test-cli": "1"})
    assert image_id(lab, host, pulled)
    # The lab's own images serve the tests after this one: held by a container too.
    for image in client.images.list():
        if image.id != image_id(lab, host, pulled):
            client.containers.create(image.id, command=["true"],
                                     labels={"corral-test-cli": "1"})

    refused = corral(lab, "images", "prune", "--host", host)
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1
    assert "pass --yes" in refused.stderr and image_id(lab, host, pulled)

    result = corral(lab, "images", "prune", "--host", host, "--yes")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{host}: removed ") and pulled in result.stdout
    assert image_id(lab, host, pulled) is None
    assert image_id(lab, host, pushed) and image_id(lab, host, BASE)
    used = {c.attrs["Image"] for c in client.containers.list(all=True)}
    assert {image.id for image in client.images.list()} <= used


@pytest.mark.parametrize(("argv", "verb"), [
    (["push", "{pushed}", "--to", "lab2"], "image.push"),
    (["pull", "{pulled}", "--all"], "image.pull"),
    (["prune", "--host", "lab2", "--yes"], "image.rm"),
])
def test_read_only_refuses_push_pull_and_prune(lab: Lab, images, argv, verb) -> None:
    pushed, pulled = images
    words = [word.format(pushed=pushed, pulled=pulled) for word in argv]
    result = corral(lab, "--readonly", "images", *words)
    assert result.returncode != 0 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and f"refusing to {verb}" in lines[0], result.stderr
