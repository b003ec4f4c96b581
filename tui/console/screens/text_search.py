"""A text screen with `/` search: YAML inspect, container describe.

`/` opens a search line at the bottom; enter finds every match (a
case-insensitive regex, matched literally if it is not one), marks them and
scrolls to the first; `n` / `N` go to the next / previous match, wrapping.
"""

from __future__ import annotations

import re

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, Static

from corral.tui.console.screens.modals import TextScreen
from corral.tui.console.views.base import compile_filter
from corral.tui.present.safe import visible, visible_lines

#: How every match, and the current one, are marked.
MATCH_STYLE = "reverse"
CURRENT_STYLE = "bold black on yellow"


class SearchableTextScreen(TextScreen):
    """A scrollable text with `/` search and `n` / `N` between matches.

    Args:
        title: The border title.
        text: The text shown.
        lexer: A syntax to colour it with (`yaml`), or None for plain text.
    """

    DEFAULT_CSS = """
    SearchableTextScreen #search { dock: bottom; display: none; }
    SearchableTextScreen #search.shown { display: block; }
    """
    BINDINGS = [
        Binding("slash", "search", "Search", id="text.search",
                tooltip="Search the text (regex, case-insensitive)"),
        Binding("n", "next_match(1)", "Next match", id="text.next",
                tooltip="Go to the next match of the search"),
        Binding("N", "next_match(-1)", "Previous match", id="text.previous",
                tooltip="Go to the previous match of the search"),
    ]

    def __init__(self, title: str, text: str, lexer: str | None = None):
        # Describe and inspect quote hosts (names, labels, env, health output).
        text, title = visible_lines(text), visible(title)
        body = (Syntax(text, lexer, line_numbers=False, word_wrap=False) if lexer
                else Text(text, no_wrap=True))
        super().__init__(title, body)
        self.text = text
        #: (line, start, end) of every match of the search, in reading order.
        self.matches: list[tuple[int, int, int]] = []
        #: Index of the current match in `matches`.
        self.current = 0
        self.query_text = ""

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Input(placeholder="search (regex); enter finds, esc closes", id="search")

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.add_class("shown")
        search.value = self.query_text
        search.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._close_search()
        self.find(event.value)

    def action_dismiss(self) -> None:
        # Escape on the search line closes the line, not the screen.
        if self.query_one("#search", Input).has_class("shown"):
            self._close_search()
        else:
            super().action_dismiss()

    def _close_search(self) -> None:
        search = self.query_one("#search", Input)
        search.remove_class("shown")
        self.query_one(VerticalScroll).focus()

    def find(self, query: str) -> None:
        """Mark every match of `query` and go to the first; empty clears the search."""
        self.query_text = query
        pattern, _ = compile_filter(query.lstrip("!"))
        self.matches = []
        if pattern is not None:
            for number, line in enumerate(self.text.splitlines()):
                self.matches += [(number, m.start(), m.end()) for m in pattern.finditer(line)
                                 if m.end() > m.start()]
        self.current = 0
        if query and not self.matches:
            self.notify(f"no match for {query!r}", severity="warning", timeout=3)
        self._show()

    def action_next_match(self, step: int) -> None:
        if not self.matches:
            self.notify("no search: press / to search", timeout=2)
            return
        self.current = (self.current + step) % len(self.matches)
        self._show()

    def _show(self) -> None:
        """Redraw with the matches marked and scroll to the current one."""
        static = self.query_one(VerticalScroll).query_one(Static)
        if not self.matches:
            static.update(self.body)
            self.query_one(VerticalScroll).border_subtitle = ""
            return
        text = self._base_text()
        starts = _line_starts(self.text)
        for index, (line, start, end) in enumerate(self.matches):
            style = CURRENT_STYLE if index == self.current else MATCH_STYLE
            text.stylize(style, starts[line] + start, starts[line] + end)
        static.update(text)
        line = self.matches[self.current][0]
        scroll = self.query_one(VerticalScroll)
        scroll.border_subtitle = (f"/{self.query_text}  {self.current + 1}/{len(self.matches)}"
                                  "  n next, N previous")
        scroll.scroll_to(y=max(0, line - scroll.size.height // 3), animate=False)

    def _base_text(self) -> Text:
        if isinstance(self.body, Syntax):
            text = self.body.highlight(self.text)
            text.no_wrap = True
            return text
        return Text(self.text, no_wrap=True)

    @property
    def current_line(self) -> int | None:
        """The line (from 0) of the current match, if any."""
        return self.matches[self.current][0] if self.matches else None


def _line_starts(text: str) -> list[int]:
    """The offset in `text` where each line starts."""
    starts = [0]
    starts += [match.end() for match in re.finditer("\n", text)]
    return starts
