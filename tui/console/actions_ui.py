"""Keys for the mutating actions of `backends/engine/actions.py`, per kind of row."""

from __future__ import annotations

from textual.binding import Binding

from corral.backends.engine import ACTIONS

#: action id -> (default keys, footer label)
ACTION_KEYS = {
    "container.start": ("u", "Start"),
    "container.stop": ("t", "Stop"),
    "container.restart": ("r", "Restart"),
    "container.kill": ("ctrl+k", "Kill"),
    "container.remove": ("ctrl+d", "Remove"),
    "volume.remove": ("ctrl+d", "Remove"),
}


def action_bindings(kind: str) -> list[Binding]:
    """The bindings of every mutating action on rows of `kind`."""
    bindings = []
    for action_id, action in ACTIONS.items():
        if action.kind != kind:
            continue
        keys, label = ACTION_KEYS[action_id]
        confirm = " (asks first)" if action.destructive else ""
        bindings.append(
            Binding(
                keys,
                f"request_action('{action_id}')",
                label,
                id=action_id,
                tooltip=f"{action.verb.capitalize()} the marked {kind}s, or the one under "
                f"the cursor{confirm}",
            )
        )
    return bindings


def is_mutating(action: str, parameters: tuple[object, ...]) -> bool:
    """Whether a Textual action name invokes a mutating action."""
    return action == "request_action" and bool(parameters) and parameters[0] in ACTIONS
