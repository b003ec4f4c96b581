"""`corral catalog list|show|render|lint`, called with parsed arguments."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from corral.tui.cli import catalog as catalog_cli
from tests.support.catalog_tree import simple_entry


def run(*argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="corral")
    catalog_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["catalog", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = args.func(args, out, err)
    return code, out.getvalue(), err.getvalue()


def test_list_text_and_json() -> None:
    code, out, _ = run("list")
    assert code == 0 and "webrtc-demo" in out and out.startswith("ENTRY")
    code, out, _ = run("list", "--json")
    entries = json.loads(out)
    assert {"web", "webrtc-demo"} <= {e["id"] for e in entries}


def test_list_with_extra_catalog(make_catalog) -> None:
    root = make_catalog(simple_entry("extra"))
    code, out, _ = run("list", "--json", "--catalog", str(root))
    assert code == 0 and "extra" in {e["id"] for e in json.loads(out)}
    code, _, err = run("list", "--catalog", str(root / "missing"))
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1


def test_show_masks_nothing_secret_and_lists_versions() -> None:
    code, out, _ = run("show", "web")
    assert code == 0 and "1.0.0" in out and "default" in out and "PORT" in out
    code, out, _ = run("show", "web", "--version", "1.1.0", "--json")
    data = json.loads(out)
    assert data["selected"]["version"] == "1.1.0" and data["default_version"] == "0"
    code, _, err = run("show", "nothing")
    assert code == 2 and "no catalog entry" in err
    code, _, err = run("show", "web", "--version", "9")
    assert code == 2 and "no version 9" in err


def test_render_needs_the_password_and_never_prints_it(tmp_path) -> None:
    code, out, err = run("render", "webrtc-demo")
    assert code == 2 and out == "" and "KV_PASSWORD" in err and "Traceback" not in err
    answers = tmp_path / "answers.yml"
    answers.write_text("KV_PASSWORD: from-the-file\nSIGNAL_SCALE: 3\n")
    code, out, err = run("render", "webrtc-demo", "--answers", str(answers),
                         "--set", "SIGNAL_SCALE=4", "--json", "--name", "demo")
    assert code == 0, err
    stack = json.loads(out)
    signal = next(s for s in stack["services"] if s["name"] == "signal")
    assert signal["scale"] == 4 and stack["name"] == "demo"
    assert "from-the-file" not in out and "from-the-file" not in err
    code, out, _ = run("render", "webrtc-demo", "--set", "KV_PASSWORD=abcdefghij")
    assert code == 0 and "global" in out and "sidekick of media" in out


@pytest.mark.parametrize("argv", [
    ("render", "webrtc-demo", "--set", "oops"),
    ("render", "webrtc-demo", "--answers", "/no/such/file.yml"),
    ("render", "webrtc-demo", "--set", "KV_PASSWORD=abcdefghij", "--name", "bad name"),
    ("render", "web", "--set", "PORT=http"),
])
def test_render_bad_input_is_one_line_per_problem_exit_2(argv) -> None:
    code, out, err = run(*argv)
    assert code == 2 and out == "" and err.startswith("error: ") and "Traceback" not in err


def test_lint_builtin_ok_and_broken_catalog_fails(make_catalog) -> None:
    from corral.catalog.loader import builtin_root

    code, out, _ = run("lint", str(builtin_root()))
    assert code == 0 and "0 failing" in out
    files = simple_entry("good")
    files["templates/broken/config.yml"] = "name: b\nversion: '1'\n"
    files["templates/broken/0/docker-compose.yml"] = "w:\n  image: x\n  ports: [bad]\n"
    code, out, _ = run("lint", str(make_catalog(files)), "--json")
    results = json.loads(out)
    assert code == 1
    assert [(r["entry"], r["ok"]) for r in results] == [("broken", False), ("good", True)]
    problem = results[0]["problems"][0]
    assert set(problem) >= {"file", "line", "message"} and problem["line"] == 3
    code, _, err = run("lint", "/no/such/catalog")
    assert code == 2 and "not found" in err


def test_render_prints_each_problem_with_its_severity_and_drops_on_request() -> None:
    from tests.unit.catalog.test_rancher_corpus import CORPUS

    code, out, err = run("render", "agent-role", "--version", "2", "--catalog", str(CORPUS))
    assert code == 0 and "Not deployable" in out
    lines = err.splitlines()
    assert lines and all(line.split(": ")[1] in ("error", "warning") for line in lines)
    assert any(": error: service app: volume_driver rancher-nfs" in line for line in lines)
    code, out, err = run("render", "agent-role", "--version", "2", "--catalog", str(CORPUS),
                         "--without-rancher-features")
    assert code == 0 and "Not deployable" not in out
    assert err.count("warning: dropped (--without-rancher-features)") == 4
    code, out, err = run("render", "nope-yaml", "--catalog", str(CORPUS))
    assert code == 2 and err.startswith("error: ")


def test_list_names_other_orchestrators_and_lint_takes_an_entry_folder() -> None:
    from tests.unit.catalog.test_rancher_corpus import CORPUS

    code, out, _ = run("list", "--catalog", str(CORPUS))
    row = next(line for line in out.splitlines() if line.startswith("kubernetes/guestbook"))
    assert "Kubernetes template (another orchestrator's)" in row
    code, out, _ = run("lint", str(CORPUS / "templates" / "dup-keys"))
    assert code == 0 and out.splitlines()[-1] == "2 versions, 0 failing"
    assert "warning: duplicate key 'image' at lines 2 and 3" in out
