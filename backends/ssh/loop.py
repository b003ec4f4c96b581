"""An asyncio event loop on a thread of its own, for all SSH work.

Why a separate loop: the Docker API reaches a remote engine through a local
socket whose bytes asyncssh pumps. If that pumping ran on the console's event
loop, every frame Textual renders and every burst of log lines would delay
API traffic, and a blocking docker-py call made from that loop would
deadlock waiting for bytes the same loop must move. Here the SSH transports
live on a loop that does nothing else; the UI and the command line talk to
it with `submit()`/`run()`, and docker-py calls run on worker threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BackendLoop:
    """Owns one event loop running in a daemon thread.

    Use as a context manager, or call `start()` and `stop()`.
    """

    def __init__(self, name: str = "corral-backend"):
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop.

        Raises:
            RuntimeError: The loop has not been started.
        """
        if self._loop is None:
            raise RuntimeError("the backend loop is not running")
        return self._loop

    def start(self) -> BackendLoop:
        """Start the thread and its loop; returns self."""
        if self._loop is not None:
            return self
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        ready.wait()
        return self

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule `coro` on the backend loop from any other thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coro` on the backend loop and wait for its result.

        Must not be called from the backend loop's own thread.
        """
        return self.submit(coro).result(timeout)

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` on the backend loop from another event loop."""
        return await asyncio.wrap_future(self.submit(coro))

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel what still runs on the loop, stop it and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = self._thread = None

    def __enter__(self) -> BackendLoop:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
