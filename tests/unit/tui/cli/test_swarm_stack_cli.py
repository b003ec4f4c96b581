"""The stack verbs' hand-over to the Swarm engine, without a reachable host."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from corral.tui.cli.main import build_parser
from corral.tui.cli.support import run_guarded
from corral.tui.cli.swarm_stack import is_swarm


def run(capsys, *argv: str) -> tuple[int, str, str]:
    args = build_parser().parse_args(list(argv))
    code = run_guarded(args.func, args)
    out, err = capsys.readouterr()
    return code, out, err


def inventory(tmp_path: Path, engine: str = "") -> Path:
    path = tmp_path / f"inv{engine}.yaml"
    path.write_text("hosts:\n  - name: gone\n    ssh: root@127.0.0.1:9\n"
                    + (f"engine: {engine}\n" if engine else ""))
    return path


def test_the_engine_comes_from_the_option_else_the_inventory(tmp_path: Path) -> None:
    swarm, plain = inventory(tmp_path, "swarm"), inventory(tmp_path)
    assert is_swarm(argparse.Namespace(inventory=str(swarm), engine=None))
    assert not is_swarm(argparse.Namespace(inventory=str(swarm), engine="standalone"))
    assert not is_swarm(argparse.Namespace(inventory=str(plain), engine=None))
    assert is_swarm(argparse.Namespace(inventory=str(plain), engine="swarm"))


@pytest.mark.parametrize("verb", ["plan", "deploy", "upgrade", "confirm", "rollback", "scale",
                                  "rm", "stacks"])
def test_every_stack_verb_takes_the_engine(verb: str) -> None:
    assert "--engine" in build_parser()._subparsers._group_actions[0].choices[verb].format_help()


def test_the_swarm_engine_without_a_swarm_says_so_in_one_line(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "stacks", "--engine", "swarm", "--inventory",
                         str(inventory(tmp_path)), "--connect-timeout", "1")
    assert code == 1 and out == ""
    assert err.strip().splitlines()[-1] == ("corral: engine swarm: no inventory host is in a"
                                            " swarm (`corral swarm init --hosts H1,H2,H3`"
                                            " first)")


def test_a_bad_bundle_is_one_line_before_any_host_on_the_swarm_engine(
        capsys, tmp_path: Path) -> None:
    bad = tmp_path / "x.tar"
    bad.write_bytes(b"\x01" * 3000)
    code, out, err = run(capsys, "plan", "--bundle", str(bad), "--stack", "s",
                         "--engine", "swarm", "--inventory", str(inventory(tmp_path)))
    assert code == 1 and out == ""
    assert err == f"corral: {bad}: not a bundle (not a tar: invalid header)\n"


def test_confirm_on_swarm_is_a_no_op_saying_so(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "confirm", "shop", "--engine", "swarm", "--yes",
                         "--inventory", str(inventory(tmp_path)))
    assert code == 0 and "nothing to confirm" in err


def test_the_swarm_plan_text_lists_each_nodes_images() -> None:
    from corral.backends.deploy import ImageRow
    from corral.backends.swarm import SwarmPlan, translate
    from corral.backends.swarm.services import Step
    from corral.tui.cli.swarm_stack import plan_text
    from tests.support.plan import stack, svc

    st = stack(svc("web"))
    plan = SwarmPlan(st, "lab1", translate(st), [Step("create", "web", "st_web", replicas=1)],
                     images=[ImageRow("lab1", "corral-lab/busybox:1", "present"),
                             ImageRow("lab2", "corral-lab/busybox:1", "push", "bundle b.tar",
                                      bytes=2_100_000)])
    lines = plan_text(plan).splitlines()
    at = lines.index("Images:")
    assert [line.split(None, 2) for line in lines[at + 2:]] == [
        ["lab1", "corral-lab/busybox:1", "present"],
        ["lab2", "corral-lab/busybox:1", "push from bundle b.tar (2.1 MB)"]]
