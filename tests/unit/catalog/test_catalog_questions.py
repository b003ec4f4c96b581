"""Questions: parsing every key, validating every type and rule, answers merging."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.catalog.answers import dump_answers, load_answers_file, parse_set, resolve_answers
from corral.catalog.errors import AnswerError, RenderError
from corral.catalog.problems import Report, Source
from corral.catalog.questions import TYPES, Question, parse_questions
from corral.catalog.yamlsource import load_text


def parse(text: str) -> tuple[tuple[Question, ...], Report]:
    report = Report()
    questions = parse_questions(load_text(text, source="r.yml"), Source("r.yml"), report)
    return questions, report


def one(**rules) -> Question:
    return Question(variable="X", label="X label", **rules)


def test_parse_reads_every_key() -> None:
    questions, report = parse("""\
- variable: NAME
  label: Name
  description: The name
  type: string
  required: true
  default: abc
  group: Basics
  min_length: 2
  max_length: 8
  valid_chars: a-z
  invalid_chars: q
- variable: N
  type: int
  default: 3
  min: 1
  max: 5
- variable: LEVEL
  type: enum
  options: [a, b]
  default: b
""")
    assert not report.problems
    name, number, level = questions
    assert (name.label, name.description, name.group, name.default) == ("Name", "The name",
                                                                         "Basics", "abc")
    assert (name.min_length, name.max_length, name.valid_chars, name.invalid_chars) == \
        (2, 8, "a-z", "q")
    assert (number.default, number.min, number.max, number.label) == ("3", 1, 5, "N")
    assert level.options == ("a", "b")
    assert (name.file, name.line, number.line) == ("r.yml", 1, 12)


@pytest.mark.parametrize(("text", "message"), [
    ("- type: string", "needs a variable name"),
    ("- variable: A\n  type: color", "unknown type 'color'"),
    ("- variable: A\n  type: enum", "enum question needs options"),
    ("- variable: A\n  type: int\n  min: 5\n  max: 1", "min is greater than max"),
    ("- variable: A\n  min_length: x", "min_length must be a whole number"),
    ("- variable: A\n  valid_chars: 'z-a'", "not a valid character class"),
    ("- variable: A\n- variable: A", "defined twice"),
    ("- variable: A\n  default: [1]", "default must be a single value"),
    ("{}", "questions must be a list"),
])
def test_malformed_questions_are_errors_with_lines(text: str, message: str) -> None:
    _, report = parse(text)
    assert any(message in p.message and p.severity == "error" and p.file == "r.yml"
               for p in report.problems), report.problems


def test_unknown_question_keys_are_warnings() -> None:
    questions, report = parse("- variable: A\n  colour: red\n")
    assert questions
    assert [(p.severity, p.line) for p in report.problems] == [("warning", 2)]
    assert "colour" in report.problems[0].message


def test_all_nine_types_exist() -> None:
    assert set(TYPES) == {"string", "int", "boolean", "password", "secret", "enum",
                          "multiline", "service", "certificate"}


@pytest.mark.parametrize(("question", "value", "error"), [
    (one(required=True), "", "X label is required"),
    (one(required=True), None, "X label is required"),
    (one(type="boolean", required=True), None, None),  # Rancher never required booleans
    (one(), "", None),
    (one(), "a\nb", "must be a single line"),
    (one(type="multiline"), "a\nb", None),
    (one(min_length=3), "ab", "at least 3 characters"),
    (one(max_length=3), "abcd", "at most 3 characters"),
    (one(valid_chars="a-z0-9"), "ab-c d", "not allowed: - [space]"),
    (one(invalid_chars="$@"), "a$b@", "not allowed: $ @"),
    (one(type="int"), "12", None),
    (one(type="int"), "-3", None),
    (one(type="int"), "1.5", "whole number"),
    (one(type="int", min=2), "1", "at least 2"),
    (one(type="int", max=2), "3", "at most 2"),
    (one(type="boolean"), "true", None),
    (one(type="boolean"), "yes", 'must be "true" or "false"'),
    (one(type="enum", options=("a", "b")), "b", None),
    (one(type="enum", options=("a", "b")), "c", "must be one of: a, b"),
    (one(type="service"), "stack/web", None),
    (one(type="service"), "web", None),
    (one(type="service"), "a/b/c", 'as "stack/service"'),
    (one(type="certificate"), "my-cert", None),
    (one(type="password", min_length=8), "short", "at least 8 characters"),
])
def test_validate_every_type_and_rule(question: Question, value: str | None,
                                      error: str | None) -> None:
    message = question.validate(value)
    if error is None:
        assert message is None
    else:
        assert message is not None and error in message


def test_password_messages_and_repr_never_show_the_value() -> None:
    question = one(type="password", invalid_chars="!", default="hunter2!")
    assert question.validate("hunter2!") == "contains characters that are not allowed"
    assert "hunter2" not in repr(question)


def test_boolean_default_is_true_only_for_true() -> None:
    assert one(type="boolean", default="true").initial() == "true"
    assert one(type="boolean", default="yes").initial() == "false"
    assert one(type="boolean").initial() == "false"


@pytest.mark.parametrize("question", [
    one(), one(type="int", min=5, max=9), one(type="int", max=-2), one(type="boolean"),
    one(type="enum", options=("x", "y")), one(type="password", min_length=12),
    one(valid_chars="0-9", max_length=4), one(type="multiline", min_length=20),
    one(type="certificate"), one(type="service"),
])
def test_placeholders_satisfy_the_rules(question: Question) -> None:
    assert question.validate(question.placeholder()) is None


def test_parse_set() -> None:
    assert parse_set(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(AnswerError):
        parse_set(["novalue"])
    with pytest.raises(AnswerError):
        parse_set(["=1"])


def test_answers_file(tmp_path: Path) -> None:
    path = tmp_path / "answers.yml"
    path.write_text("A: 1\nB: true\nC: text\nD:\n")
    values, lines = load_answers_file(path)
    assert values == {"A": "1", "B": "true", "C": "text", "D": ""}
    assert lines["C"] == 3
    path.write_text("A: [1, 2]\n")
    with pytest.raises(AnswerError) as info:
        load_answers_file(path)
    assert str(info.value).startswith(f"{path}:1: ")
    path.write_text("- a\n")
    with pytest.raises(AnswerError):
        load_answers_file(path)


def test_merge_order_defaults_then_file_then_set(tmp_path: Path) -> None:
    questions = [Question("A", "A", default="def"), Question("B", "B", default="def"),
                 Question("C", "C", default="def")]
    path = tmp_path / "a.yml"
    path.write_text("B: file\nC: file\n")
    answers = resolve_answers(questions, file=path, sets=["C=set"])
    assert answers.values == {"A": "def", "B": "file", "C": "set"}
    form = resolve_answers(questions, form={"A": 5})
    assert form.values["A"] == "5"


def test_invalid_answers_are_all_reported_with_their_origin(tmp_path: Path) -> None:
    questions = [Question("N", "N", type="int", file="r.yml", line=4),
                 Question("P", "Password", type="password", required=True, file="r.yml",
                          line=9)]
    path = tmp_path / "a.yml"
    path.write_text("N: ten\n")
    with pytest.raises(RenderError) as info:
        resolve_answers(questions, file=path)
    problems = info.value.problems
    assert [(p.file, p.line) for p in problems] == [(str(path), 1), ("r.yml", 9)]
    assert "N: must be a whole number" in problems[0].message


def test_answers_mask_passwords_and_warn_on_strangers() -> None:
    questions = [Question("P", "P", type="password"), Question("U", "U")]
    answers = resolve_answers(questions, sets={"P": "s3cret", "U": "me", "EXTRA": "1"})
    assert "s3cret" not in repr(answers)
    assert answers.secrets == {"s3cret"}
    assert answers.masked()["P"] == "********"
    assert any("EXTRA" in p.message for p in answers.warnings)
    assert "s3cret" not in dump_answers(answers)
    assert "s3cret" in dump_answers(answers, include_secrets=True)


def test_placeholders_fill_required_questions() -> None:
    questions = [Question("P", "P", type="password", required=True, min_length=10),
                 Question("O", "O")]
    answers = resolve_answers(questions, placeholders=True)
    assert len(answers.values["P"]) >= 10
    assert "O" not in answers.values  # optional, no default: absent as in Rancher


def test_a_secret_question_is_masked_and_never_stored_like_a_password(tmp_path: Path) -> None:
    from corral.backends.deploy.record import definition_of
    from corral.catalog.loader import Version
    from corral.catalog.render import render

    (tmp_path / "docker-compose.yml").write_text(
        "app:\n  image: corral-lab/web:1\n  environment:\n    TOKEN: ${API_TOKEN}\n")
    (tmp_path / "rancher-compose.yml").write_text(
        ".catalog:\n  version: '1'\n  questions:\n    - variable: API_TOKEN\n"
        "      type: secret\n      required: true\n      default: d3fault-tok\n")
    version = Version("s", tmp_path, "0", tmp_path / "docker-compose.yml",
                      tmp_path / "rancher-compose.yml")
    assert version.problems == []
    (question,) = version.info.questions
    assert question.secret and "d3fault-tok" not in repr(question)
    answers = resolve_answers(version.info.questions, sets={"API_TOKEN": "t0ken-value"})
    stack = render(version, answers, stack_name="s")
    assert stack.service("app").environment["TOKEN"] == "t0ken-value"
    assert "t0ken-value" not in repr(stack) and "t0ken-value" not in str(stack.to_dict())
    assert "t0ken-value" not in dump_answers(answers)
    record = definition_of(stack, answers, 1, 0.0)
    assert "t0ken-value" not in str(record.to_dict()) and record.secret_names == ("API_TOKEN",)
    assert "secret" in TYPES
