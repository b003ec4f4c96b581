"""Pulling from a registry that wants a login (issue 13, item 1's credentials).

A second lab registry with htpasswd auth (`tests/support/auth_registry.py`) holds
an image no lab host has. With `registries:` credentials (inventory or config
file) a host pulls it, by `images pull` and by a deploy whose plan says `pull`;
with none, or with a wrong password, the pull fails in one line that says so
(not "unreachable"); the operator's Docker configuration (`$DOCKER_CONFIG`) is
used when no entry matches. The password is in no output and not in the audit
trail, in clear or as the engine's encoded header.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path

import docker.auth
import pytest
import yaml

from corral.backends.audit.local import audit_path
from tests.labtests.test_deploy_images import cleanup, stack_images, write_stack
from tests.support.auth_registry import auth_registry
from tests.support.deploy import corral_here
from tests.support.images import MB, build_layered_image, remove_image
from tests.support.lab import Lab
from tests.support.lab_cli import engine

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def authed(lab: Lab):
    """The authenticated registry, holding an image that no lab host holds: (registry, ref)."""
    pusher = lab.registry_hosts(reachable=True)[0]
    with auth_registry(lab) as registry:
        name = f"corral-test/auth-{uuid.uuid4().hex[:6]}"
        ref = f"{registry.address}/{name}:1"
        client = engine(lab.host(pusher).socket)
        image_id = build_layered_image(client, name, "1", big_bytes=MB)
        repo, tag = ref.rsplit(":", 1)
        client.api.tag(image_id, repo, tag)
        for event in client.api.push(repo, tag, stream=True, decode=True,
                                     auth_config=registry.auth_config()):
            assert "error" not in event, event
        for leftover in (ref, f"{name}:1"):
            remove_image(client, leftover)
        client.close()
        yield registry, ref
        for host in lab.hosts:
            remove_image(engine(host.socket), ref)


@pytest.fixture(autouse=True)
def no_docker_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Docker client configuration: only what a test gives counts."""
    folder = tmp_path / "docker-config"
    folder.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    return folder


def options(lab: Lab, folder: Path, hosts: list[str], registries: dict | None = None,
            password: str | None = None) -> list[str]:
    """Global options for an inventory of the lab hosts `hosts`, with `registries:`
    (a password file, 0600, holding `password`, is written beside it)."""
    if password is not None:
        secret = folder / "registry.pw"
        secret.write_text(password + "\n")
        secret.chmod(0o600)
    document: dict = {"hosts": [h for h in yaml.safe_load(lab.inventory.read_text())["hosts"]
                                if h["name"] in hosts]}
    if registries:
        document["registries"] = registries
    inventory = folder / "inventory.yaml"
    inventory.write_text(yaml.safe_dump(document, sort_keys=False))
    return ["--inventory", str(inventory), "--known-hosts", str(lab.known_hosts)]


def entry(registry) -> dict:
    return {registry.address: {"username": registry.username,
                               "password_file": "registry.pw"}}


def assert_secret_kept(registry, *texts: str) -> None:
    """The password is in none of `texts` nor the audit file, in clear or encoded."""
    header = docker.auth.encode_header({"username": registry.username,
                                        "password": registry.password}).decode()
    encoded = base64.b64encode(registry.password.encode()).decode()
    audit = audit_path().read_text() if audit_path().exists() else ""
    assert "image.pull" in audit
    for text in (*texts, audit):
        for secret in (registry.password, header, encoded):
            assert secret not in text


def corral_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("corral: ")]


def test_images_pull_uses_the_registries_entry_and_shows_no_secret(
        lab: Lab, tmp_path: Path, authed) -> None:
    registry, ref = authed
    target = lab.registry_hosts(reachable=True)[1]
    remove_image(engine(lab.host(target).socket), ref)
    opts = options(lab, tmp_path, [target], entry(registry), password=registry.password)
    result = corral_here("images", "pull", ref, "--to", target, *opts)
    assert result.returncode == 0, result.stderr
    assert f"{target}: {ref} pulled" in result.stdout
    assert engine(lab.host(target).socket).images.get(ref)
    again = corral_here("images", "pull", ref, "--to", target, "--json", *opts)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.splitlines()[-1])["ok"] is True
    assert_secret_kept(registry, result.stdout, result.stderr, again.stdout, again.stderr)


