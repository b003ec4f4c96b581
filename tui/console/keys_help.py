"""Bindings read back as data: the `?` screen's rows and the ids a keymap may name."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Iterator

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, TextArea


def binding_rows(focused: DOMNode, app: App) -> list[tuple[str, str, str, str]]:
    """(keys, description, id, tooltip) of each binding from `focused` up to the app.

    Bindings that `check_action` hides (read-only mode) are left out, so the
    help never offers what the console would refuse. In a text field, a
    printable key (`q`, `?`, `:`) is text and not listed. A key is listed once,
    under the binding that a press of it runs now (Textual's order: priority
    bindings from the app down, then the others from `focused` up); a binding
    every key of which is taken that way is left out. Keys are shown as the
    user types them (`|`, not its key name).
    """
    # The user's keymap (id -> keys): Textual applies it to copies of the maps when
    # it dispatches keys, never to the nodes' own maps read below.
    # Private Textual API: pinned by tests/unit/test_dependency_internals.py
    keymap: dict[str, str] = app._keymap
    chain: list[tuple[DOMNode, Binding, list[str]]] = []  # from `focused` up
    for node in focused.ancestors_with_self:
        # The node's merged map: inherited bindings included, keymap not applied.
        # Private Textual API: pinned by tests/unit/test_dependency_internals.py
        for group in node._bindings.key_to_bindings.values():
            for binding in group:
                keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
                chain.append((node, binding, [key.strip() for key in keys.split(",")]))
    priority = [item for item in reversed(chain) if item[1].priority]
    others = [item for item in chain if not item[1].priority]
    runs: dict[str, Binding | None] = {}  # key -> the binding a press of it runs
    for node, binding, keys in priority:
        if _allowed(node, binding):
            for key in keys:
                runs.setdefault(key, binding)
    if isinstance(focused, Input | TextArea):  # a text field takes printable keys as text
        for _, binding, keys in others:
            for key in keys:
                if len(app.get_key_display(dataclasses.replace(binding, key=key))) == 1:
                    runs.setdefault(key, None)
    for node, binding, keys in others:
        if _allowed(node, binding):
            for key in keys:
                runs.setdefault(key, binding)
    rows: dict[str, tuple[list[str], Binding]] = {}  # id -> (its keys that work, binding)
    for _, binding, keys in chain:
        if binding.id:
            shown, _ = rows.setdefault(binding.id, ([], binding))
            shown.extend(k for k in keys if runs.get(k) is binding and k not in shown)
    return [
        (",".join(app.get_key_display(dataclasses.replace(binding, key=key)) for key in keys),
         binding.description, binding_id, binding.tooltip)
        for binding_id, (keys, binding) in rows.items() if keys
    ]


def _allowed(node: DOMNode, binding: Binding) -> bool:
    action, _, rest = binding.action.partition("(")
    parameters = tuple(p.strip(" '\")") for p in rest.split(",")) if rest else ()
    return node.check_action(action, parameters) is not False


def show_help(screen: Screen, where: DOMNode | None = None) -> None:
    """Push the `?` view: every key that works where the focus is on `screen`.

    Args:
        screen: The screen asking.
        where: Whose keys to list when nothing has the focus (default the screen).
    """
    from corral.tui.console.screens.modals import help_screen

    rows = binding_rows(screen.focused or where or screen, screen.app)
    screen.app.push_screen(help_screen("Keys (remap them by id in config.yaml)", rows))


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
