"""`${VAR}` interpolation, `$$` escapes and the stack/service macros."""

from __future__ import annotations

import pytest

from corral.catalog.errors import ComposeError
from corral.catalog.interpolate import expand_macros, interpolate_string, interpolate_tree
from corral.catalog.problems import Report, Source
from corral.catalog.yamlsource import load_text

ENV = {"A": "ABC", "X": "XYZ", "E": "", "lower": "ok", "a9": "ok"}


@pytest.mark.parametrize(("text", "expected"), [
    ("$A", "ABC"), ("${A}", "ABC"), ("$A DE", "ABC DE"), ("${A}DE", "ABCDE"),
    ("$$A", "$A"), ("$${A}", "${A}"), ("$$$A", "$ABC"), ("$$${A}", "$ABC"),
    ("$A$X", "ABCXYZ"), ("$B", ""), ("${B}", ""), ("$ADE", ""), ("$E", ""),
    ("$lower", "ok"), ("$a9", "ok"), ("no dollar", "no dollar"),
    ("$${stack_name}/$${service_name}", "${stack_name}/${service_name}"),
])
def test_interpolation_like_rancher(text: str, expected: str) -> None:
    assert interpolate_string(text, ENV) == expected


@pytest.mark.parametrize("text", ["${df:val}", "${", "$}", "${}", "${ A}", "${A }", "${A!}",
                                  "$!", "$9a", "end$"])
def test_invalid_interpolation(text: str) -> None:
    with pytest.raises(ValueError):
        interpolate_string(text, ENV)


def test_tree_keeps_lines_warns_on_unset_and_names_the_key() -> None:
    document = load_text("a:\n  env:\n    K: ${A}\n    L: ${MISSING}\n  list: [$X]\n", source="f")
    report = Report()
    result = interpolate_tree(document, ENV, Source("f"), report)
    assert result == {"a": {"env": {"K": "ABC", "L": ""}, "list": ["XYZ"]}}
    assert result["a"]["env"].line_of("L") == 4
    assert [(p.severity, p.line) for p in report.problems] == [("warning", 4)]
    with pytest.raises(ComposeError) as info:
        interpolate_tree(load_text("a:\n  b: x$\n", source="f"), ENV, Source("f"), Report())
    assert str(info.value) == 'f:2: invalid interpolation format for key "b": "x$"'


def test_macros_expand_per_service_after_interpolation() -> None:
    document = load_text("labels:\n  k: $${stack_name}/$${service_name}\n", source="f")
    interpolated = interpolate_tree(document, ENV, Source("f"), Report())
    assert interpolated["labels"]["k"] == "${stack_name}/${service_name}"
    expanded = expand_macros(interpolated, "st", "web")
    assert expanded["labels"]["k"] == "st/web"
    assert expanded["labels"].line_of("k") == 2


@pytest.mark.parametrize(("text", "expected"), [
    ("${A:-d}", "ABC"), ("${B:-d}", "d"), ("${E:-d}", "d"), ("${E-d}", ""), ("${B-d}", "d"),
    ("${A:+alt}", "alt"), ("${E:+alt}", ""), ("${E+alt}", "alt"), ("${B+alt}", ""),
    ("${B:-${A}x}", "ABCx"), ("${B:-$$}", "$"), ("${A?e}", "ABC"), ("${E?e}", ""),
    ("x${B:-}y", "xy"),
])
def test_compose_specification_modifiers(text: str, expected: str) -> None:
    assert interpolate_string(text, ENV) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("${B:?B is needed}", "B is needed"), ("${E:?}", "required variable E is missing a value"),
    ("${B?gone}", "gone"),
])
def test_required_variables_fail_naming_the_line(text: str, message: str) -> None:
    document = load_text(f"a:\n  b: '{text}'\n", source="f")
    with pytest.raises(ComposeError) as info:
        interpolate_tree(document, ENV, Source("f"), Report())
    assert str(info.value) == f'f:2: key "b": {message}'


def test_env_files_read_as_compose_reads_them() -> None:
    from corral.catalog.compose.resolve import parse_env_text
    from corral.catalog.errors import CatalogError

    text = ("# comment\n\nexport A=1\nB = two words # note\nC='$A literal'\nD=\"x $A\"\n"
            "E=${A:-z}${NOPE:-y}\nBARE\n")
    assert parse_env_text(text, "f.env", {"OUTER": "o"}) == {
        "A": "1", "B": "two words", "C": "$A literal", "D": "x 1", "E": "1y"}
    with pytest.raises(CatalogError, match="f.env:2: expected KEY=VALUE"):
        parse_env_text("A=1\nnot a line\n", "f.env")
