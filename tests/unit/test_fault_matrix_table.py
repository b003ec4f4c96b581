"""The README's fault table is the fault matrix the lab test runs (issue 16, item 10)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import fault_push as P
from tests.support import faults as F

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_generated_from_the_matrix() -> None:
    text = README.read_text()
    found = re.search(r"<!-- fault-matrix:begin[^>]*-->\n(.*?)<!-- fault-matrix:end -->",
                      text, re.S)
    assert found, "README.md lost its fault-matrix markers"
    assert found.group(1) == F.readme_table(), (
        "README.md's fault table differs from tests/support/faults.py: paste "
        "readme_table() between the markers")


def test_every_fault_and_activity_has_a_cell_and_a_run_or_a_reason() -> None:
    for fault in F.FAULTS:
        for activity in F.ACTIVITIES:
            text, run = F.cell(fault, activity)
            assert text
            # A cell no run checks says why: not applicable, or proved by another fault's.
            assert run in ("console", "deploy", "push") or text.startswith(("n/a", "as `"))
            if text.startswith("as `"):
                other = text.split("`")[1]
                assert other in F.FAULTS and F.cell(other, activity)[1], (fault, activity)
    assert set(F.EXCEPTIONS) <= {(f, a) for f in F.FAULTS for a in F.ACTIVITIES}
    # Every run for every fault (the lab test parametrises over `runs()`) but the reboot's
    # push: to a push it is an sshd-stop, then an engine restart with nothing in flight.
    assert F.runs() == [(f, r) for f in F.FAULTS for r in ("console", "deploy", "push")
                        if (f, r) != ("reboot", "push")]


def test_every_push_fault_hits_a_console_push_path() -> None:
    pushed = [fault for fault, run in F.runs() if run == "push"]
    assert set(P.CONSOLE_DEPLOY_FAULTS) | set(P.CONSOLE_IMAGES_FAULTS) == set(pushed)
    # Each console path sees an SSH drop and the engine restart under a live session.
    for faults in (P.CONSOLE_DEPLOY_FAULTS, P.CONSOLE_IMAGES_FAULTS):
        assert "dockerd-restart" in faults
        assert set(faults) & set(F.SSH_DROPS)
