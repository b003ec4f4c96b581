"""Problems collected while loading, rendering or linting a catalog.

Loading and rendering do not stop at the first finding: a catalog author wants
every broken key of a version at once, and one broken entry must never hide
the others. Each finding is a `Problem`; a `Report` gathers them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from corral.catalog.errors import CatalogError, RenderError, UnsupportedError
from corral.catalog.excerpt import clip_message

ERROR = "error"
UNSUPPORTED = "unsupported"
WARNING = "warning"

# Errors sort before unsupported features, which sort before warnings.
_RANK = {ERROR: 0, UNSUPPORTED: 1, WARNING: 2}


@dataclass(frozen=True)
class Problem:
    """One finding, located by file and line where known.

    Attributes:
        message: What is wrong, without the location.
        file: The file concerned, or None.
        line: The 1-based line in `file`, or None.
        severity: `error` (the version cannot render), `unsupported` (renders,
            but uses something only a Rancher server provides) or `warning`.
    """

    message: str
    file: str | None = None
    line: int | None = None
    severity: str = ERROR

    def __post_init__(self) -> None:
        # Messages quote files' text and answers: one line, bounded.
        object.__setattr__(self, "message", clip_message(self.message))

    @property
    def location(self) -> str:
        """`file:line`, `file`, or an empty string."""
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def blocking(self) -> bool:
        """True for errors and unsupported features, False for warnings."""
        return self.severity != WARNING

    @property
    def label(self) -> str:
        """`error` or `warning`, as printed: an unsupported feature blocks a deploy."""
        return WARNING if self.severity == WARNING else ERROR

    def __str__(self) -> str:
        prefix = f"{self.location}: " if self.file else ""
        return f"{prefix}{self.label}: {self.message}"

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "severity": self.severity,
        }

    @classmethod
    def from_error(cls, exc: CatalogError) -> Problem:
        """The problem an exception of the catalog layer stands for."""
        severity = UNSUPPORTED if isinstance(exc, UnsupportedError) else ERROR
        return cls(exc.message, exc.file, exc.line, severity)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Errors first, then unsupported, then warnings; each kind by file and line."""
    return sorted(
        problems, key=lambda p: (_RANK.get(p.severity, 3), p.file or "", p.line or 0, p.message)
    )


@dataclass
class Report:
    """A growing list of problems with shorthands for each severity."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, message: str, file: str | Path | None, line: int | None, severity: str) -> None:
        """Record a problem; duplicates (same text, place and severity) are dropped."""
        problem = Problem(message, str(file) if file is not None else None, line or None, severity)
        if problem not in self.problems:
            self.problems.append(problem)

    def error(self, message: str, file: str | Path | None = None, line: int | None = None) -> None:
        """Record an error: the version cannot be rendered."""
        self.add(message, file, line, ERROR)

    def warn(self, message: str, file: str | Path | None = None, line: int | None = None) -> None:
        """Record a warning: rendering goes on."""
        self.add(message, file, line, WARNING)

    def unsupported(
        self, message: str, file: str | Path | None = None, line: int | None = None
    ) -> None:
        """Record a feature that only a Rancher server provides."""
        self.add(message, file, line, UNSUPPORTED)

    def catch(self, exc: CatalogError) -> None:
        """Record an exception of the catalog layer (all of a RenderError's problems)."""
        if isinstance(exc, RenderError):
            for problem in exc.problems:
                if problem not in self.problems:
                    self.problems.append(problem)
        else:
            problem = Problem.from_error(exc)
            if problem not in self.problems:
                self.problems.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        """Record problems found elsewhere."""
        for problem in problems:
            if problem not in self.problems:
                self.problems.append(problem)

    @property
    def errors(self) -> list[Problem]:
        """Only the problems of severity `error`."""
        return [p for p in self.problems if p.severity == ERROR]

    def raise_errors(self) -> None:
        """Raise a RenderError carrying every problem if any of them is an error.

        Raises:
            RenderError: At least one problem has severity `error`.
        """
        if self.errors:
            raise RenderError(sort_problems(self.problems))

    def sorted(self) -> list[Problem]:
        """The problems, errors first."""
        return sort_problems(self.problems)


@dataclass(frozen=True)
class Source:
    """A file problems can point into.

    Attributes:
        file: The file's path as shown to the user.
        line_map: For a rendered template, the template line of each output
            line (see `Rendered.line_map`); None when lines need no mapping.
    """

    file: str
    line_map: tuple[int, ...] | None = None

    def line(self, line: int | None) -> int | None:
        """The line in `file` for line `line` of the parsed text."""
        if line is None or not self.line_map:
            return line
        return self.line_map[min(max(line, 1), len(self.line_map)) - 1]
