"""The README's fault table is the fault matrix the lab test runs (issue 16, item 10)."""

from __future__ import annotations

import re
from pathlib import Path

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
            assert run in ("console", "deploy", "push") or text.startswith("n/a")
    assert set(F.EXCEPTIONS) <= {(f, a) for f in F.FAULTS for a in F.ACTIVITIES}
    # Every run for every fault: the lab test parametrises over `runs()`.
    assert F.runs() == [(f, r) for f in F.FAULTS for r in ("console", "deploy", "push")]
