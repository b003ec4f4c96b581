"""Answers to a version's questions: from a form, a YAML file and `--set`.

Sources merge in the order defaults < answers file < `--set` (a form, when
used, sits where the file does). The result keeps every value as a string,
as Rancher did, and remembers which of them are passwords so nothing prints
them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from corral.catalog.errors import AnswerError
from corral.catalog.excerpt import quoted
from corral.catalog.problems import Problem, Report
from corral.catalog.questions import Question, answer_text
from corral.catalog.spec import MASK
from corral.catalog.yamlsource import Mapping as YamlMapping
from corral.catalog.yamlsource import load_file


@dataclass(frozen=True)
class Answers:
    """Resolved answers, as the template (`.Values`) and interpolation see them.

    Attributes:
        values: Variable -> string. Questions without default or answer are
            absent, as in Rancher (booleans are always present).
        secret_names: Variables of password questions.
        warnings: Non-fatal findings (answers matching no question).
    """

    values: dict[str, str] = field(default_factory=dict, repr=False)
    secret_names: frozenset[str] = frozenset()
    warnings: tuple[Problem, ...] = ()

    @property
    def secrets(self) -> frozenset[str]:
        """The non-empty password values, to mask in any output."""
        return frozenset(v for k, v in self.values.items() if k in self.secret_names and v)

    def masked(self) -> dict[str, str]:
        """The values with passwords replaced by a mask, for display."""
        return {k: (MASK if k in self.secret_names and v else v) for k, v in self.values.items()}

    def __repr__(self) -> str:
        return f"Answers({self.masked()!r})"


def parse_set(items: Iterable[str]) -> dict[str, str]:
    """Parse `--set KEY=VALUE` strings (the value may itself contain `=`).

    Raises:
        AnswerError: An item has no `=` or an empty key.
    """
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise AnswerError(f"--set expects KEY=VALUE, got {quoted(key.strip() or item)}")
        values[key.strip()] = value
    return values


def load_answers_file(path: str | Path) -> tuple[dict[str, str], dict[str, int]]:
    """Read a YAML answers file: a mapping of variable to a single value.

    Returns:
        The answers as strings, and the line of each.

    Raises:
        CatalogError: The file cannot be read or parsed (YamlError), or is not
            a flat mapping (AnswerError); both name the file and line.
    """
    document = load_file(path)
    if document is None:
        return {}, {}
    if not isinstance(document, YamlMapping):
        raise AnswerError("an answers file must be a mapping of VARIABLE: value", file=path,
                          line=getattr(document, "line", 1))
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for key, raw in document.items():
        line = document.line_of(key)
        values[str(key)] = answer_text(raw, str(key), file=str(path), line=line)
        lines[str(key)] = line
    return values, lines


def resolve_answers(
    questions: Iterable[Question],
    *,
    form: Mapping[str, object] | None = None,
    file: str | Path | None = None,
    sets: Iterable[str] | Mapping[str, str] | None = None,
    placeholders: bool = False,
) -> Answers:
    """Merge defaults, form or file answers and `--set` values, then validate them.

    Args:
        questions: The version's questions.
        form: Answers typed into a form (values are converted to strings).
        file: A YAML answers file.
        sets: `--set KEY=VALUE` strings, or an already parsed mapping.
        placeholders: Give every required question still without a value a
            placeholder of its type (what lint does).

    Returns:
        The validated answers.

    Raises:
        RenderError: One problem per invalid answer (file and line of the answers
            file where the value came from there); password values never shown.
        CatalogError: The answers file or a `--set` item is unreadable.
    """
    questions = list(questions)
    by_name = {q.variable: q for q in questions}
    values: dict[str, str] = {}
    origins: dict[str, tuple[str | None, int | None, str]] = {}
    for question in questions:
        initial = question.initial()
        if initial is not None:
            values[question.variable] = initial
            origins[question.variable] = (question.file, question.line, "default")
    if form:
        for key, raw in form.items():
            values[key] = answer_text(raw, key)
            origins[key] = (None, None, "answer")
    if file is not None:
        file_values, lines = load_answers_file(file)
        for key, value in file_values.items():
            values[key] = value
            origins[key] = (str(file), lines[key], "answer")
    if sets is not None:
        parsed = dict(sets) if isinstance(sets, Mapping) else parse_set(sets)
        for key, value in parsed.items():
            values[key] = value
            origins[key] = (None, None, "--set")
    if placeholders:
        for question in questions:
            if question.required and not values.get(question.variable):
                values[question.variable] = question.placeholder()
                origins[question.variable] = (question.file, question.line, "placeholder")
    report = Report()
    for question in questions:
        message = question.validate(values.get(question.variable))
        if message:
            where, line, how = origins.get(question.variable, (question.file, question.line, ""))
            prefix = f"{how} for " if how in ("default", "--set", "placeholder") else ""
            report.error(f"{prefix}{question.variable}: {message}", where, line)
    for key in values:
        if key not in by_name:
            where, line, how = origins[key]
            report.warn(f"{how} {key} matches no question of this version", where, line)
    report.raise_errors()
    return Answers(
        values=values,
        secret_names=frozenset(q.variable for q in questions if q.secret),
        warnings=tuple(report.problems),
    )


def dump_answers(answers: Answers, *, include_secrets: bool = False) -> str:
    """The answers as a YAML answers file (passwords left out unless asked)."""
    data = {
        k: v for k, v in sorted(answers.values.items())
        if include_secrets or k not in answers.secret_names
    }
    return yaml.safe_dump(data, default_flow_style=False, allow_unicode=True)

