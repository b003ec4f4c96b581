"""Catalog questions: parsing the `questions:` list and validating answers.

The Rancher 1.6 types are string, int, boolean, password, secret, enum,
multiline, service and certificate (`secret` is masked and never stored,
like `password`). Rancher kept every default and answer as
a string (its Go model has `Default string`, and templates see strings), so
answers are strings here too. Its UI required an answer for each `required`
question except booleans, coerced a boolean default to true only when it was
exactly "true", and read `valid_chars` / `invalid_chars` as the inside of a
regular-expression character class (`a-z0-9-`); those rules are kept.

Messages about a password question never contain its value.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass, field

from corral.catalog.compose.values import raw_text
from corral.catalog.errors import AnswerError
from corral.catalog.excerpt import excerpt, quoted
from corral.catalog.gotemplate.gofmt import sprint_value
from corral.catalog.problems import Report, Source
from corral.catalog.yamlsource import Mapping

TYPES = ("string", "int", "boolean", "password", "secret", "enum", "multiline", "service",
         "certificate")
# Types whose value is free text, subject to length and character rules.
_TEXT_TYPES = ("string", "password", "secret", "multiline", "service", "certificate")
# Types whose answers are masked everywhere and never stored: Rancher's
# `secret` questions are passwords by another name.
SECRET_TYPES = ("password", "secret")
_KNOWN_KEYS = {
    "variable", "label", "description", "type", "required", "default", "group", "options",
    "min", "max", "min_length", "max_length", "valid_chars", "invalid_chars",
}
_INT = re.compile(r"[+-]?[0-9]+")
_SERVICE = re.compile(r"(?:([A-Za-z0-9][A-Za-z0-9_.-]*)/)?([A-Za-z0-9][A-Za-z0-9_.-]*)")
_PLACEHOLDER = "placeholder"
_ALPHABET = "placeholdrbcfgjkmnqsuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_."


@dataclass(frozen=True)
class Question:
    """One question of a catalog version.

    Attributes:
        variable: The answer's name (`.Values.X`, `${X}`).
        label: The short text a form shows (defaults to `variable`).
        description: Longer help text.
        type: One of `TYPES`.
        required: An answer must be given (booleans always have one).
        default: The default as a string, or None when there is none.
        group: The form group, or None.
        options: The choices of an enum question.
        min, max: Bounds of an int answer.
        min_length, max_length: Bounds of a text answer's length.
        valid_chars: A character class every character must match (`a-z0-9`).
        invalid_chars: A character class no character may match.
        file, line: Where the question is defined.
    """

    variable: str
    label: str
    type: str = "string"
    description: str = ""
    required: bool = False
    default: str | None = field(default=None, repr=False)
    group: str | None = None
    options: tuple[str, ...] = ()
    min: int | None = None
    max: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    valid_chars: str | None = None
    invalid_chars: str | None = None
    file: str | None = None
    line: int | None = None

    @property
    def secret(self) -> bool:
        """True for password and secret questions, whose values are masked everywhere."""
        return self.type in SECRET_TYPES

    def __repr__(self) -> str:
        shown = "None" if self.default is None else ("'********'" if self.secret
                                                      else repr(self.default))
        return (f"Question(variable={self.variable!r}, type={self.type!r}, "
                f"required={self.required!r}, default={shown})")

    def initial(self) -> str | None:
        """The value a form starts with (booleans: "true" only for a default of "true")."""
        if self.type == "boolean":
            return "true" if self.default == "true" else "false"
        return self.default

    def validate(self, value: str | None) -> str | None:
        """Check an answer against every rule of this question.

        Args:
            value: The answer as a string, or None when there is none.

        Returns:
            None when the answer is acceptable, else a message without the value.
        """
        if value is None or value == "":
            return f"{self.label} is required" if self.required and self.type != "boolean" \
                else None
        if self.type != "multiline" and "\n" in value:
            return "must be a single line"
        if self.type == "boolean":
            return None if value in ("true", "false") else 'must be "true" or "false"'
        if self.type == "enum":
            return None if value in self.options else "must be one of: " + ", ".join(self.options)
        if self.type == "int":
            return self._validate_int(value)
        if self.type == "service" and not _SERVICE.fullmatch(value):
            return 'must name a service as "stack/service" or "service"'
        return self._validate_text(value)

    def _validate_int(self, value: str) -> str | None:
        if not _INT.fullmatch(value):
            return "must be a whole number"
        number = int(value)
        if self.min is not None and number < self.min:
            return f"must be at least {self.min}"
        if self.max is not None and number > self.max:
            return f"must be at most {self.max}"
        return None

    def _validate_text(self, value: str) -> str | None:
        if self.min_length is not None and len(value) < self.min_length:
            return f"must be at least {self.min_length} characters long"
        if self.max_length is not None and len(value) > self.max_length:
            return f"must be at most {self.max_length} characters long"
        bad = _bad_chars(value, self.valid_chars, self.invalid_chars)
        if bad:
            if self.secret:
                return "contains characters that are not allowed"
            shown = " ".join("[space]" if c == " " else c for c in bad)
            return f"contains characters that are not allowed: {shown}"
        return None

    def placeholder(self) -> str:
        """A value of this question's type that satisfies its rules where possible.

        Lint renders a required question without default with this value.
        """
        if self.type == "boolean":
            return "false"
        if self.type == "enum":
            return self.options[0] if self.options else _PLACEHOLDER
        if self.type == "int":
            number = 1
            if self.min is not None:
                number = max(number, self.min)
            if self.max is not None:
                number = min(number, self.max)
            return str(number)
        allowed = [c for c in _ALPHABET if not _bad_chars(c, self.valid_chars, self.invalid_chars)]
        base = _PLACEHOLDER if all(c in allowed for c in _PLACEHOLDER) else "".join(allowed)
        base = base or "x"
        size = len(_PLACEHOLDER)
        if self.min_length is not None:
            size = max(size, self.min_length)
        if self.max_length is not None:
            size = min(size, self.max_length)
        return (base * (size // len(base) + 1))[: max(size, 1)]


def answer_text(raw: object, variable: str, *, file: str | None = None,
                line: int | None = None) -> str:
    """A scalar answer as Rancher would have stored it: a string.

    Raises:
        AnswerError: The answer is a list or a mapping.
    """
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool | int | float):
        return raw_text(raw)
    raise AnswerError(f"{variable}: an answer must be a single value", file=file, line=line)


@functools.lru_cache(maxsize=256)
def _char_class(chars: str | None, negate: bool) -> re.Pattern | None:
    if not chars:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nested-set FutureWarnings for odd classes
        return re.compile(f"[{'^' if negate else ''}{chars}]")


def _bad_chars(value: str, valid: str | None, invalid: str | None) -> list[str]:
    found: list[str] = []
    for pattern in (_char_class(valid, True), _char_class(invalid, False)):
        if pattern is not None:
            for char in pattern.findall(value):
                if char not in found:
                    found.append(char)
    return found


def parse_questions(node: object, source: Source, report: Report) -> tuple[Question, ...]:
    """Read a `questions:` list; malformed questions become errors and are skipped.

    Args:
        node: The YAML value of `questions` (a Sequence of Mappings).
        source: The rancher-compose file, for problem locations.
        report: Collects errors (bad question) and warnings (unknown keys).

    Returns:
        The valid questions, in file order.
    """
    if node is None:
        return ()
    if not isinstance(node, list):
        report.error("questions must be a list", source.file, getattr(node, "line", None))
        return ()
    questions: list[Question] = []
    seen: set[str] = set()
    for index, item in enumerate(node):
        line = source.line(node.line_of(index)) if hasattr(node, "line_of") else None
        question = _parse_question(item, source, line, report)
        if question is None:
            continue
        if question.variable in seen:
            report.error(f"question {question.variable} is defined twice", source.file, line)
            continue
        seen.add(question.variable)
        questions.append(question)
    return tuple(questions)


def _parse_question(item: object, source: Source, line: int | None,
                    report: Report) -> Question | None:
    if not isinstance(item, Mapping):
        report.error("a question must be a mapping", source.file, line)
        return None
    file = source.file
    errors_before = len(report.errors)

    def at(key: str) -> int | None:
        return source.line(item.line_of(key))

    for key in item:
        if key not in _KNOWN_KEYS:
            report.warn(f"unknown question key {quoted(key)}", file, at(key))
    variable = item.get("variable")
    if not isinstance(variable, str) or not variable:
        report.error("a question needs a variable name", file, line)
        return None
    name = f"question {excerpt(variable)}"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable):
        report.warn(f"{name}: variable names other than letters, digits and _ cannot be used"
                    " in ${...} interpolation", file, at("variable"))
    kind = item.get("type", "string")
    if kind not in TYPES:
        report.error(f"{name}: unknown type {quoted(kind)} (expected one of {', '.join(TYPES)})",
                     file, at("type"))
        return None
    values: dict[str, object] = {}
    for key in ("min", "max", "min_length", "max_length"):
        raw = item.get(key)
        if raw is None:
            continue
        if isinstance(raw, bool) or not isinstance(raw, int | str) or \
                not _INT.fullmatch(str(raw)):
            report.error(f"{name}: {key} must be a whole number", file, at(key))
            continue
        values[key] = int(raw)
    for key in ("label", "description", "group", "valid_chars", "invalid_chars"):
        raw = item.get(key)
        if raw is not None and not isinstance(raw, str | int | float | bool):
            report.error(f"{name}: {key} must be text", file, at(key))
        elif raw is not None:
            values[key] = sprint_value(raw)
    required = item.get("required", False)
    if not isinstance(required, bool):
        required = str(required).lower() == "true"
    options = item.get("options") or []
    if not isinstance(options, list) or any(isinstance(o, dict | list) for o in options):
        report.error(f"{name}: options must be a list of values", file, at("options"))
        options = []
    default = item.get("default")
    if isinstance(default, dict | list):
        report.error(f"{name}: default must be a single value", file, at("default"))
        default = None
    _check_rules(name, kind, values, options, item, source, report)
    if kind == "boolean" and default is not None and \
            answer_text(default, variable) not in ("true", "false"):
        # Rancher read anything but "true" as false: `maybe` is a mistake to point out.
        report.error(f"{name}: a boolean default must be true or false, not"
                     f" {quoted(answer_text(default, variable))}", file, at("default"))
    if len(report.errors) > errors_before:
        return None
    return Question(
        variable=variable,
        label=str(values.get("label") or variable),
        type=kind,
        description=str(values.get("description", "")),
        required=required,
        default=None if default is None else answer_text(default, variable),
        group=values.get("group"),  # type: ignore[arg-type]
        options=tuple(sprint_value(o) for o in options),
        min=values.get("min"),  # type: ignore[arg-type]
        max=values.get("max"),  # type: ignore[arg-type]
        min_length=values.get("min_length"),  # type: ignore[arg-type]
        max_length=values.get("max_length"),  # type: ignore[arg-type]
        valid_chars=values.get("valid_chars"),  # type: ignore[arg-type]
        invalid_chars=values.get("invalid_chars"),  # type: ignore[arg-type]
        file=file,
        line=line,
    )


def _check_rules(name: str, kind: str, values: dict, options: list, item: Mapping,
                 source: Source, report: Report) -> None:
    file = source.file

    def at(key: str) -> int | None:
        return source.line(item.line_of(key))

    if kind == "enum" and not options:
        report.error(f"{name}: an enum question needs options", file, item.line)
    if options and kind != "enum":
        report.warn(f"{name}: options only apply to enum questions", file, at("options"))
    for low, high in (("min", "max"), ("min_length", "max_length")):
        if low in values and high in values and values[low] > values[high]:
            report.error(f"{name}: {low} is greater than {high}", file, at(low))
    for key in ("min", "max"):
        if key in values and kind != "int":
            report.warn(f"{name}: {key} only applies to int questions", file, at(key))
    for key in ("min_length", "max_length", "valid_chars", "invalid_chars"):
        if key in values and kind not in _TEXT_TYPES:
            report.warn(f"{name}: {key} only applies to text questions", file, at(key))
    for key in ("valid_chars", "invalid_chars"):
        if key in values:
            try:
                _char_class(values[key], False)
            except re.error as exc:
                report.error(f"{name}: {key} is not a valid character class ({exc})", file,
                             at(key))
