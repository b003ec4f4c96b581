"""Bindings read back as data: the `?` screen's rows and the ids a keymap may name."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Iterator

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.widget import Widget


def binding_rows(focused: DOMNode, app: App) -> list[tuple[str, str, str, str]]:
    """(keys, description, id, tooltip) of each binding from `focused` up to the app.

    Bindings that `check_action` hides (read-only mode) are left out, so the
    help never offers what the console would refuse.
    """
    rows = []
    seen: set[str] = set()
    # The user's keymap (id -> keys): Textual applies it to copies of the maps when
    # it dispatches keys, never to the nodes' own maps read below.
    # Private Textual API: pinned by tests/unit/test_dependency_internals.py
    keymap: dict[str, str] = app._keymap
    for node in focused.ancestors_with_self:
        # The node's merged map: inherited bindings included, keymap not applied.
        # Private Textual API: pinned by tests/unit/test_dependency_internals.py
        bindings = [b for group in node._bindings.key_to_bindings.values() for b in group]
        for binding in bindings:
            if not getattr(binding, "id", None) or binding.id in seen:
                continue
            action, _, rest = binding.action.partition("(")
            parameters = tuple(p.strip(" '\")") for p in rest.split(",")) if rest else ()
            if node.check_action(action, parameters) is False:
                continue
            seen.add(binding.id)
            remapped = keymap.get(binding.id, binding.key).split(",")
            keys = ",".join(
                app.get_key_display(dataclasses.replace(binding, key=key.strip()))
                for key in remapped
            )
            rows.append((keys, binding.description, binding.id, binding.tooltip))
    return rows


#: Where the console's bindings are defined: the app module and the console below it.
_UI_PACKAGE = "corral.tui"


def console_binding_ids() -> frozenset[str]:
    """Every binding id the console's keymap can remap.

    Read from the `BINDINGS` of the console app (and its bases) and of every
    widget and screen defined in this package, so the set follows the bindings
    themselves. Every module of the package is imported first, since some
    screens are only imported when first opened. The single-pane apps
    (`corral logs --view`, `corral shell`) do not read the keymap, so their own
    app bindings are not included.
    """
    from corral.tui.app import CorralApp

    package = importlib.import_module(_UI_PACKAGE)
    for module in pkgutil.walk_packages(package.__path__, f"{_UI_PACKAGE}."):
        importlib.import_module(module.name)
    owners = [*CorralApp.__mro__, *_subclasses(Widget)]
    return frozenset(
        binding.id
        for owner in owners
        if owner.__module__.startswith(f"{_UI_PACKAGE}.")
        for binding in vars(owner).get("BINDINGS", ())
        if isinstance(binding, Binding) and binding.id
    )


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
