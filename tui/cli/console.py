"""Start the console: read configuration first, then hand over to Textual."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
from typing import TYPE_CHECKING

from corral.backends import guard
from corral.tui.cli.support import EXIT_OK, load_configured_inventory, ssh_settings

if TYPE_CHECKING:
    from corral.tui.catalog_sources import OpenedBundle


def run_console(args: argparse.Namespace) -> int:
    """Open the console on the configured inventory.

    The configuration is read before Textual takes the terminal, so its
    errors (`ConfigError`, a keymap naming a binding the console does not
    have among them) print as one line like every other command's; so are
    `--bundle` files verified, and held open (their entry's private folder
    removed) until the console ends.

    Garbage collection is off from here until the first frame
    (`settle_memory`): start-up allocates a thousand modules and the first
    screen's widgets, all kept for the app's life, and collecting on the way
    found nothing to free but cost 80-150 ms of a 1.1 s first frame (measured).
    """
    gc.disable()
    try:
        from corral.tui.config import load_config
        config = load_config(getattr(args, "config", None), binding_ids=_console_binding_ids)
        if guard.readonly_reason() is not None:  # the flag or the environment latched it
            config = dataclasses.replace(config, readonly=True)
        inventory = load_configured_inventory(args, allow_empty=True)
        from corral.tui.app import CorralApp

        with contextlib.ExitStack() as opened:
            bundles = [opened.enter_context(bundle)
                       for bundle in _bundle_catalogs(getattr(args, "console_bundles", None))]
            CorralApp(inventory, ssh_settings(args, config), config, bundles=bundles).run()
    finally:
        gc.enable()  # also when the configuration was refused
    return EXIT_OK


def _console_binding_ids() -> frozenset[str]:
    # Textual loads only for the console, and the ids only for a keymap to check.
    from corral.tui.console.keys_help import console_binding_ids

    return console_binding_ids()


def _bundle_catalogs(paths: list[str] | None,
                     ) -> list[contextlib.AbstractContextManager[OpenedBundle]]:
    # The catalog loader and the bundle reader load only when a bundle is given:
    # their imports were 0.05-0.1 s of every console's first frame.
    if not paths:
        return []
    from corral.tui.catalog_sources import open_bundle_catalog

    return [open_bundle_catalog(path) for path in paths]
