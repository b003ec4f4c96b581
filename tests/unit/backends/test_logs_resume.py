"""Resuming a broken stream: from the oldest remembered line, nothing twice, nothing lost."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from corral.backends.engine.events import since_param
from corral.backends.logs.demux import STDERR, STDOUT, LogLine
from corral.backends.logs.reader import ContainerReader


def reader(sunk: list) -> ContainerReader:
    gate = SimpleNamespace(generation=1, session=SimpleNamespace(name="lab1"))
    return ContainerReader(
        gate, "abc", 0, lambda item: sunk.append(item) or True, threading.Event(),
        since_ns=5, tail=10,
    )


def test_first_request_uses_since_and_tail_then_resume_uses_the_last_lines() -> None:
    sunk: list = []
    follower = reader(sunk)
    params = follower._request_params()
    assert (params["tail"], params["since"], params["timestamps"]) == ("10", since_param(5), 1)
    before = [
        LogLine(100, 0, STDOUT, "a"), LogLine(200, 0, STDERR, "b"), LogLine(200, 0, STDOUT, "c")
    ]
    follower._deliver(before)
    params = follower._request_params()
    assert params["tail"] == "all" and params["since"] == since_param(100)


def test_replayed_lines_are_dropped_and_new_ones_kept() -> None:
    sunk: list = []
    follower = reader(sunk)
    follower._deliver([LogLine(100, 0, STDOUT, "a"), LogLine(200, 0, STDOUT, "b")])
    follower._request_params()  # the stream broke: resume
    replay = [
        LogLine(100, 0, STDOUT, "a"),  # seen
        LogLine(150, 0, STDERR, "late"),  # never seen (stderr arrived after a later stdout line)
        LogLine(200, 0, STDOUT, "b"),  # seen
        LogLine(200, 0, STDOUT, "b"),  # same time, same text, but a second line: new
        LogLine(300, 0, STDOUT, "c"),  # new
    ]
    follower._deliver(replay)
    assert [line.text for line in sunk[-1]] == ["late", "b", "c"]
    follower._deliver([LogLine(100, 0, STDOUT, "a")])  # past the replay: delivered as is
    assert sunk[-1] == [LogLine(100, 0, STDOUT, "a")]


def test_a_destroy_heard_while_asking_about_a_stopped_container_ends_the_wait() -> None:
    """`rm -f`: the stream ends, the engine still shows the container (stopped), and
    its `destroy` event arrives before the reader starts waiting for one."""
    sunk: list = []
    answers = iter([{"State": {"Running": False, "ExitCode": 137, "FinishedAt": "x"}}])
    follower = reader(sunk)

    def inspect(_call):
        follower.wake()  # the event thread hears the destroy meanwhile
        return next(answers)

    follower.gate.session.call = inspect
    outcome: list = []
    waiting = threading.Thread(target=lambda: outcome.append(follower._after_end()), daemon=True)
    waiting.start()
    waiting.join(5)
    follower.stop.set()  # ends the wait the old order missed the event in
    waiting.join(5)
    assert outcome == [True]  # looked again (and then finds it gone) ...
    assert sunk[-1] == ("opened", 0)
    assert "exit code 137" in sunk[0][0].text  # ... after saying it stopped
