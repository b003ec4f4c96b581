"""A signal Corral was started ignoring stays ignored (`nohup corral reconcile --watch &`
outlives its terminal); the others end Corral with its clean-ups."""

from __future__ import annotations

import signal

from corral.tui.cli.ending import ending_on_signals
from corral.tui.signals import ending_signals


def test_a_hang_up_ignored_from_the_start_stays_ignored() -> None:
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        assert ending_signals() == [signal.SIGTERM]
        with ending_on_signals():
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
            assert callable(signal.getsignal(signal.SIGTERM))
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)


def test_both_end_corral_otherwise() -> None:
    before = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        assert ending_signals() == [signal.SIGTERM, signal.SIGHUP]
        with ending_on_signals():
            assert callable(signal.getsignal(signal.SIGHUP))
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGHUP, before)
