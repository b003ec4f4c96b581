"""Where the inventory lives by default: light, so `corral --help` can name it."""

from __future__ import annotations

from pathlib import Path

import platformdirs


def default_inventory_path() -> Path:
    """The inventory in the user's XDG config directory."""
    return Path(platformdirs.user_config_dir("corral")) / "inventory.yaml"
