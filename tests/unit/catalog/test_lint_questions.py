"""`corral catalog lint` points at questions whose rules contradict themselves (issue 16, 7)."""

from __future__ import annotations

from corral.catalog.lint import lint_path
from tests.support.catalog_tree import simple_entry

RANCHER = """\
.catalog:
  name: App
  version: 1.0
  questions:
    - variable: PORT
      type: int
      default: 8080
    - variable: FLAG
      type: boolean
      default: maybe
    - variable: COUNT
      type: int
      min: 10
      max: 1
    - variable: ENABLED
      type: boolean
      default: true
"""


def test_lint_names_file_and_question_of_a_bad_boolean_default_and_min_over_max(
        make_catalog) -> None:
    files = simple_entry("app")
    files["templates/app/0/rancher-compose.yml"] = RANCHER
    root = make_catalog(files)
    [result] = lint_path(root)
    assert not result.ok
    errors = {(p.file, p.line): p.message for p in result.problems if p.severity == "error"}
    rancher = str(root / "templates/app/0/rancher-compose.yml")
    assert errors[(rancher, 10)] == (
        "question FLAG: a boolean default must be true or false, not 'maybe'")
    assert errors[(rancher, 13)] == "question COUNT: min is greater than max"
    assert len(errors) == 2  # `default: true` is fine
