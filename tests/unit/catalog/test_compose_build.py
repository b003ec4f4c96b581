"""`build:` in a compose file: read into Service.build, the image named, the plan's rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.backends.deploy import build as build_mod
from corral.backends.deploy import image_plan
from corral.catalog.answers import resolve_answers
from corral.catalog.errors import RenderError
from corral.catalog.loader import Version
from corral.catalog.render import render


def stack_of(folder: Path, text: str):
    (folder / "docker-compose.yml").write_text(text)
    version = Version(entry_id="t", folder=folder, revision="t",
                      compose_file=folder / "docker-compose.yml", standalone=True)
    return render(version, resolve_answers(()), stack_name="Shop")


def test_build_reads_the_context_and_names_the_image(tmp_path: Path) -> None:
    """Before: `build:` was unsupported ("Corral does not build images yet")."""
    (tmp_path / "app").mkdir()
    stack = stack_of(tmp_path, "services:\n  web:\n    build: ./app\n"
                               "  api:\n    build: {context: ., target: prod}\n"
                               "    image: team/api:2\n")
    web, api = stack.service("web"), stack.service("api")
    assert web.build.context == str(tmp_path / "app") and web.image == "shop-web:corral"
    assert api.build.context == str(tmp_path) and api.build.target == "prod"
    assert api.image == "team/api:2"
    assert not [p for p in stack.warnings if p.severity == "unsupported"]


@pytest.mark.parametrize("value, text", [
    ("./nowhere", "is not a folder"),
    ("https://github.com/x/y.git", "builds only from a folder on this machine"),
    ("[1, 2]", "expected a context folder or a mapping"),
])
def test_bad_build_values_are_one_error_naming_the_line(tmp_path: Path, value: str,
                                                        text: str) -> None:
    with pytest.raises(RenderError) as info:
        stack_of(tmp_path, f"services:\n  web:\n    build: {value}\n")
    lines = info.value.diagnostics()
    assert any(text in line and "docker-compose.yml:3" in line for line in lines), lines


def test_a_built_image_is_pushed_from_the_local_build_or_unavailable(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(image_plan, "local_socket", lambda: "/run/docker.sock")
    row = image_plan._built_row("lab1", "shop-web:corral", "/src/app")
    assert row.describe() == "push from local build; built here from /src/app"
    monkeypatch.setattr(image_plan, "local_socket", lambda: None)
    monkeypatch.setenv(build_mod.ENV_LOCAL_DOCKER, str(tmp_path / "none.sock"))
    row = image_plan._built_row("lab1", "shop-web:corral", "/src/app")
    assert row.action == "unavailable"
    assert row.why.startswith(f"build: needs a Docker engine on this machine to build with"
                              f" (none at {tmp_path / 'none.sock'}")


def test_the_local_socket_must_be_a_socket(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("")
    monkeypatch.setenv(build_mod.ENV_LOCAL_DOCKER, str(tmp_path / "plain"))
    assert build_mod.local_socket() is None


def test_an_edited_context_changes_the_config_hash(tmp_path: Path) -> None:
    from corral.backends.deploy.body import config_hash
    from corral.backends.deploy.files import BUILD_CONTEXT_LABEL, mark_builds

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM x\n")
    text = "services:\n  web:\n    build: ./app\n  db:\n    image: x\n"

    def hashes():
        stack = mark_builds(stack_of(tmp_path, text))
        return stack, {s.name: config_hash(stack, s) for s in stack.services}

    stack, first = hashes()
    assert len(stack.service("web").labels[BUILD_CONTEXT_LABEL]) == 64
    assert hashes()[1] == first
    (tmp_path / "app" / "Dockerfile").write_text("FROM y\n")
    changed = hashes()[1]
    assert changed["web"] != first["web"] and changed["db"] == first["db"]
