"""Start the console: read configuration first, then hand over to Textual."""

from __future__ import annotations

import argparse
import dataclasses

from .cli_support import EXIT_OK, UsageError, load_configured_inventory, ssh_settings
from .config import ConfigError, load_config


def run_console(args: argparse.Namespace) -> int:
    """Open the console on the configured inventory.

    Configuration errors surface before Textual takes the terminal, so they
    print as one line like every other command's.
    """
    try:
        config = load_config(getattr(args, "config", None))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if getattr(args, "readonly", False):
        config = dataclasses.replace(config, readonly=True)
    inventory = load_configured_inventory(args, allow_empty=True)
    from .app import CorralApp

    CorralApp(inventory, ssh_settings(args), config).run()
    return EXIT_OK
