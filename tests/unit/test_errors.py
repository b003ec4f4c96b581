"""One error root: every layer's errors are CorralErrors, and the CLI guard reports them."""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil

import pytest

from corral.backends.errors import (
    DeployError,
    HostUnreachable,
    InventoryError,
    PlanError,
    UnknownHost,
    UnknownStack,
)
from corral.backends.logs.target import BadTarget
from corral.catalog.errors import CatalogError, CorralError, RenderError
from corral.catalog.problems import Problem
from corral.tui.cli.support import EXIT_PARTIAL, EXIT_USAGE, UsageError, run_guarded
from corral.tui.config import ConfigError

#: Exceptions used for control flow inside one function, never raised as errors
#: (`MissingVariable` is a ValueError of `interpolate_string` that its callers
#: turn into a ComposeError or CatalogError naming file and line).
SIGNALS = {
    "corral.catalog.interpolate.MissingVariable",
    "corral.catalog.gotemplate.execute._Break",
    "corral.catalog.gotemplate.execute._Continue",
    "corral.backends.images.push._ManifestDisagrees",
}


def exception_classes() -> list[type[BaseException]]:
    """Every exception class defined in corral.catalog, corral.backends and corral.tui."""
    found = []
    for package in ("corral.catalog", "corral.backends", "corral.tui"):
        root = importlib.import_module(package)
        names = [package] + [info.name for info in
                             pkgutil.walk_packages(root.__path__, package + ".")]
        for name in names:
            module = importlib.import_module(name)
            found.extend(cls for _, cls in inspect.getmembers(module, inspect.isclass)
                         if cls.__module__ == name and issubclass(cls, BaseException))
    return found


def qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_every_error_of_every_layer_derives_from_corral_error() -> None:
    classes = exception_classes()
    # The walk must see each layer's tree, and the signals it leaves out.
    assert {"corral.catalog.errors.CatalogError", "corral.backends.errors.BackendError",
            "corral.tui.config.ConfigError", "corral.tui.cli.support.UsageError",
            *SIGNALS} <= {qualified(cls) for cls in classes}
    strays = sorted(qualified(cls) for cls in classes
                    if qualified(cls) not in SIGNALS and not issubclass(cls, CorralError))
    assert strays == []


def test_every_error_has_a_title_and_an_exit_code() -> None:
    for cls in exception_classes():
        if issubclass(cls, CorralError):
            assert isinstance(cls.title, str) and cls.title, cls
            assert cls.exit_code in (EXIT_PARTIAL, EXIT_USAGE), cls


def fails_with(error: BaseException):
    def command(args: argparse.Namespace) -> int:
        raise error

    return command


@pytest.mark.parametrize(("error", "code", "line"), [
    (UsageError("bad --tail 'x'"), EXIT_USAGE, "bad --tail 'x'"),
    (ConfigError("c.yaml:3: unknown key 'x'"), EXIT_USAGE, "c.yaml:3: unknown key 'x'"),
    (CatalogError("no version 9", file="cat/config.yml", line=2), EXIT_USAGE,
     "cat/config.yml:2: no version 9"),
    (InventoryError("unknown key", file="inv.yaml", line=4), EXIT_USAGE, "inv.yaml:4: unknown key"),
    (UnknownHost("no host 'x' in the inventory"), EXIT_USAGE, "no host 'x' in the inventory"),
    (BadTarget("bad log target 'a/b/c'"), EXIT_USAGE, "bad log target 'a/b/c'"),
    (UnknownStack("no online host knows a stack named 'x'"), EXIT_USAGE,
     "no online host knows a stack named 'x'"),
    (HostUnreachable("refused", host="lab1"), EXIT_PARTIAL, "lab1: refused"),
    (DeployError("cannot create x", host="lab2"), EXIT_PARTIAL, "lab2: cannot create x"),
    (CorralError("something failed"), EXIT_PARTIAL, "something failed"),
])
def test_the_guard_turns_an_error_into_one_line_and_its_exit_code(
        capsys, error: CorralError, code: int, line: str) -> None:
    assert run_guarded(fails_with(error), argparse.Namespace()) == code
    out, err = capsys.readouterr()
    assert out == "" and err == f"corral: {line}\n"


def test_the_guard_prints_each_problem_of_a_render_error(capsys) -> None:
    error = RenderError([Problem("no image", "a.yml", 3), Problem("bad port", "a.yml", 7),
                         Problem("no answer for X"),
                         Problem("unknown key", "a.yml", 9, severity="warning")])
    assert run_guarded(fails_with(error), argparse.Namespace()) == EXIT_USAGE
    assert capsys.readouterr().err.splitlines() == [
        "corral: a.yml:3: error: no image", "corral: a.yml:7: error: bad port",
        "corral: error: no answer for X", "corral: a.yml:9: warning: unknown key"]


def test_the_guard_keeps_a_plan_errors_reasons_under_it(capsys) -> None:
    error = PlanError("cannot place stack st", {"web #1": {"lab1": "role is edge"}})
    assert run_guarded(fails_with(error), argparse.Namespace()) == EXIT_PARTIAL
    assert capsys.readouterr().err == (
        "corral: cannot place stack st\n  web #1:\n    lab1: role is edge\n")


def test_the_guard_lets_a_bug_through() -> None:
    with pytest.raises(KeyError):
        run_guarded(fails_with(KeyError("x")), argparse.Namespace())
