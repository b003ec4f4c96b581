"""The `daemon.json` settings Corral relies on, merged into what a host already has."""

from __future__ import annotations

import json
from typing import Any

from corral.backends.errors import ProvisionError

PATH = "/etc/docker/daemon.json"
#: Docker's default `json-file` driver never rotates: logs would fill the disk.
LOG_OPTS = {"max-size": "10m", "max-file": "3"}
#: Drivers whose files `max-size`/`max-file` rotate.
ROTATING_DRIVERS = ("json-file", "local")


def parse(text: str, host: str) -> dict[str, Any]:
    """The current daemon.json ({} for an empty or missing file).

    Raises:
        ProvisionError: It is not a JSON object (naming the line): Corral does not
            overwrite a file it cannot read.
    """
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProvisionError(f"{PATH}: line {exc.lineno}: not JSON ({exc.msg}); fix or "
                             "remove it, then run provision again", host=host) from None
    if not isinstance(value, dict):
        raise ProvisionError(f"{PATH}: not a JSON object", host=host)
    return value


def merged(current: dict[str, Any], registries: tuple[str, ...] = ()) -> dict[str, Any]:
    """`current` with Corral's settings added; what is there already wins where it
    makes the same promise (a larger max-size stays), and other keys are kept.

    - log rotation (`log-opts` max-size/max-file) when the driver rotates files;
    - `live-restore: true` (containers keep running while the engine restarts);
    - each room registry in `insecure-registries` (plain HTTP, as rooms run them).
    """
    result = dict(current)
    driver = result.get("log-driver", "json-file")
    if driver in ROTATING_DRIVERS:
        opts = dict(result.get("log-opts") or {})
        for key, value in LOG_OPTS.items():
            opts.setdefault(key, value)
        result["log-opts"] = opts
    if result.get("live-restore") is not True:
        result["live-restore"] = True
    if registries:
        trusted = list(result.get("insecure-registries") or [])
        for registry in registries:
            if registry not in trusted:
                trusted.append(registry)
        result["insecure-registries"] = trusted
    return result


def render(value: dict[str, Any]) -> str:
    """The file's text as Corral writes it."""
    return json.dumps(value, indent=2, sort_keys=True) + "\n"
