"""The distribution's shape and its layers' rules, each with a deliberate violation caught.

Rules:
- `corral.backends` and `corral.catalog` import neither textual nor rich;
- `corral.backends.plan` is pure: no I/O library;
- `corral.tui.console.model` imports no Textual, and `corral.tui.cli` none at import;
- the UI reaches a backends subpackage only through its `__init__`;
- the wheel has one top-level package holding every source file; pyproject's package
  list is every package of the three folders;
- the stream relay's child module exists where the relay starts it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.backends.ssh.relay import CHILD_MODULE, child_command

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"tui": "corral.tui", "backends": "corral.backends", "catalog": "corral.catalog"}
UI_LIBRARIES = {"textual", "rich"}
IO_LIBRARIES = {"asyncssh", "docker", "requests", "urllib3", "socket", "subprocess", "select"}

#: package whose every module is imported -> top-level modules none of them may load.
IMPORT_RULES = {
    "corral.backends": UI_LIBRARIES,
    "corral.catalog": UI_LIBRARIES,
    "corral.backends.plan": IO_LIBRARIES,
    "corral.tui.console.model": UI_LIBRARIES,
    "corral.tui.cli": UI_LIBRARIES,
}


def loaded_by(package: str, extra_path: Path | None = None) -> set[str]:
    """Top-level names of every module loaded by importing each module of `package`.

    Runs in a fresh interpreter, so nothing this test process imported counts.
    """
    code = (
        "import importlib, json, pkgutil, sys\n"
        f"root = importlib.import_module({package!r})\n"
        "for info in pkgutil.walk_packages(root.__path__, root.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    path = [str(extra_path)] if extra_path else []
    output = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = {path!r}\n{code}"],
        capture_output=True, text=True, check=True,
    ).stdout
    return set(json.loads(output))


@pytest.mark.parametrize("package", sorted(IMPORT_RULES))
def test_layer_imports_nothing_it_must_not(package: str) -> None:
    assert loaded_by(package) & IMPORT_RULES[package] == set()


def test_the_import_rule_catches_a_violation(tmp_path: Path) -> None:
    planner = tmp_path / "fakeplan"
    planner.mkdir()
    (planner / "__init__.py").write_text("")
    (planner / "model.py").write_text("import socket\n")
    assert "socket" in loaded_by("fakeplan", tmp_path) & IO_LIBRARIES


def imports_in(folder: Path) -> Iterator[tuple[Path, int, str, list[str]]]:
    """`(file, line, module, names)` for each import of every module below `folder`.

    A relative import's module starts with its dots; `names` are those of a
    `from ... import` (empty for a plain `import`).
    """
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                yield path, node.lineno, module, [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, node.lineno, alias.name, []


def relative_imports(folder: Path) -> list[str]:
    """`file:line: module` for each relative import (the rules below read absolute names)."""
    return [f"{path.relative_to(folder)}:{line}: {module}"
            for path, line, module, _ in imports_in(folder) if module.startswith(".")]


def test_imports_are_absolute(tmp_path: Path) -> None:
    for folder in FOLDERS:
        assert relative_imports(ROOT / folder) == []
    (tmp_path / "view.py").write_text("from ..engine.events import host_events\n")
    assert relative_imports(tmp_path) == ["view.py:1: ..engine.events"]


def deep_backend_imports(folder: Path) -> list[str]:
    """`file:line: what` for each import in `folder` that reaches past a backends
    subpackage's `__init__`: a module below it (`corral.backends.deploy.apply`), or a name
    its `__all__` does not list (a submodule, `from corral.backends.ssh import session`).
    """
    import importlib

    subpackages = {p.name for p in (ROOT / "backends").iterdir() if (p / "__init__.py").is_file()}
    found = []
    for path, line, module, names in imports_in(folder):
        parts = module.split(".")
        if parts[:2] != ["corral", "backends"] or len(parts) < 3 or parts[2] not in subpackages:
            continue
        if len(parts) > 3:
            found.append(f"{path.relative_to(folder)}:{line}: {module}")
            continue
        public = set(getattr(importlib.import_module(module), "__all__", ()))
        found += [f"{path.relative_to(folder)}:{line}: {module}.{name}"
                  for name in names if name not in public]
    return found


def test_the_ui_reaches_backends_only_through_package_surfaces() -> None:
    assert deep_backend_imports(ROOT / "tui") == []


def test_the_surface_rule_catches_a_violation(tmp_path: Path) -> None:
    (tmp_path / "view.py").write_text(
        "from corral.backends.deploy import apply\n"
        "from corral.backends.deploy.apply import ApplyResult\n"
        "import corral.backends.ssh.session\n"
        "from corral.backends.errors import CorralError\n"
        "from corral.backends.ssh import Fleet, session\n"
    )
    assert deep_backend_imports(tmp_path) == [
        "view.py:2: corral.backends.deploy.apply",
        "view.py:3: corral.backends.ssh.session",
        "view.py:5: corral.backends.ssh.session",
    ]


#: backends subpackage -> the other subpackages it may import (its root modules, such as
#: `errors`, `translate` and `labels`, are open to all): layers point one way.
BACKEND_LAYERS = {
    "inventory": set(),
    "ssh": {"inventory"},
    "engine": {"ssh", "inventory"},
    "exec": {"ssh", "inventory"},
    "logs": {"engine", "ssh", "inventory"},
    "plan": set(),
    "deploy": {"plan", "engine", "ssh", "inventory", "images", "swarm"},
    "audit": {"ssh", "inventory"},
    "images": {"ssh", "inventory", "engine"},
    "volumes": {"engine", "ssh", "inventory"},
    "swarm": {"engine", "ssh", "inventory"},
    "doctor": {"engine", "ssh", "inventory"},
    "provision": {"ssh", "inventory", "images"},
}


def backend_layer_breaches(backends: Path) -> list[str]:
    """`package -> package` for each import between backends subpackages that
    `BACKEND_LAYERS` does not allow."""
    found = set()
    for package in sorted(p for p in backends.iterdir() if (p / "__init__.py").is_file()):
        allowed = BACKEND_LAYERS.get(package.name, set()) | {package.name}
        for _, _, module, _ in imports_in(package):
            parts = module.split(".")
            if parts[:2] == ["corral", "backends"] and len(parts) > 2 \
                    and (backends / parts[2] / "__init__.py").is_file() \
                    and parts[2] not in allowed:
                found.add(f"{package.name} -> {parts[2]}")
    return sorted(found)


def test_backend_subpackages_import_only_the_layers_below() -> None:
    assert set(BACKEND_LAYERS) == {
        p.name for p in (ROOT / "backends").iterdir() if (p / "__init__.py").is_file()
    }
    assert backend_layer_breaches(ROOT / "backends") == []


def test_the_backend_layer_rule_catches_a_violation(tmp_path: Path) -> None:
    for package, code in (("ssh", "from corral.backends.engine.events import host_events\n"),
                          ("engine", "from corral.backends.ssh.session import HostSession\n")):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(code)
    assert backend_layer_breaches(tmp_path) == ["ssh -> engine"]


def upward_imports(folder: Path, above: tuple[str, ...]) -> list[str]:
    """`file:line: module` for each import in `folder` of a layer in `above`."""
    return [f"{path.relative_to(folder)}:{line}: {module}"
            for path, line, module, _ in imports_in(folder) if module.startswith(above)]


def test_layers_import_downwards_only(tmp_path: Path) -> None:
    assert upward_imports(ROOT / "catalog", ("corral.backends", "corral.tui")) == []
    assert upward_imports(ROOT / "backends", ("corral.tui",)) == []
    (tmp_path / "spec.py").write_text("from corral.backends.errors import PlanError\n")
    assert upward_imports(tmp_path, ("corral.backends",)) == [
        "spec.py:1: corral.backends.errors"
    ]


def test_every_surface_name_resolves() -> None:
    import importlib

    for info in sorted((ROOT / "backends").iterdir()):
        if (info / "__init__.py").is_file():
            package = importlib.import_module(f"corral.backends.{info.name}")
            missing = [n for n in getattr(package, "__all__", ()) if not hasattr(package, n)]
            assert missing == [], package.__name__


def source_packages() -> set[str]:
    """Every package of the three folders, by the name it installs under."""
    return {
        ".".join([FOLDERS[folder], *init.parent.relative_to(ROOT / folder).parts])
        for folder in FOLDERS
        for init in (ROOT / folder).rglob("__init__.py")
    }


def test_pyproject_lists_every_package() -> None:
    configured = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert set(configured["packages"]) == source_packages()


def test_relay_child_starts_from_its_module_path() -> None:
    assert CHILD_MODULE == "corral.backends.ssh.relay_process"
    # A request it cannot read: the child must run (not "No module named") and say so.
    child = subprocess.run(child_command(), input=b"not a pickle", capture_output=True,
                           timeout=60)
    assert child.stdout.decode().startswith("error bad relay request"), child.stderr.decode()
    assert child.returncode == 2


def test_version_is_the_distributions() -> None:
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    shown = subprocess.run([sys.executable, "-m", "corral.tui.cli.main", "--version"],
                           capture_output=True, text=True, check=True).stdout
    assert shown.strip() == f"corral {expected}"


def test_wheel_has_one_top_level_package(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("corral-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"corral"}
    # Every source file and catalog template of the three folders is in the wheel.
    expected = {
        f"corral/{path.relative_to(ROOT)}"
        for folder in FOLDERS
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
        and (path.suffix in (".py", ".tcss") or "templates" in path.parts)
    }
    assert expected - set(names) == set()
