"""pyte rows → Textual strips: runs of equal attributes become one segment each.

A row of a pyte screen is a dict of column → `Char(data, fg, bg, bold,
italics, underscore, strikethrough, reverse, blink)`; missing columns are
blank. Styles are cached per attribute tuple, so drawing a row costs one
dict lookup per cell and one Segment per run.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

#: pyte's colour names → Rich's (pyte calls yellow "brown").
_NAMED = {
    "black": "black", "red": "red", "green": "green", "brown": "yellow", "blue": "blue",
    "magenta": "magenta", "cyan": "cyan", "white": "white",
}
_NAMED.update({f"bright{name}": f"bright_{rich}" for name, rich in list(_NAMED.items())})

_HEX = set("0123456789abcdefABCDEF")


def rich_color(name: str) -> str | None:
    """A Rich colour for a pyte colour: a name, `default`, or 6 hex digits (256/true colour)."""
    if name == "default":
        return None
    if name in _NAMED:
        return _NAMED[name]
    if len(name) == 6 and set(name) <= _HEX:
        return f"#{name}"
    return None


class RowRenderer:
    """Turns pyte rows into strips, caching one Style per attribute combination.

    Styles come out already combined with `base` (the widget's own colours),
    so a strip needs no further styling per frame.
    """

    def __init__(self) -> None:
        self._styles: dict[tuple, Style] = {}
        self._base = Style()

    @property
    def base(self) -> Style:
        """The style under every cell (the widget's colours)."""
        return self._base

    @base.setter
    def base(self, style: Style) -> None:
        if style != self._base:
            self._base = style
            self._styles.clear()

    def style(self, attrs: tuple, cursor: bool = False) -> Style:
        """The Rich style for pyte attributes `(fg, bg, bold, italics, underscore,
        strikethrough, reverse, blink)` over the base; `cursor` inverts it."""
        key = (attrs, cursor)
        style = self._styles.get(key)
        if style is None:
            fg, bg, bold, italics, underscore, strike, reverse = attrs[:7]
            # Blink is drawn steady: a blinking pane would make every
            # frame (and snapshot) differ.
            style = self._base + Style(
                color=rich_color(fg),
                bgcolor=rich_color(bg),
                bold=bold or None,
                italic=italics or None,
                underline=underscore or None,
                strike=strike or None,
                reverse=(bool(reverse) != cursor) or None,
            )
            self._styles[key] = style
        return style

    def text_row(self, text: str) -> Strip:
        """A strip of plain text in the base style (scrollback rows kept as text)."""
        return Strip([Segment(text, self._base)])

    def render(self, row: dict, columns: int, cursor_x: int | None = None) -> Strip:
        """A strip for one row (`columns` cells, or one more if a wide character
        overhangs the last column).

        Args:
            row: A pyte row: a dict of column → Char, with a `default` Char
                for the columns it lacks (most of a shell's rows are sparse,
                so only present cells are visited).
            columns: The screen's width.
            cursor_x: The column to draw the cursor on, if it is on this row.
        """
        # pyte's row and Char layout: pinned by tests/unit/test_dependency_internals.py
        blank = row.default[1:]
        segments: list[Segment] = []
        text: list[str] = []
        run = blank

        def put(data: str, attrs: tuple) -> None:
            nonlocal run
            if attrs != run:
                if text:
                    segments.append(Segment("".join(text), self.style(run)))
                    text.clear()
                run = attrs
            text.append(data)

        def cursor(data: str, attrs: tuple) -> None:
            nonlocal run
            if text:
                segments.append(Segment("".join(text), self.style(run)))
                text.clear()
            segments.append(Segment(data, self.style(attrs, cursor=True)))

        def spaces(start: int, stop: int) -> None:
            if start >= stop:
                return
            if cursor_x is not None and start <= cursor_x < stop:
                spaces(start, cursor_x)
                cursor(" ", blank)
                spaces(cursor_x + 1, stop)
            else:
                put(" " * (stop - start), blank)

        x = 0
        for column in sorted(row):
            if column >= columns:
                break
            spaces(x, column)
            char = row[column]
            x = column + 1
            if not char[0]:
                continue  # the right half of a wide character
            if column == cursor_x:
                cursor(char[0], char[1:])
            else:
                put(char[0], char[1:])
        spaces(x, columns)
        if text:
            segments.append(Segment("".join(text), self.style(run)))
        return Strip(segments)
