"""Property tests: arbitrary input never raises anything but the catalog's errors."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.catalog.errors import CatalogError
from corral.catalog.gotemplate.execute import render_template
from corral.catalog.interpolate import interpolate_string
from corral.catalog.lint import lint_path

_PIECES = st.sampled_from([
    "{{", "}}", "{{-", "-}}", " ", "\n", ".Values.A", ".Stack.Name", "$x", ":=", "=", "|",
    "(", ")", "if", "else", "end", "range", "with", "until", "atoi", "eq", "ne", "and", "or",
    "not", "printf", '"%s"', '"%d"', "1", "-3", "2.5", "'a'", "`raw`", "$", ",", "break",
    "continue", "/*", "*/", "nil", "true", "index", "len", "contains", "default", "x", ".",
])
_SETTINGS = settings(max_examples=400, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.lists(_PIECES, max_size=25).map("".join) | st.text(max_size=60))
def test_template_renderer_raises_only_template_errors(text: str) -> None:
    with contextlib.suppress(CatalogError):
        render_template(text, values={"A": "3"}, stack={"Name": "s"}, name="t")


@_SETTINGS
@given(st.text(alphabet="$${}AB_9: !x", max_size=30))
def test_interpolation_raises_only_value_errors(text: str) -> None:
    with contextlib.suppress(ValueError):
        interpolate_string(text, {"A": "1"})


_YAML_PIECES = st.sampled_from([
    "a:", " b", "- ", "\n", "  ", "image: x", "version: '2'", "services:", "{", "}", "[", "]",
    "&a", "*a", "<<: *a", "!!set", "'", '"', "${X}", "$", "ports: [80]", "volumes: [d:/d]",
    ":", "labels:", "io.rancher.sidekicks: w", "health_check:", "port: x", "catalog:",
    "questions:", "- variable: A", "type: int", "default: 1", "{{", "}}", "scale: -1",
])
_YAML = st.lists(_YAML_PIECES, max_size=30).map("".join) | st.text(max_size=80)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(config=_YAML, compose=_YAML, rancher=_YAML, tpl=st.booleans())
def test_loader_and_lint_never_crash(config: str, compose: str, rancher: str, tpl: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        version = Path(folder, "templates", "e", "0")
        version.mkdir(parents=True)
        (version.parent / "config.yml").write_text(config)
        (version / f"docker-compose.yml{'.tpl' if tpl else ''}").write_text(compose)
        (version / "rancher-compose.yml").write_text(rancher)
        try:
            results = lint_path(folder)
        except CatalogError:
            return
        for result in results:
            result.to_dict()