def test_without_credentials_the_pull_fails_in_one_line_not_unreachable(
        lab: Lab, tmp_path: Path, authed) -> None:
    registry, ref = authed
    target = lab.registry_hosts(reachable=True)[1]
    remove_image(engine(lab.host(target).socket), ref)
    result = corral_here("images", "pull", ref, "--to", target,
                         *options(lab, tmp_path, [target]))
    assert result.returncode == 1
    name = ref.removeprefix(f"{registry.address}/")
    assert corral_lines(result.stderr) == [
        f"corral: {target}: registry {registry.address} wants credentials for {name} and "
        "none were found (give them under 'registries:' in the inventory or configuration, "
        "or `docker login`)"], result.stderr
    assert "Traceback" not in result.stderr
    assert not engine(lab.host(target).socket).images.list(name=ref)


def test_a_wrong_password_fails_in_one_line_naming_the_entry(
        lab: Lab, tmp_path: Path, authed) -> None:
    registry, ref = authed
    target = lab.registry_hosts(reachable=True)[1]
    remove_image(engine(lab.host(target).socket), ref)
    opts = options(lab, tmp_path, [target], entry(registry), password="not-the-password")
    result = corral_here("images", "pull", ref, "--to", target, *opts)
    assert result.returncode == 1
    name = ref.removeprefix(f"{registry.address}/")
    inventory = opts[1]
    line = 1 + next(number for number, text in
                    enumerate(Path(inventory).read_text().splitlines())
                    if registry.address in text)
    assert corral_lines(result.stderr) == [
        f"corral: {target}: registry {registry.address} refused the credentials for {name} "
        f"(user {registry.username}, registries: at {inventory}:{line})"], result.stderr
    assert "not-the-password" not in result.stderr + result.stdout


def test_the_operators_docker_config_serves_a_registry_with_no_entry(
        lab: Lab, tmp_path: Path, authed, no_docker_login: Path) -> None:
    registry, ref = authed
    target = lab.registry_hosts(reachable=True)[1]
    remove_image(engine(lab.host(target).socket), ref)
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    (no_docker_login / "config.json").write_text(
        json.dumps({"auths": {registry.address: {"auth": token}}}))
    result = corral_here("images", "pull", ref, "--to", target,
                         *options(lab, tmp_path, [target]))
    assert result.returncode == 0, result.stderr
    assert engine(lab.host(target).socket).images.get(ref)


def test_a_deploy_plans_a_pull_and_logs_in_with_the_config_files_entry(
        lab: Lab, tmp_path: Path, authed, monkeypatch: pytest.MonkeyPatch) -> None:
    registry, ref = authed
    target = lab.registry_hosts(reachable=True)[1]
    remove_image(engine(lab.host(target).socket), ref)
    monkeypatch.setenv("CORRAL_TEST_REGISTRY_PW", registry.password)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"registries": {registry.address: {
        "username": registry.username, "password_env": "CORRAL_TEST_REGISTRY_PW"}}}))
    monkeypatch.setenv("CORRAL_CONFIG", str(config))
    opts = options(lab, tmp_path, [target])
    folder = write_stack(tmp_path / "stack", ref)
    stack = "dauth"
    try:
        plan = corral_here("plan", str(folder), "--stack", stack, "--json", *opts)
        assert plan.returncode == 0, plan.stderr
        [row] = json.loads(plan.stdout)["images"]
        assert (row["host"], row["action"], row["source"]) == (
            target, "pull", registry.address)
        result = corral_here("deploy", str(folder), "--stack", stack, "--yes", *opts)
        assert result.returncode == 0, result.stderr
        assert stack_images(lab, stack) == {target: {ref}}
        assert_secret_kept(registry, plan.stdout, plan.stderr, result.stdout, result.stderr,
                           os.environ.get("CORRAL_CONFIG", ""))
    finally:
        cleanup(lab, stack, [ref], *opts)
