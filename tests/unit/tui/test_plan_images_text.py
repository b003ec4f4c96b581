"""`corral plan`'s images part: text and `--json` (made-up hosts and rows)."""

from __future__ import annotations

import dataclasses

from corral.backends.deploy.gather import FleetState
from corral.backends.deploy.prepare import prepare
from corral.tui.cli.main import build_parser
from corral.tui.present.deploy import plan_json, plan_text
from tests.support.catalog_pilot import PASSWORD
from tests.support.deployed import HoldingFleet
from tests.support.plan_pilot import HOSTS, demo, image_rows


def planned(pull: str = "missing"):
    stack, answers = demo()
    return prepare(HoldingFleet(PASSWORD), stack, answers,  # type: ignore[arg-type]
                   state=FleetState(list(HOSTS)), pull=pull)


def test_plan_text_lists_images_that_move_and_json_carries_every_row() -> None:
    prepared = planned("never")
    prepared.images = image_rows(prepared)
    text = plan_text(prepared).splitlines()
    start = text.index("Images:")
    table = [" ".join(line.split()) for line in text[start + 1:start + 6]]
    assert table[0] == "HOST IMAGE HOW"
    assert "lab2 corral/kv:1 push from lab1 (41.9 MB)" in table
    assert any(line.startswith("lab3 corral/signal:1 unavailable:") for line in table)
    data = plan_json(prepared)
    assert data["pull"] == "never"
    assert data["images"][1] == {"host": "lab2", "image": "corral/kv:1", "action": "push",
                                 "source": "lab1", "bytes": 41_900_000, "fallback": "",
                                 "why": ""}


def test_plan_text_says_in_one_line_when_every_image_is_present() -> None:
    prepared = planned()
    prepared.images = [dataclasses.replace(row, action="present")
                       for row in image_rows(prepared)]
    assert "Images: 3 present on lab1, lab2, lab3." in plan_text(prepared).splitlines()
    assert "Images:" not in plan_text(planned())  # rows not read: nothing said


def test_pull_is_an_option_of_plan_deploy_and_upgrade() -> None:
    parser = build_parser()
    for verb in ("plan", "deploy", "upgrade"):
        args = parser.parse_args([verb, "webrtc-demo", "--stack", "s"])
        assert args.pull == "missing"
        args = parser.parse_args([verb, "webrtc-demo", "--stack", "s", "--pull", "never"])
        assert args.pull == "never"
