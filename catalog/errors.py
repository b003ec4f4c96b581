"""The root of every Corral error, and the catalog layer's error tree.

`CorralError` lives here because the catalog is the one layer every other
imports and that imports nothing third-party: `corral.backends` and
`corral.tui` derive their own trees (`BackendError`, `ConfigError`,
`UsageError`) from it, so the console and the command line catch one root.

Every problem found while reading catalogs, answers or any YAML document is a
`CatalogError` that knows the file and line it concerns, so the console and
the command line can print one line instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path

from corral.catalog.excerpt import clip_message


class CorralError(Exception):
    """Base of every error Corral raises on purpose, whatever the layer.

    Each layer translates foreign exceptions into a subclass at its boundary;
    anything else reaching the console or the command line is a bug.

    Args:
        message: What went wrong, in a few words.
    """

    #: A short heading the console shows above the message.
    title = "Error"
    #: The `corral` command's exit status when this error ends it: 2 for bad
    #: input (usage, configuration, inventory, catalog), 1 when something failed.
    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def diagnostics(self) -> list[str]:
        """What to print for this error, one diagnostic per problem it stands for.

        Returns:
            `[str(self)]` unless the error gathers several problems; an entry
            may still span lines (a `PlanError` lists its reasons under it).
        """
        return [str(self)]


class CatalogError(CorralError):
    """Base of every error raised by `corral.catalog`.

    Args:
        message: What is wrong, in a few words, without the location.
        file: The file the problem is in, if any.
        line: The 1-based line in that file, if known.
    """

    title = "Catalog error"
    exit_code = 2

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = None):
        # Messages quote files' text and answers: one line, bounded.
        super().__init__(clip_message(message))
        self.file = str(file) if file is not None else None
        self.line = line

    @property
    def location(self) -> str:
        """`file:line`, `file`, or an empty string."""
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        location = self.location
        return f"{location}: {self.message}" if location else self.message


class YamlError(CatalogError):
    """A YAML document that does not parse, or uses YAML features we refuse."""

    title = "Invalid YAML"


class TemplateError(CatalogError):
    """A Go template (`*.tpl`) that does not parse or fails while executing."""

    title = "Template error"


class AnswerError(CatalogError):
    """An answer that breaks its question's rules, or an unreadable answers source.

    Messages about password questions never quote the value.
    """

    title = "Invalid answer"


class ComposeError(CatalogError):
    """A docker-compose or rancher-compose document Corral cannot turn into a stack."""

    title = "Invalid compose file"


class UnsupportedError(CatalogError):
    """Something that only means anything inside a Rancher server (its load balancer…)."""

    title = "Unsupported by Corral"


class RenderError(CatalogError):
    """Rendering a version found one or more errors; all of them are in `problems`.

    Args:
        problems: Every problem found (`corral.catalog.problems.Problem`), errors first.
    """

    title = "Cannot render"

    def __init__(self, problems: list):
        first = problems[0]
        more = len(problems) - 1
        message = first.message + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
        super().__init__(message, file=first.file, line=first.line)
        self.problems = problems

    def diagnostics(self) -> list[str]:
        """Every problem, `file:line: error|warning: message`, errors first."""
        return [str(p) for p in self.problems]
