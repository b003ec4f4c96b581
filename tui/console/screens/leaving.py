"""Ways out of a screen that holds typed answers: ask first, then go.

Answers typed in a catalog form live only in its widgets until they are
saved. Escape, `:` to another view and quitting would drop them without a
word, so each goes through `leave_then`, which asks when a form anywhere on
the screen stack holds unsaved answers. `letters_are_local` says where plain
letters (`q`) belong to the focused widget rather than to the console.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.app import App
from textual.dom import DOMNode
from textual.widgets import Button, Checkbox, Input, RadioButton, Select, Switch, TextArea

from corral.tui.console.screens.modals import ConfirmScreen
from corral.tui.console.views.registry import resolve_view
from corral.tui.console.widgets.panes import Pane

if TYPE_CHECKING:
    from corral.tui.console.screens.catalog_form import CatalogForm

#: Widgets that take letters as text or as their own input.
FORM_CONTROLS = (Input, TextArea, Switch, Select, Checkbox, RadioButton, Button)

#: The CSS class of a container whose keys belong to the form inside it.
FORM_CLASS = "form"


def letters_are_local(focused: DOMNode | None) -> bool:
    """Whether a plain letter pressed now belongs to the focused widget, not to the console.

    True in a form (on any of its controls, or the form itself) and in a pane:
    there `q` is text or nothing, never "quit".
    """
    if focused is None:
        return False
    return isinstance(focused, FORM_CONTROLS) or any(
        isinstance(node, Pane) or node.has_class(FORM_CLASS)
        for node in focused.ancestors_with_self
    )


def unsaved_forms(app: App) -> list[CatalogForm]:
    """The catalog forms, on any screen, holding answers not saved to their answers file."""
    from corral.tui.console.screens.catalog_form import CatalogForm

    return [form for screen in app.screen_stack for form in screen.query(CatalogForm)
            if form.unsaved]


def leave_then(app: App, doing: str, then: Callable[[], object]) -> None:
    """Run `then`, after asking if that would lose answers typed in a form.

    Args:
        app: The app.
        doing: What the user asked for, as the question's start ("Quit Corral").
        then: Leaves; called at once when nothing would be lost.
    """
    forms = unsaved_forms(app)
    if not forms:
        then()
        return

    def answered(go: bool | None) -> None:
        if go:
            then()

    objects = [f"{form.title()}: {form.changed_summary()}" for form in forms]
    question = f"{doing}? The answers typed in the form are not saved (ctrl+s saves them)."
    app.push_screen(ConfirmScreen(question, objects), answered)


def quit_app(app: App) -> None:
    """Quit, asking first when image transfers run or a form holds unsaved answers."""
    running = sum(getattr(getattr(screen, "transfers", None), "running", 0)
                  for screen in app.screen_stack)
    if not running:
        leave_then(app, "Quit Corral", app.exit)
        return

    def answered(go: bool | None) -> None:
        if go:
            leave_then(app, "Quit Corral", app.exit)

    plural = "s are" if running > 1 else " is"
    app.push_screen(ConfirmScreen(
        f"Quit Corral? {running} image transfer{plural} still running and would stop "
        "(nothing half-loaded stays; a new push sends only what is still missing).",
        []), answered)


def has_console(app: App) -> bool:
    """Whether the console's main screen is on the screen stack (not in single-screen apps)."""
    from corral.tui.console.screens.console import ConsoleScreen

    return any(isinstance(screen, ConsoleScreen) for screen in app.screen_stack)


def go_to_view(app: App, name: str, filter_text: str | None = None) -> bool:
    """Close the screens above the console and show its view `name`.

    Returns:
        False when there is no console under this screen (nothing done).
    """
    from corral.tui.console.screens.console import ConsoleScreen

    if not has_console(app):
        return False
    while not isinstance(app.screen, ConsoleScreen):
        app.pop_screen()
    app.screen.show_view(name, filter_text=filter_text)
    return True


def run_command(app: App, text: str) -> None:
    """Carry out a `:` command typed on a screen above the console.

    `q` quits and a view name switches to that view (`catalog` included, which
    opens a fresh list), both asking first if typed answers would be lost.
    """
    word, _, argument = text.strip().partition(" ")
    if not word:
        return
    if word in ("q", "quit"):
        quit_app(app)
        return
    view = resolve_view(word)
    if view is None:
        app.notify(f"unknown command {word!r}; try hosts, ps, stacks, volumes, images, "
                   "events, catalog", severity="error")
        return
    if not has_console(app):
        app.notify(f"no console to show {view} in", severity="error")
        return
    leave_then(app, f"Go to {view}",
               partial(go_to_view, app, view, argument.strip() or None))
