"""The footer of Corral's screens: the help key always shows, whatever the width.

Textual's footer lists the focused widget's keys first and the screen's last,
so on a narrow terminal the help key was cut off first (at 100 columns on the
containers view). Here the help key is docked at the left edge, as Textual
docks the palette key at the right one.

Textual also rebuilds the whole footer (a styled widget per key: ~0.15 s of
CPU for the console's 23 keys) at every bindings signal, even when the keys
stay the same: twice more right after the console's first frame, and at
focus moves. Here signals that come together are one rebuild, and keys that
did not change are none.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

#: The action of every screen's help binding.
HELP_ACTION = "help"


class KeysFooter(Footer):
    """A footer whose help key (action `help`) comes first and is never cut."""

    DEFAULT_CSS = """
    KeysFooter FooterKey.-help { dock: left; }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The bindings the shown keys were made from (None: none made yet).
        self._composed_from: tuple[Any, ...] | None = None
        self._rebuild_due = False

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._rebuild_due:
            self._rebuild_due = True
            self.call_after_refresh(self._rebuild_if_changed)

    async def _rebuild_if_changed(self) -> None:
        self._rebuild_due = False
        if self.is_attached and self._keys_source() != self._composed_from:
            await self.recompose()

    def _keys_source(self) -> tuple[Any, ...]:
        """What the keys are made from: every active binding, and whether it is enabled."""
        return tuple((binding.key, binding.action, binding.description, binding.show,
                      binding.tooltip, binding.group, enabled, tooltip)
                     for _, binding, enabled, tooltip in self.screen.active_bindings.values())

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._composed_from = self._keys_source()
        for widget in super().compose():
            if getattr(widget, "action", None) == HELP_ACTION:
                widget.add_class("-help")
            yield widget
