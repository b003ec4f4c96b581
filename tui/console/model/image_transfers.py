"""The console's image pushes and pulls: run on worker threads, followed by the pane.

`TransferLog` is what the transfers pane reads: one entry per host and image,
its progress while it runs (formatted as the command line's board formats it,
`tui/present/transfers.py`) and its one-line outcome once it has ended. The
log outlives the pane: transfers keep running when the pane is closed, and
reopening it shows where they are. `push_images` and `pull_images` block: run
them on a worker thread; each host works in a thread of its own, its images
in order, like `corral images push|pull`.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from corral.backends.errors import BackendError, CorralError, PushSourceMissing
from corral.backends.images import (
    PullTally,
    check_online,
    find_sources,
    pull_image,
    split_reference,
)
from corral.backends.inventory import logins
from corral.backends.ssh import Fleet, HostSession
from corral.tui.present.safe import visible
from corral.tui.present.transfers import (
    TransferRow,
    pull_sentence,
    push_sentence,
    timed_push,
    transfer_line,
)

#: Ended transfers the log keeps (the oldest go first).
KEEP_ENDED = 200


@dataclass
class Transfer:
    """One image going to one host.

    Attributes:
        kind: `push` or `pull`.
        host: The host it goes to.
        image: The image reference.
        row: Its progress.
        state: `running`, `done` or `failed`.
        outcome: Once ended, what happened, in one line.
    """

    kind: str
    host: str
    image: str
    row: TransferRow
    state: str = "running"
    outcome: str = ""
    ended_at: float | None = field(default=None, compare=False)


class TransferLog:
    """Every transfer of this console, running or ended; thread-safe.

    Args:
        on_end: Called (on the transfer's thread) with each transfer as it ends.
        clock: Seconds of a monotonic clock: rates and ETAs are measured on it.
    """

    def __init__(self, on_end: Callable[[Transfer], object] = lambda transfer: None,
                 clock: Callable[[], float] = time.monotonic):
        self.on_end = on_end
        self.clock = clock
        self._lock = threading.Lock()
        self._transfers: list[Transfer] = []

    def start(self, kind: str, host: str, image: str) -> Transfer:
        """A new running transfer."""
        row = TransferRow(visible(f"{kind} {host} {image}"), started=self.clock())
        transfer = Transfer(kind, host, image, row)
        with self._lock:
            self._transfers.append(transfer)
        return transfer

    def progress(self, transfer: Transfer, done: int, total: int | None = None,
                 note: str = "") -> None:
        """Note a running transfer's bytes so far (of `total` when known)."""
        with self._lock:
            transfer.row.update(done, total, note)

    def end(self, transfer: Transfer, ok: bool, outcome: str) -> None:
        """A transfer ended well (`ok`) or not; `outcome` says how."""
        with self._lock:
            transfer.state = "done" if ok else "failed"
            if not ok:  # the engine's words may not say which image, or that it moved
                outcome = f"{transfer.kind} {transfer.image} failed: {outcome}"
            transfer.outcome = visible(outcome)
            transfer.ended_at = time.time()
            ended = [t for t in self._transfers if t.state != "running"]
            for old in ended[:max(0, len(ended) - KEEP_ENDED)]:
                self._transfers.remove(old)
        self.on_end(transfer)

    def lines(self, now: float | None = None) -> list[tuple[str, str]]:
        """(state, text) of every transfer, in the order they started.

        A running one's text is its progress line (bytes, rate, ETA); an ended
        one's is its outcome.
        """
        now = self.clock() if now is None else now
        with self._lock:
            return [(t.state, transfer_line(t.row, now) if t.state == "running"
                     else t.outcome) for t in self._transfers]

    @property
    def running(self) -> int:
        """How many transfers are still running."""
        with self._lock:
            return sum(1 for t in self._transfers if t.state == "running")


def push_images(fleet: Fleet, images: list[str], targets: list[str], log: TransferLog) -> None:
    """Push each image to each target from a host that has it (as `corral images push`).

    Blocking. Failures end their transfer in the log; nothing is raised.
    """
    transfers = {(host, image): log.start("push", host, image)
                 for host in targets for image in images}
    try:
        sources = find_sources(fleet, images, targets)
    except BackendError as error:
        for transfer in transfers.values():
            log.end(transfer, False, str(error))
        return

    def one(session: HostSession, image: str, transfer: Transfer) -> str:
        if image in sources.missing:
            raise PushSourceMissing(f"{image}: {sources.missing[image]}", host=session.name)
        origin = fleet.session(sources.hosts[image])
        check_online(origin)
        total = int(origin.call(lambda client: client.api.inspect_image(image)).get("Size")
                    or 0)
        return push_sentence(*timed_push(origin, session, image, lambda read, note: log.progress(
            transfer, read, total, note)))

    _each_target(fleet, images, targets, transfers, log, one)


def pull_images(fleet: Fleet, images: list[str], targets: list[str], log: TransferLog) -> None:
    """Have each target's engine pull each image (as `corral images pull`).

    Blocking. Failures end their transfer in the log; nothing is raised.
    """
    transfers = {(host, image): log.start("pull", host, image)
                 for host in targets for image in images}
    try:  # every password read once, before any pull (as `corral images pull`)
        credentials = logins(fleet.registries, (split_reference(i)[0] for i in images))
    except CorralError as error:
        for transfer in transfers.values():
            log.end(transfer, False, str(error))
        return

    def one(session: HostSession, image: str, transfer: Transfer) -> str:
        tally = PullTally()
        result = pull_image(session, image, on_progress=lambda event: log.progress(
            transfer, *tally.add(event)), credentials=credentials)
        return pull_sentence(result)

    _each_target(fleet, images, targets, transfers, log, one)


def _each_target(fleet: Fleet, images: list[str], targets: list[str],
                 transfers: dict[tuple[str, str], Transfer], log: TransferLog,
                 one: Callable[[HostSession, str, Transfer], str]) -> None:
    """Each target in its own thread, its images in order; each transfer ended in the log."""

    def host(name: str) -> None:
        for image in images:
            transfer = transfers[(name, image)]
            try:
                session = fleet.session(name)
                check_online(session)
                outcome = one(session, image, transfer)
            except BackendError as error:
                log.end(transfer, False, str(error))
            except Exception as error:  # a bug must not leave the line running forever
                log.end(transfer, False, f"{name}: {image}: {error!r}")
            else:
                log.end(transfer, True, outcome)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        list(pool.map(host, targets))
