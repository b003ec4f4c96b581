"""Start the console: read configuration first, then hand over to Textual."""

from __future__ import annotations

import argparse

from .cli_support import EXIT_OK, load_configured_inventory, ssh_settings


def run_console(args: argparse.Namespace) -> int:
    """Open the console on the configured inventory.

    Configuration errors surface before Textual takes the terminal, so they
    print as one line like every other command's.
    """
    inventory = load_configured_inventory(args)
    from .app import CorralApp

    CorralApp(inventory, ssh_settings(args)).run()
    return EXIT_OK
