"""Waiting on a condition from plain (non-Textual) test code.

The synchronous twin of `tests.support.pilot.until`: tests wait for what
they need to see, with a deadline and a message, never for a fixed time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], what: str, timeout: float = 10.0, step: float = 0.1
) -> T:
    """Poll `predicate` until it returns something true, and return that.

    Raises:
        AssertionError: Not within `timeout` seconds (the message names `what`).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(step)
