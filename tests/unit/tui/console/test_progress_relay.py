"""Apply progress from worker threads: coalesced snapshots, a timer flush, stopping."""

from __future__ import annotations

import threading
import time

import pytest

from corral.backends.deploy.prepare import Progress
from corral.backends.errors import DeployError
from corral.tui.console.model.progress import ProgressRelay
from tests.support.waits import wait_until


class Posts:
    """Collects what the relay posts (thread-safe)."""

    def __init__(self) -> None:
        self.items: list[tuple[Progress, ...]] = []
        self.lock = threading.Lock()

    def __call__(self, snapshot: tuple[Progress, ...]) -> None:
        with self.lock:
            self.items.append(snapshot)


def test_a_burst_from_many_threads_becomes_a_few_whole_snapshots() -> None:
    posts = Posts()
    relay = ProgressRelay(posts, interval=0.2)

    def host(name: str) -> None:
        for index in range(50):
            for state in ("running", "done"):
                relay(Progress(name, f"{name}-c{index}", "create", state))

    threads = [threading.Thread(target=host, args=(f"lab{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    relay.close()
    assert 1 <= len(posts.items) <= 5  # 300 events, a fraction of a second
    last = posts.items[-1]
    assert len(last) == 150  # one entry per container, its latest state
    assert all(event.state == "done" for event in last)


def test_a_late_event_is_flushed_by_the_timer() -> None:
    posts = Posts()
    relay = ProgressRelay(posts, interval=0.1)
    relay(Progress("lab1", "web-1", "create", "running"))
    relay(Progress("lab1", "web-1", "create", "done"))  # within the interval: held back
    assert [e.state for e in posts.items[-1]] == ["running"]
    wait_until(lambda: posts.items[-1][0].state == "done", "the timer's flush", 2.0, 0.01)
    assert len(posts.items) == 2


def test_close_posts_what_is_pending_and_nothing_after() -> None:
    posts = Posts()
    relay = ProgressRelay(posts, interval=10)
    relay(Progress("lab1", "web-1", "create", "running"))
    relay(Progress("lab1", "web-1", "health", "healthy"))
    relay.close()
    count = len(posts.items)
    assert posts.items[-1][0].state == "healthy"
    time.sleep(0.05)  # a duration, not a synchronisation: nothing may follow the close
    relay.flush()
    assert len(posts.items) == count


def test_after_stop_the_next_report_raises_on_the_apply_thread() -> None:
    relay = ProgressRelay(lambda snapshot: None)
    relay(Progress("lab1", "web-1", "create", "done"))
    relay.stop()
    assert relay.stopping
    with pytest.raises(DeployError, match="stopped from the console") as raised:
        relay(Progress("lab2", "web-2", "create", "running"))
    assert raised.value.host == "lab2"
    assert [e.name for e in relay.snapshot()] == ["web-1"]
