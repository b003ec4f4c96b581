"""Small formatting helpers shared by views and commands."""

from __future__ import annotations


def human_size(value: float | None) -> str:
    """Bytes as `12MiB`; empty for None."""
    if value is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return ""


def duration(seconds: float) -> str:
    """A length of time, coarsely: `42s`, `5m`, `3h`, `12d`."""
    seconds = max(0, int(seconds))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def labels_text(labels: dict[str, str]) -> str:
    """`k=v,k2=v2`, sorted."""
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
