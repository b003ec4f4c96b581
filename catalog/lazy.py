"""Package names that load on first use (PEP 562), for light `__init__` modules."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_names(package: str, homes: dict[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` that imports each public name from its home module.

    Args:
        package: The package's `__name__`.
        homes: Public name -> the submodule (relative name) defining it.

    Returns:
        The function to bind as the package's `__getattr__`; a loaded name is
        kept in the package, so it is looked up once.
    """
    def __getattr__(name: str) -> object:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home}"), name)
        setattr(sys.modules[package], name, value)
        return value
    return __getattr__
