"""The console noticing inventory file changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.backends.errors import InventoryError
from corral.tui.console.model.inventory_watch import InventoryWatch

ONE = "hosts:\n  - name: lab1\n    ssh: root@10.0.0.1\n"


def test_a_rewritten_file_is_noticed_once(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(ONE)
    watch = InventoryWatch(path)
    assert not watch.changed()
    replacement = tmp_path / "new.yaml"
    replacement.write_text(ONE + "  - name: lab2\n    ssh: root@10.0.0.2\n")
    replacement.replace(path)  # as editors save
    assert watch.changed()
    assert watch.read().names() == ["lab1", "lab2"]
    assert not watch.changed()


def test_a_broken_file_is_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(ONE)
    watch = InventoryWatch(path)
    path.write_text("hosts: [\n")
    assert watch.changed()
    with pytest.raises(InventoryError, match="inventory.yaml"):
        watch.read()
    assert not watch.changed()


def test_no_file_never_changes() -> None:
    assert not InventoryWatch(None).changed()
