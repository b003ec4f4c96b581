"""The OpenSSH pumps a test started, kept to read what became of them."""

from __future__ import annotations

import pytest

from corral.backends.ssh import pump as pump_module


@pytest.fixture()
def pumps(monkeypatch) -> list[pump_module.Pump]:
    """Every `Pump` started during the test, in order (their `problem`, `process`…)."""
    started: list[pump_module.Pump] = []
    original = pump_module.Pump.start

    def start(self):
        started.append(self)
        return original(self)

    monkeypatch.setattr(pump_module.Pump, "start", start)
    return started
