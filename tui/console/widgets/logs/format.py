"""How a log line looks: safe text, ANSI colours, source prefix, stderr mark.

Container output is untrusted. Only SGR (colour) sequences survive; every
other control character is shown as `\\xNN` (`corral.tui.present.safe`), so a
log line can never move the cursor, switch screens, retitle the terminal or
flip text direction.
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from corral.backends.logs import NOTICE, STDERR, LogLine, LogSource
from corral.tui.present.safe import log_text, strip_sgr

#: Source colours: distinct on dark and light themes; picked by a stable hash.
PALETTE = (
    "#e5c07b", "#61afef", "#98c379", "#c678dd", "#56b6c2", "#d19a66",
    "#7aa6da", "#b5bd68", "#de935f", "#8abeb7", "#cc99cc", "#f0c674",
)
STDERR_STYLE = Style(color="red", bold=True)
STDERR_TEXT = Style(color="#ff9e9e")  # under the line's own colours, if any
NOTICE_STYLE = Style(color="yellow", italic=True)
TIME_STYLE = Style(dim=True)
MATCH_STYLE = Style(color="#1e1e1e", bgcolor="#e5c07b")
CURRENT_STYLE = Style(color="#ffffff", bgcolor="#d7005f", bold=True)
TIME_WIDTH = 24  # 2026-01-02T03:04:05.678Z


def sanitize(text: str) -> str:
    """Make container output safe to draw; SGR colour sequences are kept.

    The one rule for host text (`corral.tui.present.safe.log_text`), with
    tabs expanded for the screen.
    """
    if text.isascii() and text.isprintable():
        return text
    text = log_text(text)
    return text.expandtabs(8) if "\t" in text else text


def plain_text(text: str) -> str:
    """The characters a reader sees: sanitized, colour sequences removed."""
    if text.isascii() and text.isprintable():
        return text
    return strip_sgr(sanitize(text))


def text_width(text: str) -> int:
    """Cells the line's text takes on screen."""
    if text.isascii() and text.isprintable():
        return len(text)
    return cell_len(plain_text(text))


def source_colour(label: str) -> str:
    """A colour per source that stays the same across runs and machines."""
    return PALETTE[zlib.crc32(label.encode()) % len(PALETTE)]


def format_time(nanos: int) -> str:
    """`2026-01-02T03:04:05.678Z` (UTC, milliseconds)."""
    seconds, frac = divmod(nanos, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac // 1_000_000:03d}Z"


class LineLook:
    """Which parts a line shows, and how to draw it.

    Args:
        sources: The follower's sources (indexed by `LogLine.source`).
    """

    def __init__(self, sources: Sequence[LogSource]) -> None:
        self.sources = sources
        self.timestamps = False
        self.prefix = False
        self.label_width = 0
        self._colours: dict[int, Style] = {}
        self._base: Style | None = None
        self._on_base: dict[object, Style] = {}

    def fit_labels(self) -> bool:
        """Widen the prefix to the longest label (max 32); True if it changed."""
        width = min(32, max((len(source.label) for source in self.sources), default=0))
        changed = width != self.label_width
        self.label_width = width
        return changed

    @property
    def lead_width(self) -> int:
        """Cells before the text: timestamp, prefix and the stream mark."""
        width = 2
        if self.timestamps:
            width += TIME_WIDTH + 1
        if self.prefix:
            width += self.label_width + 1
        return width

    def _colour(self, source: int) -> Style:
        style = self._colours.get(source)
        if style is None:
            label = self.sources[source].label if source < len(self.sources) else "?"
            style = self._colours[source] = Style(color=source_colour(label))
        return style

    def _label(self, source: int) -> str:
        label = self.sources[source].label if source < len(self.sources) else "?"
        if len(label) > self.label_width:
            label = label[: self.label_width - 1] + "…"
        return label.ljust(self.label_width)

    def render(
        self, line: LogLine, search: re.Pattern | None = None, current: bool = False
    ) -> Text:
        """The line as styled text (not wrapped)."""
        out = Text(no_wrap=True, end="")
        if self.timestamps:
            out.append(format_time(line.ts), TIME_STYLE)
            out.append(" ")
        if self.prefix:
            out.append(self._label(line.source), self._colour(line.source))
            out.append(" ")
        if line.stream == STDERR:
            out.append("┃ ", STDERR_STYLE)
        elif line.stream == NOTICE:
            out.append("» ", NOTICE_STYLE)
        else:
            out.append("│ ", self._colour(line.source) + Style(dim=True))
        lead = len(out)
        safe = sanitize(line.text)
        base = STDERR_TEXT if line.stream == STDERR else None
        if line.stream == NOTICE:
            out.append(safe, NOTICE_STYLE)
        elif "\x1b[" in safe:
            coloured = Text.from_ansi(safe, no_wrap=True, end="")
            if base is not None:
                coloured.stylize_before(base)
            out.append_text(coloured)
        else:
            out.append(safe, base)
        if search is not None:
            style = CURRENT_STYLE if current else MATCH_STYLE
            for match in search.finditer(out.plain[lead:]):
                if match.end() > match.start():
                    out.stylize(style, lead + match.start(), lead + match.end())
        return out

    def strip(
        self,
        line: LogLine,
        base: Style,
        console: Console,
        search: re.Pattern | None = None,
        current: bool = False,
    ) -> Strip:
        """The line drawn on `base` (the widget's style), not wrapped.

        Plain lines (no colour sequence, no search match), nearly all of
        them, are assembled from segments directly: several times cheaper
        than laying out a `Text`, and rows are drawn at the rate lines come.
        """
        safe = sanitize(line.text)
        if "\x1b[" in safe or (search is not None and search.search(safe)):
            text = self.render(line, search, current)
            text.stylize_before(base)
            return Strip(text.render(console), text.cell_len)
        if base is not self._base:
            self._base, self._on_base = base, {}
        on = self._on_base
        segments = []
        if self.timestamps:
            style = on.get("time") or on.setdefault("time", base + TIME_STYLE)
            segments.append(Segment(format_time(line.ts) + " ", style))
        source = line.source
        if self.prefix:
            style = on.get(source) or on.setdefault(source, base + self._colour(source))
            segments.append(Segment(self._label(source) + " ", style))
        if line.stream == STDERR:
            mark = on.get("err") or on.setdefault("err", base + STDERR_STYLE)
            body = on.get("errtext") or on.setdefault("errtext", base + STDERR_TEXT)
            segments.append(Segment("┃ ", mark))
        elif line.stream == NOTICE:
            body = on.get("notice") or on.setdefault("notice", base + NOTICE_STYLE)
            segments.append(Segment("» ", body))
        else:
            key = ("bar", source)
            mark = on.get(key) or on.setdefault(key, base + self._colour(source) + Style(dim=True))
            segments.append(Segment("│ ", mark))
            body = base
        segments.append(Segment(safe, body))
        width = len(safe) if safe.isascii() else cell_len(safe)
        return Strip(segments, self.lead_width + width)

    def plain(self, line: LogLine) -> str:
        """The line as it shows, without colours (for saving to a file)."""
        parts = []
        if self.timestamps:
            parts.append(format_time(line.ts) + " ")
        if self.prefix:
            parts.append(self._label(line.source) + " ")
        mark = {STDERR: "┃ ", NOTICE: "» "}.get(line.stream, "│ ")
        return "".join(parts) + mark + plain_text(line.text)
