"""The footer of Corral's screens: the help key always shows, whatever the width.

Textual's footer lists the focused widget's keys first and the screen's last,
so on a narrow terminal the help key was cut off first (at 100 columns on the
containers view). Here the help key is docked at the left edge, as Textual
docks the palette key at the right one.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

#: The action of every screen's help binding.
HELP_ACTION = "help"


class KeysFooter(Footer):
    """A footer whose help key (action `help`) comes first and is never cut."""

    DEFAULT_CSS = """
    KeysFooter FooterKey.-help { dock: left; }
    """

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if getattr(widget, "action", None) == HELP_ACTION:
                widget.add_class("-help")
            yield widget
