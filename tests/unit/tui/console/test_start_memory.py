"""Collection held off while the console starts, and turned back on after its first frame."""

from __future__ import annotations

import argparse
import gc
from pathlib import Path

import pytest

from corral.backends.inventory import Inventory
from corral.backends.ssh import SshSettings
from corral.catalog.errors import CorralError
from corral.tui.app import CorralApp
from corral.tui.cli.console import run_console
from corral.tui.config import Config
from tests.support.pilot import until


@pytest.fixture(autouse=True)
def collection_restored():
    yield
    gc.enable()
    gc.unfreeze()


async def test_the_first_frame_turns_collection_back_on_and_freezes_start_up() -> None:
    gc.disable()  # as `run_console` does before importing the console
    app = CorralApp(Inventory(hosts=()), SshSettings(), Config())
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, gc.isenabled, "collection on again")
        assert gc.get_freeze_count() > 0


def test_a_refused_configuration_leaves_collection_on(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("keymap:\n  console.hepl: f1\n")
    with pytest.raises(CorralError, match="unknown binding id"):
        run_console(argparse.Namespace(config=str(config)))
    assert gc.isenabled()
