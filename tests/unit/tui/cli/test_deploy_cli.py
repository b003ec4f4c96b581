"""The deploy commands' behaviour that needs no reachable host."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from corral.catalog.errors import CatalogError, RenderError
from corral.tui.cli.deploy_args import render_source, version_at
from corral.tui.cli.main import build_parser
from corral.tui.cli.support import UsageError, ask, run_guarded
from tests.support.catalog_tree import simple_entry, write_tree


def run(capsys, *argv: str) -> tuple[int, str, str]:
    args = build_parser().parse_args(list(argv))
    code = run_guarded(args.func, args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def offline_inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inv.yaml"
    path.write_text("hosts:\n  - name: gone\n    ssh: root@127.0.0.1:9\n")
    return path


def source_args(source: str, *sets: str, stack: str = "demo") -> argparse.Namespace:
    return argparse.Namespace(source=source, stack=stack, version=None, answers=None,
                              sets=list(sets), catalog=[])


def test_unknown_entry_is_a_usage_error(capsys) -> None:
    with pytest.raises(CatalogError, match="nope"):
        render_source(source_args("nope"))
    code, out, err = run(capsys, "plan", "nope", "--stack", "demo")
    assert (code, out, err) == (2, "", "corral: no catalog entry 'nope'\n")


def test_missing_password_answer_names_the_question(capsys) -> None:
    with pytest.raises(CatalogError, match="KV_PASSWORD"):
        render_source(source_args("webrtc-demo"))
    code, out, err = run(capsys, "deploy", "webrtc-demo", "--stack", "demo", "--yes")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("corral: ") and "KV_PASSWORD" in err


def test_every_render_problem_is_one_line_in_order(capsys, tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(
        "web:\n  image: corral-lab/web:1\n  ports: ['99999:80']\n"
        "db:\n  image: corral-lab/db:1\n  restart: sometimes\n")
    with pytest.raises(RenderError) as caught:
        render_source(source_args(str(tmp_path), stack="site"))
    problems = caught.value.problems
    assert len(problems) >= 2
    code, out, err = run(capsys, "plan", str(tmp_path), "--stack", "site")
    assert code == 2 and out == ""
    assert err.splitlines() == [f"corral: {p.location}: {p.label}: {p.message}"
                                for p in problems]
    assert all(line.split(": ")[2] in ("error", "warning") for line in err.splitlines())


def test_bad_stack_name_is_refused() -> None:
    with pytest.raises(CatalogError, match="stack name"):
        render_source(source_args("webrtc-demo", "KV_PASSWORD=longenough", stack="bad_name!"))


def test_compose_file_or_folder_is_a_source(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("web:\n  image: corral-lab/web:1\n")
    for path in (tmp_path, tmp_path / "docker-compose.yml"):
        version = version_at(path)
        assert version.compose_file == tmp_path / "docker-compose.yml"
    stack, _, _ = render_source(source_args(str(tmp_path), stack="site"))
    assert [s.name for s in stack.services] == ["web"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no docker-compose"):
        version_at(tmp_path / "empty")


def test_plan_with_no_host_online_says_so_and_exits_1(capsys, offline_inventory: Path) -> None:
    code, out, err = run(capsys, "plan", "webrtc-demo", "--stack", "demo", "--set",
                         "KV_PASSWORD=longenough", "--inventory", str(offline_inventory),
                         "--connect-timeout", "2")
    assert code == 1 and out.startswith("Stack demo: webrtc-demo ") and "kv (scale 1)" in out
    assert "placement needs hosts: no host is online" in err and "gone: offline" in err
    assert "longenough" not in err + out


def test_plan_without_any_inventory_still_renders_and_checks(capsys, tmp_path: Path,
                                                            monkeypatch) -> None:
    monkeypatch.setattr("corral.backends.inventory.local_inventory", lambda: None)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("CORRAL_INVENTORY", raising=False)
    (tmp_path / "docker-compose.yml").write_text(
        "web:\n  image: corral-lab/web:1\n  image: corral-lab/web:2\n")
    code, out, err = run(capsys, "plan", str(tmp_path), "--stack", "site")
    assert code == 1 and out.strip() == f"Stack site: {tmp_path.name} {tmp_path.name}," \
        " deployable: web (scale 1)"
    lines = err.splitlines()
    assert "warning: duplicate key 'image' at lines 2 and 3" in lines[0]
    assert "placement needs hosts: no inventory" in lines[-1]


@pytest.mark.parametrize("target", ["demo", "demo/web", "demo/web=x", "/web=2", "demo/=2"])
def test_scale_target_must_be_stack_service_count(capsys, target: str) -> None:
    code, _, err = run(capsys, "scale", target, "--yes", "--inventory", "/nonexistent")
    assert code == 2 and "STACK/SERVICE=N" in err


def test_changes_are_refused_without_yes_when_stdin_is_not_a_terminal(monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    with pytest.raises(UsageError, match="--yes"):
        ask(argparse.Namespace(yes=False), "Apply?")
    assert ask(argparse.Namespace(yes=True), "Apply?")


def test_every_verb_is_registered() -> None:
    parser = build_parser()
    for argv in (["plan", "x", "--stack", "s"], ["deploy", "x", "--stack", "s", "--yes"],
                 ["upgrade", "x", "--stack", "s"], ["stacks"], ["rm", "s", "--volumes"],
                 ["scale", "s/a=1"], ["confirm", "s"], ["rollback", "s"],
                 ["reconcile", "--watch", "--interval", "2"]):
        assert callable(parser.parse_args(argv).func)


def test_plan_finds_an_entry_only_the_config_file_catalog_holds(tmp_path: Path, capsys) -> None:
    ops = write_tree(tmp_path / "ops", simple_entry("team-only"))
    config = tmp_path / "config.yaml"
    config.write_text(f"catalogs:\n  - {ops}\n  - {tmp_path / 'gone'}\n")
    args = build_parser().parse_args(["--config", str(config), "plan", "team-only",
                                      "--stack", "team"])
    stack, _, _ = render_source(args)
    assert stack.entry == "team-only" and [s.name for s in stack.services] == ["app"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gone" in err  # a stale folder is only a warning
