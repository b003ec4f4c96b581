"""Where read-only comes from: the flag, the environment, the configuration file.

Any one of them makes the whole process read-only for good
(`guard.enter_readonly`), before any verb runs, the console included: the
backend gate then refuses every change, whichever command or key asks.
"""

from __future__ import annotations

import argparse
import os

from corral.backends import guard
from corral.tui.cli.support import UsageError

ENV_READONLY = "CORRAL_READONLY"
_TRUE = ("1", "true", "yes")
_FALSE = ("", "0", "false", "no")


def readonly_source(args: argparse.Namespace) -> str | None:
    """Why this run must be read-only, in words a refusal can show; None if it may act.

    The flag wins, then `CORRAL_READONLY`, then `readonly: true` in the
    configuration file (`--config`, `$CORRAL_CONFIG`, the default file).

    Raises:
        UsageError: `CORRAL_READONLY` holds something other than 1/true/yes
            or 0/false/no.
        ConfigError: The configuration file is wrong (a file that may say
            read-only is never skipped).
    """
    from corral.tui.config import ENV_CONFIG, default_config_path, load_config
    if getattr(args, "readonly", False):
        return "--readonly"
    value = os.environ.get(ENV_READONLY)
    if value is not None:
        word = value.strip().lower()
        if word in _TRUE:
            return f"{ENV_READONLY}={value.strip()}"
        if word not in _FALSE:
            raise UsageError(f"{ENV_READONLY}={value!r}: expected 1, true or yes (read-only)"
                             " or 0, false or no")
    explicit = getattr(args, "config", None)
    if load_config(explicit).readonly:
        where = explicit or os.environ.get(ENV_CONFIG) or str(default_config_path())
        return f"readonly: true in {where}"
    return None


def enter_readonly_if_asked(args: argparse.Namespace) -> None:
    """Latch read-only for the process when the flag, environment or config asks.

    Raises:
        UsageError: `CORRAL_READONLY` is malformed.
        ConfigError: The configuration file is wrong.
    """
    reason = readonly_source(args)
    if reason is not None:
        guard.enter_readonly(reason)
