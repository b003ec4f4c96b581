"""Rancher 1.6's template function set: sprig's TxtFuncMap plus `splitPreserveQuotes`.

One case (or more) per function, each with Go's/sprig's result; the
functions Corral leaves out are named with their reason; every function that
builds something stays within the template bounds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corral.catalog.errors import TemplateError
from corral.catalog.gotemplate.execute import render_template
from corral.catalog.gotemplate.funcs_text import split_preserve_quotes
from corral.catalog.gotemplate.library import FUNCTIONS, NOT_OFFERED


def run(text: str, **values: str) -> str:
    return render_template(text, values=values, stack={"Name": "demo", "Version": "1.0"},
                           name="t.tpl").text


def fails(text: str, **values: str) -> TemplateError:
    with pytest.raises(TemplateError) as info:
        run(text, **values)
    return info.value


@pytest.mark.parametrize(("given", "expected"), [
    # rancher-compose-executor template/funcs/split_preserve_quotes_test.go
    ("--a", ["--a"]),
    ("--a --b", ["--a", "--b"]),
    ("--a --b='c d' --e='f'", ["--a", "--b='c d'", "--e='f'"]),
    ('--a --b="c d" --e="f"', ["--a", '--b="c d"', '--e="f"']),
    ("", []),
    ("a  b", ["a", "", "b"]),
])
def test_split_preserve_quotes_follows_rancher(given: str, expected: list[str]) -> None:
    assert split_preserve_quotes(given) == expected


def test_split_preserve_quotes_in_a_command_list() -> None:
    text = ('command:\n{{- range splitPreserveQuotes .Values.ARGS }}\n  - {{ . | quote }}'
            "\n{{- end }}")
    assert run(text, ARGS="--name 'a b' -v") == \
        "command:\n  - \"--name\"\n  - \"'a b'\"\n  - \"-v\""


@pytest.mark.parametrize(("text", "expected"), [
    ('{{ $p := split "," "a,b,c" }}{{ $p._0 }}-{{ $p._2 }}', "a-c"),
    ('{{ $p := splitn "," 2 "a,b,c" }}{{ $p._1 }}', "b,c"),
    ('{{ substr 1 3 "hello" }}', "el"),
    ('{{ substr -1 3 "hello" }}', "hel"),
    ('{{ substr 2 99 "hello" }}', "llo"),
    ('{{ abbrev 5 "hello world" }}', "he..."),
    ('{{ abbrev 3 "hello world" }}', ""),
    ('{{ abbrevboth 5 10 "1234 5678 9123" }}', "...5678..."),
    ('{{ untitle "Hello World" }}', "hello world"),
    ('{{ initials "First Try" }}', "FT"),
    ('{{ wrap 5 "Hello World" }}', "Hello\nWorld"),
    ('{{ wrapWith 5 "\\t" "Hello World" }}', "Hello\tWorld"),
    ('{{ cat "hello" "beautiful" "world" }}', "hello beautiful world"),
    ('{{ cat "a" nil 3 }}', "a 3"),
    ('{{ plural "one anchovy" "many anchovies" 2 }}', "many anchovies"),
    ('{{ snakecase "FirstName" }}', "first_name"),
    ('{{ camelcase "http_server" }}', "HttpServer"),
    ('{{ kebabcase "FirstName" }}', "first-name"),
    ('{{ swapcase "Hello" }}', "hELLO"),
    ('{{ trimall "$" "$5.00$" }}', "5.00"),
    ("{{ hello }}", "Hello!"),
    ('{{ sha256sum "x" }}', "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"),
    ('{{ sha1sum "x" }}', "11f6ad8ec52a2984abaafd7c3b516503785c2072"),
    ('{{ adler32sum "x" }}', "7929977"),
    ('{{ b64enc "rancher" }}', "cmFuY2hlcg=="),
    ('{{ b64dec "cmFuY2hlcg==" }}', "rancher"),
    ('{{ b32enc "rancher" }}', "OJQW4Y3IMVZA===="),
    ('{{ b32dec "OJQW4Y3IMVZA====" }}', "rancher"),
    ('{{ len (randAlphaNum 12) }}', "12"),
    ('{{ len (randAlpha 3) }}{{ len (randNumeric 4) }}{{ len (randAscii 5) }}', "345"),
    ('{{ len uuidv4 }}', "36"),
    ('{{ len (shuffle "abc") }}', "3"),
    ('{{ toStrings (list 1 "a" true) }}', "[1 a true]"),
    ('{{ first (list 1 2 3) }}{{ last (list 1 2 3) }}', "13"),
    ('{{ rest (list 1 2 3) }}{{ initial (list 1 2 3) }}', "[2 3][1 2]"),
    ('{{ append (list 1) 2 }}{{ push (list 1) 3 }}{{ prepend (list 1) 0 }}', "[1 2][1 3][0 1]"),
    ('{{ reverse (list 1 2 3) }}', "[3 2 1]"),
    ('{{ uniq (list 1 1 2) }}{{ without (list 1 2 3) 2 }}', "[1 2][1 3]"),
    ('{{ has 2 (list 1 2) }}{{ compact (list 1 "" 0 2) }}', "true[1 2]"),
    ('{{ sortAlpha (list "b" "a") }}{{ tuple 1 2 }}{{ biggest 1 5 3 }}', "[a b][1 2]5"),
    ('{{ $d := dict "a" 1 "b" 2 }}{{ $d.a }}{{ hasKey $d "b" }}{{ keys $d | sortAlpha }}',
     "1true[a b]"),
    ('{{ $d := dict "a" 1 }}{{ $_ := set $d "c" 3 }}{{ $d.c }}{{ unset $d "a" }}',
     "3map[c:3]"),
    ('{{ pluck "a" (dict "a" 1) (dict "a" 2) (dict "b" 3) }}', "[1 2]"),
    ('{{ pick (dict "a" 1 "b" 2) "a" }}{{ omit (dict "a" 1 "b" 2) "a" }}', "map[a:1]map[b:2]"),
    ('{{ merge (dict "a" 1) (dict "a" 2 "b" 3) }}', "map[a:1 b:3]"),
    ('{{ typeOf 1 }} {{ typeOf "a" }} {{ typeOf (list) }} {{ typeIs "int" 2 }}',
     "int string []interface {} true"),
    ('{{ kindOf (dict) }} {{ kindIs "slice" (list) }} {{ typeIsLike "string" "a" }}',
     "map true true"),
    ('{{ toJson (dict "a" (list 1 "<b>")) }}', '{"a":[1,"\\u003cb\\u003e"]}'),
    ('{{ toPrettyJson (dict "a" 1) }}', '{\n  "a": 1\n}'),
    ('{{ base "/a/b.txt" }} {{ dir "/a/b.txt" }} {{ clean "a//b/../c" }} {{ ext "x.tar.gz" }}',
     "b.txt /a a/c .gz"),
    ('{{ isAbs "/x" }}{{ isAbs "x" }}', "truefalse"),
    ('{{ regexMatch "^[a-z]+$" "abc" }}', "true"),
    ('{{ regexFind "[0-9]+" "ab12cd34" }}', "12"),
    ('{{ regexFindAll "[0-9]" "a1b2c3" 2 }}', "[1 2]"),
    ('{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}', "-W-xxW-"),
    ('{{ regexReplaceAllLiteral "a(x*)b" "-ab-" "${1}" }}', "-${1}-"),
    ('{{ regexSplit "z+" "pizza" -1 }}', "[pi a]"),
    ('{{ env "HOME" }}|{{ expandenv "x$HOME" }}', "|x"),
])
def test_sprig_functions_match_sprig(text: str, expected: str) -> None:
    assert run(text) == expected


def test_fail_stops_the_render_with_its_message() -> None:
    error = fails('{{ if not .Values.X }}{{ fail "X is required" }}{{ end }}')
    assert "X is required" in error.message and error.line == 1


def test_functions_left_out_are_named_with_the_reason() -> None:
    error = fails("a\n{{ now | date \"2006\" }}")
    assert error.line == 2
    assert "now is not offered by Corral" in error.message and "recreate" in error.message
    assert set(NOT_OFFERED).isdisjoint(FUNCTIONS)


@pytest.mark.parametrize("text", [
    '{{ regexMatch "(a+)+$" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!" }}',
    '{{ regexMatch "(a|aa)*b" "aaaa" }}',
    '{{ regexMatch "(a)\\\\1" "aa" }}',
])
def test_regular_expressions_that_could_run_unbounded_are_refused(text: str) -> None:
    assert re.search(r"unbounded|backreferences", fails(text).message)


@pytest.mark.parametrize("text", [
    "{{ randAlphaNum 2000000 }}",
    '{{ $l := list }}{{ range until 100001 }}{{ $l = append $l 1 }}{{ end }}',
    '{{ wrapWith 1 (repeat 100000 "x") (repeat 600000 "a ") }}',
    '{{ split "" (repeat 200000 "x") }}',
])
def test_builders_stay_within_the_bounds(text: str) -> None:
    assert re.search(r"longer than|more than|larger than", fails(text).message)


def test_every_function_has_a_case_here() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    go_builtins = {"and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index",
                   "print", "printf", "println"}
    tested_elsewhere = {"until", "untilStep", "list", "atoi", "int", "int64", "float64",
                        "toString", "add", "add1", "sub", "mul", "div", "mod", "max", "min",
                        "contains", "hasPrefix", "hasSuffix", "default", "empty", "coalesce",
                        "ternary", "quote", "squote", "upper", "lower", "title", "trim",
                        "trimAll", "trimPrefix", "trimSuffix", "replace", "nospace", "repeat",
                        "trunc", "splitList", "join", "indent", "nindent"}
    missing = [name for name in FUNCTIONS if name not in go_builtins | tested_elsewhere
               and not re.search(rf"\b{name}\b", source.split("def test_every_function")[0])]
    assert missing == []
