"""The Go template subset: constructs, trimming, comparisons, printf, errors."""

from __future__ import annotations

import pytest

from corral.catalog.errors import TemplateError
from corral.catalog.gotemplate.execute import render_template


def run(text: str, **values: str) -> str:
    return render_template(text, values=values, stack={"Name": "demo", "Version": "1.0"},
                           name="t.tpl").text


def fails(text: str, **values: str) -> TemplateError:
    with pytest.raises(TemplateError) as info:
        run(text, **values)
    return info.value


@pytest.mark.parametrize(("text", "expected"), [
    ("a {{- 1 }} b", "a1 b"),
    ("a {{ 1 -}} b", "a 1b"),
    ("a \n\t {{- 1 -}} \n b", "a1b"),
    ("a{{-3}}b", "a-3b"),  # a dash without a space is a negative number
    ("a {{3 -}}\n\n  b", "a 3b"),
    ("x {{- /* note */ -}} y", "xy"),
    ("x {{/* note */}} y", "x  y"),
    ("line\n{{- if true }}\nkept\n{{- end }}\n", "line\nkept\n"),
])
def test_trim_markers_follow_go(text: str, expected: str) -> None:
    assert run(text) == expected


def test_if_else_if_else_chain() -> None:
    text = ('{{ if eq .Values.A "1" }}one{{ else if eq .Values.A "2" }}two'
            "{{ else }}other{{ end }}")
    assert [run(text, A=v) for v in ("1", "2", "3")] == ["one", "two", "other"]


def test_comparisons_are_between_strings_as_in_rancher() -> None:
    assert run('{{ eq .Values.N "3" }}', N="3") == "true"
    assert "incompatible types for comparison" in fails("{{ eq .Values.N 3 }}", N="3").message
    assert run('{{ ne .Values.N "3" }} {{ lt "a" "b" }} {{ ge 3 3 }}', N="4") == "true true true"


def test_a_false_string_is_true_like_in_go() -> None:
    assert run('{{ if .Values.B }}yes{{ end }}', B="false") == "yes"
    assert run('{{ if eq .Values.B "true" }}yes{{ else }}no{{ end }}', B="false") == "no"


def test_and_or_not_and_missing_values() -> None:
    assert run("{{ and .Values.A .Values.B }}|{{ or .Values.Z .Values.A }}", A="a", B="") == "|a"
    assert run("{{ not .Values.Z }} {{ .Values.Z }} {{ eq .Values.Z \"x\" }}") == \
        "true <no value> false"
    assert run('{{ index .Values "Z" }}|') == "|"


def test_range_until_atoi_and_variables() -> None:
    text = "{{ range $i, $e := until (atoi .Values.N) }}{{ $i }}{{ $e }},{{ end }}"
    assert run(text, N="3") == "00,11,22,"
    assert run("{{ range until 0 }}x{{ else }}none{{ end }}") == "none"
    assert run("{{ range $v := until 2 }}{{ $v }}{{ end }}") == "01"
    assert run("{{ range until 4 }}{{ if eq . 2 }}{{ break }}{{ end }}{{ . }}{{ end }}") == "01"
    assert run("{{ range until 3 }}{{ if eq . 1 }}{{ continue }}{{ end }}{{ . }}{{ end }}") == "02"
    assert run("{{ until 3 }} {{ until -2 }}") == "[0 1 2] [0 -1]"


def test_until_wants_an_int_like_go() -> None:
    error = fails("{{ range until .Values.N }}{{ end }}", N="3")
    assert "expected int; got string" in error.message


def test_variables_scope_and_assignment() -> None:
    assert run("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}") == "2"
    assert run("{{ $ }}") .startswith("map[")
    assert "undefined variable" in fails("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}").message


def test_pipelines_and_stack_fields() -> None:
    assert run('{{ "ab" | printf "%s-%s" "x" }}') == "x-ab"
    assert run('{{ .Stack.Name | upper }} {{ .Values.A | default "d" }}') == "DEMO d"
    assert run('{{ contains "ob" "lobby" }} {{ "lobby" | contains "ob" }}') == "true true"
    assert "can't evaluate field Nope" in fails("{{ .Stack.Nope }}").message


