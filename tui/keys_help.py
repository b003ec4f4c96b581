"""The `?` screen's rows: every binding active where the focus is."""

from __future__ import annotations

from textual.app import App
from textual.dom import DOMNode


def binding_rows(focused: DOMNode, app: App) -> list[tuple[str, str, str, str]]:
    """(keys, description, id, tooltip) of each binding from `focused` up to the app.

    Bindings that `check_action` hides (read-only mode) are left out, so the
    help never offers what the console would refuse.
    """
    rows = []
    seen: set[str] = set()
    for node in focused.ancestors_with_self:
        # The node's merged map: inherited bindings included, keymap applied.
        bindings = [b for group in node._bindings.key_to_bindings.values() for b in group]
        for binding in bindings:
            if not getattr(binding, "id", None) or binding.id in seen:
                continue
            action, _, rest = binding.action.partition("(")
            parameters = tuple(p.strip(" '\")") for p in rest.split(",")) if rest else ()
            if node.check_action(action, parameters) is False:
                continue
            seen.add(binding.id)
            keys = app.get_key_display(binding)
            rows.append((keys, binding.description, binding.id, binding.tooltip))
    return rows
