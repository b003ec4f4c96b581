"""Start the console: read configuration first, then hand over to Textual."""

from __future__ import annotations

import argparse
import dataclasses

from .cli_support import EXIT_OK, UsageError, load_configured_inventory, ssh_settings
from .config import ConfigError, load_config
from .keys_help import console_binding_ids


def run_console(args: argparse.Namespace) -> int:
    """Open the console on the configured inventory.

    Configuration errors surface before Textual takes the terminal, so they
    print as one line like every other command's; so does a keymap naming a
    binding the console does not have.
    """
    try:
        config = load_config(getattr(args, "config", None), binding_ids=console_binding_ids())
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if getattr(args, "readonly", False):
        config = dataclasses.replace(config, readonly=True)
    inventory = load_configured_inventory(args, allow_empty=True)
    from .app import CorralApp

    CorralApp(inventory, ssh_settings(args), config).run()
    return EXIT_OK