def test_with_sets_dot() -> None:
    assert run("{{ with .Values.A }}[{{ . }}]{{ else }}none{{ end }}", A="x") == "[x]"
    assert run("{{ with .Values.A }}[{{ . }}]{{ else }}none{{ end }}", A="") == "none"


@pytest.mark.parametrize(("fmt", "args", "expected"), [
    ('"%s=%d"', '"a" 5', "a=5"),
    ('"%v %v %v"', '1.5 true "s"', "1.5 true s"),
    ('"%q"', '"a\\"b"', '"a\\"b"'),
    ('"%5d|%-4s|%04d|%x|%X"', '42 "ab" 7 255 255', "   42|ab  |0007|ff|FF"),
    ('"%.2f %e"', "3.14159 1000000.0", "3.14 1.000000e+06"),
    ('"%d"', '"abc"', "%!d(string=abc)"),
    ('"%d %d"', "1", "1 %!d(MISSING)"),
    ('"%d"', '1 "x"', "1%!(EXTRA string=x)"),
    ('"%s"', ".Values.NOPE", "%!s(<nil>)"),
    ('"%t %c %%"', "true 65", "true A %"),
])
def test_printf_follows_go_fmt(fmt: str, args: str, expected: str) -> None:
    assert run(f"{{{{ printf {fmt} {args} }}}}") == expected


def test_go_value_printing() -> None:
    assert run("{{ 1e6 }} {{ 2.5 }} {{ 0x10 }} {{ 'a' }} {{ print nil }}") == \
        "1e+06 2.5 16 97 <nil>"
    assert run('{{ print 1 2 "a" 3 }}|{{ println "a" 1 }}') == "1 2a3|a 1\n"
    assert run('{{ len "héllo" }} {{ list 1 "a" }}') == "6 [1 a]"


@pytest.mark.parametrize(("text", "message", "line"), [
    ("a\n{{ nope }}", 'function "nope" not defined', 2),
    ("a\nb\n{{ if true }}", "unexpected EOF", 3),
    ("{{ end }}", "unexpected {{end}}", 1),
    ("x\n{{ .A ", "unclosed action", 2),
    ("{{ if }}{{ end }}", "missing value for if", 1),
    ("{{ $x }}", 'undefined variable "$x"', 1),
    ("{{ break }}", "{{break}} outside {{range}}", 1),
    ('{{ "abc }}', "unterminated quoted string", 1),
    ("{{ 1x }}", "bad number syntax", 1),
    ("{{ define \"x\" }}{{ end }}", "not supported", 1),
    ("\n\n{{ .Values.A 1 }}", "is not a method but has arguments", 3),
    ("{{ 1 2 }}", "can't give argument to non-function 1", 1),
    ("{{ printf }}", "wrong number of args for printf: want at least 1 got 0", 1),
    ("{{/* open }}", "unclosed comment", 1),
])
def test_errors_name_file_and_line(text: str, message: str, line: int) -> None:
    error = fails(text)
    assert message in error.message
    assert (error.file, error.line) == ("t.tpl", line)
    assert str(error).startswith(f"t.tpl:{line}: ")


def test_limits_stop_runaway_templates() -> None:
    assert "list longer than" in fails("{{ until 100000000 }}").message
    assert "larger than" in fails('{{ printf "%999999999d" 1 }}').message


def test_line_map_points_back_into_the_template() -> None:
    rendered = render_template("a\n{{- if true }}\nb\n{{- end }}\n{{ .Values.M }}\nc\n",
                               values={"M": "x\ny"}, stack={}, name="t")
    assert rendered.text == "a\nb\nx\ny\nc\n"
    assert [rendered.source_line(n) for n in range(1, 6)] == [1, 3, 5, 5, 6]


def test_notemplating_leaves_the_file_alone() -> None:
    assert run("# notemplating\n{{ nope }}\n") == "# notemplating\n{{ nope }}\n"
