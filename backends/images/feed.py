"""One read of a source's image archive, fed to its pushes while they upload.

Two costs of a push that are not the link's (measured by `bench/images.py`):

* Reading and uploading in turn. A push read a chunk from the source, then
  uploaded it, then read the next: the two links took turns instead of
  streaming at once. A `Feed` reads on a thread of its own into a small
  bounded queue per push, so the source's link fills the queue while the
  target's link drains it; memory stays bounded by the queues
  (`DEPTH` chunks each) and the SSH windows.
* Reading the same archive once per target. Concurrent pushes of one image
  from one source each asked the source's engine for its own `docker save`
  (each one preparing the whole archive, then sending it over the same
  link). Pushes that declare themselves (`expect`) before the source's first
  byte is handed on share one read: the feed waits (at most `JOIN_WAIT`
  seconds) for every declared push to attach or withdraw, then hands each
  chunk to all of them; each runs its own layer filter, since each target
  lacks other layers. The slowest upload sets the pace (bounded queues); a
  push that fails leaves the others running; one that comes too late reads
  on its own.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

#: Chunks queued per push: the most a slow upload lets the read run ahead.
DEPTH = 4
#: Seconds the first chunk waits for declared pushes that have not attached yet.
JOIN_WAIT = 2.0
#: Seconds after the first push declared itself during which others may still
#: declare themselves: pushes started together (one per target, on a pool's
#: threads) are not declared at the same instant. An engine's first byte comes
#: later than that anyway (its `docker save` prepares the archive first).
GATHER = 0.1
#: Seconds between checks that a push stopped reading (its queue is full meanwhile).
_POLL = 0.1

_END = object()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


class _Outlet:
    """One push's end of a feed: a bounded queue, iterated by the push's upload."""

    def __init__(self) -> None:
        self.queue: queue.Queue = queue.Queue(DEPTH)
        self.gone = threading.Event()

    def put(self, item: object) -> bool:
        """Queue `item`; False once the push stopped reading (it is skipped after)."""
        while not self.gone.is_set():
            try:
                self.queue.put(item, timeout=_POLL)
            except queue.Full:
                continue
            return True
        return False

    def __iter__(self) -> Iterator[bytes]:
        try:
            while True:
                item = self.queue.get()
                if item is _END:
                    return
                if isinstance(item, _Failed):
                    raise item.error
                yield item
        finally:
            self.gone.set()

    def close(self) -> None:
        """The push stops reading (also before its first chunk): the feed skips it."""
        self.gone.set()


class Feed:
    """One read of `open_archive()`, handed chunk by chunk to every attached push."""

    def __init__(self, key: object, open_archive: Callable[[], Iterable[bytes]],
                 chunk_size: int, registry: FeedRegistry | None = None):
        self.key = key
        self.open_archive = open_archive
        self.chunk_size = chunk_size
        self.registry = registry
        self.cond = threading.Condition()
        self.expected = 0           # declared pushes not yet attached or withdrawn
        self.outlets: list[_Outlet] = []
        self.sealed = False         # the first chunk went out: no one joins now
        self.thread: threading.Thread | None = None
        self.created = time.monotonic()

    def attach(self) -> _Outlet | None:
        """This push's chunks, or None if the read has gone too far to join."""
        with self.cond:
            if self.sealed:
                self.expected -= 1
                self.cond.notify_all()
                return None
            outlet = _Outlet()
            self.outlets.append(outlet)
            self.expected -= 1
            self.cond.notify_all()
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="image-feed",
                                               daemon=True)
                self.thread.start()
        return outlet

    def withdraw(self) -> None:
        """A declared push will not read (nothing to send, or it failed before)."""
        with self.cond:
            self.expected -= 1
            self.cond.notify_all()
            idle = self.thread is None and self.expected <= 0
        if idle and self.registry is not None:
            self.registry.forget(self)

    def _seal(self) -> list[_Outlet]:
        if self.registry is not None:
            time.sleep(max(0.0, self.created + GATHER - time.monotonic()))
        deadline = time.monotonic() + JOIN_WAIT
        with self.cond:
            while self.expected > 0 and (left := deadline - time.monotonic()) > 0:
                self.cond.wait(left)
            self.sealed = True
            outlets = list(self.outlets)
        if self.registry is not None:
            self.registry.forget(self)
        return outlets

    def _run(self) -> None:
        outlets: list[_Outlet] | None = None
        chunks = None
        try:
            chunks = iter(self.open_archive())
            for chunk in _coalesced(chunks, self.chunk_size):
                if outlets is None:
                    outlets = self._seal()
                outlets = [outlet for outlet in outlets if outlet.put(chunk)]
                if not outlets:
                    return  # every push stopped reading: stop the source too
            if outlets is None:
                outlets = self._seal()
            for outlet in outlets:
                outlet.put(_END)
        except BaseException as error:  # noqa: BLE001 — handed to every push
            for outlet in outlets if outlets is not None else self._seal():
                outlet.put(_Failed(error))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


def _coalesced(chunks: Iterator[bytes], size: int) -> Iterator[bytes]:
    """The same bytes in pieces of at least `size` (the last may be shorter).

    The engine's archive arrives in 32 KiB HTTP chunks whatever size is asked:
    each piece then costs a queue hand-over, a filter call and an upload send.
    """
    pending: list[bytes] = []
    held = 0
    for chunk in chunks:
        if not chunk:
            continue
        if not pending and len(chunk) >= size:
            yield chunk
            continue
        pending.append(chunk)
        held += len(chunk)
        if held >= size:
            yield b"".join(pending)
            pending.clear()
            held = 0
    if pending:
        yield b"".join(pending)


class FeedRegistry:
    """The feeds open for joining, by (source, image)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[object, Feed] = {}

    def expect(self, key: object | None, open_archive: Callable[[], Iterable[bytes]],
               chunk_size: int) -> Ticket:
        """Declare a push that will read `key`'s archive; joins an open feed if any.

        Args:
            key: What identifies the archive (source and image); None never shares.
            open_archive: Starts the read (called once, on the feed's thread).
            chunk_size: The size chunks are handed on in.
        """
        with self._lock:
            feed = self._open.get(key) if key is not None else None
            if feed is None or feed.sealed or feed.chunk_size != chunk_size:
                feed = Feed(key, open_archive, chunk_size, self if key is not None else None)
                if key is not None:
                    self._open[key] = feed
            with feed.cond:
                feed.expected += 1
        return Ticket(feed)

    def forget(self, feed: Feed) -> None:
        with self._lock:
            if self._open.get(feed.key) is feed:
                del self._open[feed.key]


class Ticket:
    """A declared push's claim on a feed: `read()` once, or `close()` unused."""

    def __init__(self, feed: Feed):
        self._feed: Feed | None = feed
        self._fallback = (feed.open_archive, feed.chunk_size)

    def read(self) -> _Outlet:
        """The archive's chunks (iterate; `close()` when done or abandoned): from
        the shared read if it can still be joined, else from a read of this
        push's own."""
        feed, self._feed = self._feed, None
        if feed is not None:
            chunks = feed.attach()
            if chunks is not None:
                return chunks
        return self.own_read()

    def own_read(self) -> _Outlet:
        """A read of this push's own (a retry after the shared one was used)."""
        open_archive, chunk_size = self._fallback
        feed = Feed(None, open_archive, chunk_size)
        feed.expected = 1
        chunks = feed.attach()
        assert chunks is not None
        return chunks

    def close(self) -> None:
        """Withdraw if `read()` was never called."""
        feed, self._feed = self._feed, None
        if feed is not None:
            feed.withdraw()

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
