"""An inventory that no command may reach: for checks that must end before any host."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.backends.ssh import BackendLoop


def unreachable_inventory(monkeypatch: pytest.MonkeyPatch, folder: Path, text: str,
                          why: str) -> Path:
    """Write inventory `text` in `folder`; starting the backend loop fails the test.

    Args:
        monkeypatch: The test's monkeypatch (undone after the test).
        folder: Where the inventory file goes.
        text: The inventory's YAML.
        why: The assertion message if a host is contacted anyway.

    Returns:
        The inventory file.
    """
    def contacted(*args, **kwargs):
        raise AssertionError(why)

    monkeypatch.setattr(BackendLoop, "__init__", contacted)
    inventory = folder / "inventory.yaml"
    inventory.write_text(text)
    return inventory
