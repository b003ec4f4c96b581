"""Image transfers in words, for the command line's board and the console's pane.

One progress line per host and image (bytes so far, of how many when known,
the rate, an ETA) and one sentence when a push or a pull ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from corral.backends.images import PullResult, PushReport, push_image
from corral.tui.present.formatting import duration, human_size


@dataclass
class TransferRow:
    """One transfer's progress.

    Attributes:
        label: What moves where (`lab2 app:1`), controls shown.
        done: Bytes so far, the rate's and ETA's measure.
        total: Bytes in all, when known.
        note: Words shown after the bytes (`read, 41.0MiB sent`).
        started: `time.monotonic()` when it began.
    """

    label: str
    done: int = 0
    total: int | None = None
    note: str = ""
    started: float = field(default_factory=time.monotonic)

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        """Note `done` bytes (of `total`, when known: never shown below `done`)."""
        self.done, self.note = done, note
        self.total = max(total, done) if total else self.total


def transfer_line(row: TransferRow, now: float) -> str:
    """`lab2 app:1: 5.0MiB of 20.0MiB read, 4.0MiB sent  1.2MiB/s  ETA 12s`."""
    elapsed = max(now - row.started, 1e-3)
    rate = row.done / elapsed
    text = f"{row.label}: {human_size(row.done)}"
    if row.total:
        text += f" of {human_size(row.total)}"
    if row.note:
        text += f" {row.note}"
    text += f"  {human_size(rate)}/s"
    if row.total and rate > 0 and row.done < row.total:
        text += f"  ETA {duration((row.total - row.done) / rate)}"
    return text


def timed_push(origin, target, image: str,
               progress: Callable[[int, str], None]) -> tuple[PushReport, float]:
    """Push IMAGE from ORIGIN to TARGET, reporting bytes read with a note on bytes sent.

    The command line's board and the console's pane both show a push this way.

    Args:
        origin: A host session or bundle source that has the image.
        target: The host session that receives it (its read-only flag is honoured).
        image: The image reference.
        progress: Called with (bytes read, `read, N sent`) as the push goes.

    Returns:
        The push's report and how many seconds it took.
    """
    started = time.monotonic()
    report = push_image(origin, target, image, readonly=target.readonly,
                        on_progress=lambda sent, read: progress(
                            read, f"read, {human_size(sent)} sent"))
    return report, time.monotonic() - started


def push_sentence(report: PushReport, seconds: float) -> str:
    """What a finished push did, in one line."""
    where = f"{report.target}: {report.image}"
    if report.mode == "present":
        return f"{where} already there: nothing sent"
    if report.mode == "tagged":
        return f"{where} tagged (the host had the image under another name): nothing sent"
    layers = (f"{report.layers_sent} of {report.layers} layers sent, "
              f"{report.layers_present} already there")
    note = f" ({report.note})" if report.note else ""
    return (f"{where} pushed from {report.source}: {human_size(report.bytes_sent)} sent "
            f"in {seconds:.1f}s ({layers}){note}")


def pull_sentence(result: PullResult) -> str:
    """What a finished pull did, in one line."""
    if result.up_to_date:
        return f"{result.host}: {result.image} up to date: nothing downloaded"
    return (f"{result.host}: {result.image} pulled: {human_size(result.downloaded)} "
            f"downloaded in {result.seconds:.1f}s")

