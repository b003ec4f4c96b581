"""Public names of a package loaded on first use (PEP 562).

A package's `__init__` maps each name it exports to the submodule defining it;
the submodule is imported only when the name is first read, so `corral --help`
loads no YAML or SSH code just by importing a package for one light name.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_names(package: str, homes: Mapping[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` loading `name` from `package.homes[name]` on first use.

    Args:
        package: The package's `__name__`.
        homes: Each public name -> the submodule (relative to `package`) defining it,
            or `submodule:attribute` where the package names it otherwise.

    Returns:
        The function to assign to the package's `__getattr__`; it caches each
        name in the package's namespace, so the next read costs nothing.
    """
    def __getattr__(name: str) -> object:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = home.partition(":")
        value = getattr(importlib.import_module(f"{package}.{module}"), attribute or name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
