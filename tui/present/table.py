"""Plain-text tables for the command line (pipes and `grep` friendly)."""

from __future__ import annotations

from collections.abc import Sequence

from corral.tui.present.safe import visible


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces; None shows as `-`.

    Cells often come from hosts (names, labels): control characters in them
    are shown, never sent to the terminal (`corral.tui.present.safe`).
    """
    cells = [[("-" if value is None else visible(str(value))) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], len(value))
    lines = []
    for row in [list(headers), *cells]:
        padded = [value.ljust(width) for value, width in zip(row, widths, strict=True)]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)
