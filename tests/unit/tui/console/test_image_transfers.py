"""The console's push runner: one log entry per host and image, progress as the CLI board
words it, an image no host holds failing its lines, every target's failure its own."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from corral.backends.errors import PushRejected
from corral.backends.images import ImageSources, PushReport
from corral.tui.console.model import image_transfers
from corral.tui.console.model.image_transfers import TransferLog, push_images
from corral.tui.present import transfers


class Session(SimpleNamespace):
    def call(self, work):
        return work(SimpleNamespace(api=SimpleNamespace(
            inspect_image=lambda image: {"Size": 8 << 20})))


def test_push_runs_each_target_and_ends_every_line(monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = {name: Session(name=name, online=True, readonly=False,
                              status=SimpleNamespace(error=None))
                for name in ("lab1", "lab2", "lab3")}
    fleet = SimpleNamespace(sessions=sessions, session=sessions.__getitem__)
    monkeypatch.setattr(image_transfers, "find_sources", lambda fleet, images, targets:
                        ImageSources({"app:1": "lab1"}, {"gone:1": "no online inventory host"
                                                                   " holds it"}))
    seen = []

    def push(origin, target, image, *, readonly, on_progress):
        on_progress(2 << 20, 4 << 20)
        seen.append(log.lines())
        if target.name == "lab3":
            raise PushRejected("no space left on device", host="lab3")
        return PushReport(image, "sha256:x", origin.name, target.name, "partial",
                          bytes_sent=2 << 20, layers=3, layers_present=1, layers_sent=2)

    monkeypatch.setattr(transfers, "push_image", push)
    ended = []
    log = TransferLog(on_end=ended.append)
    push_images(fleet, ["app:1", "gone:1"], ["lab2", "lab3"], log)
    assert log.running == 0 and len(ended) == 4
    assert any("push lab2 app:1: 4.0MiB of 8.0MiB read, 2.0MiB sent" in text
               for lines in seen for _, text in lines)
    outcomes = {(t.host, t.image): (t.state, t.outcome) for t in ended}
    assert outcomes[("lab2", "app:1")][0] == "done"
    assert outcomes[("lab2", "app:1")][1].startswith("lab2: app:1 pushed from lab1: 2.0MiB")
    assert outcomes[("lab3", "app:1")] == (
        "failed", "push app:1 failed: lab3: no space left on device")
    assert outcomes[("lab2", "gone:1")] == (
        "failed", "push gone:1 failed: lab2: gone:1: no online inventory host holds it")
