"""The user's configuration file, typed, with every key documented.

`--config FILE`, else `$CORRAL_CONFIG`, else `~/.config/corral/config.yaml`::

    readonly: false            # true: every change is refused (CLI verbs and console keys)
    keymap:                    # binding id -> keys (see `?` in the console)
      containers.logs: "l,ctrl+l"
    catalogs: [~/catalogs/ops] # extra Rancher catalog folders
    log_history_lines: 100000  # lines a log pane keeps in memory before spooling
    keepalive_interval: 1      # seconds of silence before an SSH keepalive (0: off)
    keepalive_count_max: 3     # unanswered keepalives before a link counts as dead
    persist_seconds: 300       # idle seconds a read verb's SSH connection is kept (0: off)
    registries:                # credentials for image pulls (as in the inventory)
      10.0.0.5:5000: {username: deploy, password_env: CORRAL_REGISTRY_PASSWORD}

Unknown keys, wrong types and (for the console) unknown binding ids are
errors naming the file and line.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, fields
from pathlib import Path

import platformdirs

from corral.backends.errors import InventoryError
from corral.backends.inventory import RegistryAuth, read_registries
from corral.catalog.errors import CorralError, YamlError
from corral.catalog.excerpt import clip_message, quoted
from corral.catalog.yamlsource import Mapping, load_file

ENV_CONFIG = "CORRAL_CONFIG"


class ConfigError(CorralError):
    """The configuration file is wrong; the message names file and line."""

    title = "Configuration error"
    exit_code = 2

    def __init__(self, message: str):
        # Messages quote the file's text: one line, bounded.
        super().__init__(clip_message(message))


@dataclass(frozen=True)
class Config:
    """Everything a user can set in the configuration file."""

    readonly: bool = False
    """Refuse every change, from every verb and console key (as `--readonly`); the
    header shows READ-ONLY."""

    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id to a comma-separated list of keys, replacing the defaults."""

    catalogs: tuple[str, ...] = ()
    """Extra catalog folders (Rancher 1.6 layout), searched before the built-in one,
    so a team's entry wins over a built-in entry of the same id."""

    log_history_lines: int = 100_000
    """Lines a log pane keeps in memory; older lines spool to a temporary file."""

    keepalive_interval: float = 1.0
    """Seconds of silence from a host before Corral sends it an SSH keepalive
    (OpenSSH's ServerAliveInterval); 0 turns keepalives off. Same default as
    `SshSettings` (a unit test keeps them equal)."""

    keepalive_count_max: int = 3
    """Unanswered keepalives before a host's link counts as dead (OpenSSH's
    ServerAliveCountMax): a dropped link shows after about
    interval × (count + 1) seconds, 4 s with the defaults."""

    persist_seconds: float = 300.0
    """Idle seconds the SSH connection and engine tunnel of a read-only verb
    (`corral ps`, `corral hosts`) stay in a background process, so the next one
    reads without a new handshake (like OpenSSH's ControlPersist); 0 turns it
    off. Same default as `persist.DEFAULT_SECONDS` (a unit test keeps them equal)."""

    registries: dict[str, RegistryAuth] = field(default_factory=dict)
    """Registry address (`HOST[:PORT]`) to `username` and `password_file` (mode
    0600) or `password_env`, for image pulls; for the same registry these win over
    the inventory's `registries:`. Registries listed nowhere use the operator's
    Docker configuration (`~/.docker/config.json`, `$DOCKER_CONFIG`, credential
    helpers)."""


def default_config_path() -> Path:
    """The configuration file in the user's XDG config directory."""
    return Path(platformdirs.user_config_dir("corral")) / "config.yaml"


def load_config(
    explicit: str | os.PathLike[str] | None = None,
    *,
    binding_ids: Collection[str] | Callable[[], Collection[str]] | None = None,
) -> Config:
    """Read the configuration file, or return the defaults if there is none.

    Args:
        explicit: A path given on the command line; it must exist.
        binding_ids: The ids `keymap` may name, or a function returning them,
            called only when the file has a keymap (finding them imports the
            whole console); None leaves them unchecked (for commands that never
            read the keymap).

    Raises:
        ConfigError: The file is missing (when explicit) or wrong.
    """
    candidate = explicit or os.environ.get(ENV_CONFIG) or None
    path = Path(candidate).expanduser() if candidate else default_config_path()
    if not path.is_file():
        if candidate:
            raise ConfigError(f"{path}: configuration file not found")
        return Config()
    try:
        document = load_file(path)
    except YamlError as exc:
        raise ConfigError(str(exc)) from None
    if document is None:
        return Config()
    if not isinstance(document, Mapping):
        raise ConfigError(f"{path}:1: the configuration must be a mapping")
    known = {f.name: f for f in fields(Config)}
    values: dict[str, object] = {}
    for key, value in document.items():
        where = f"{path}:{document.line_of(key)}"
        if key not in known:
            raise ConfigError(f"{where}: unknown key {quoted(key)} (expected: {', '.join(known)})")
        if key == "registries":
            try:
                values[key] = read_registries(value, path, document.line_of(key))
            except InventoryError as exc:
                raise ConfigError(str(exc)) from None
            continue
        values[key] = _check(key, value, where)
        if key == "keymap" and binding_ids is not None:
            ids = binding_ids() if callable(binding_ids) else binding_ids
            _check_binding_ids(value, ids, path)
    return Config(**values)


def _check_binding_ids(keymap: Mapping, binding_ids: Collection[str], path: Path) -> None:
    for binding_id in keymap:
        if binding_id in binding_ids:
            continue
        close = difflib.get_close_matches(binding_id, binding_ids, n=1)
        hint = (f"did you mean {quoted(close[0])}?" if close
                else f"known ids: {', '.join(sorted(binding_ids))}")
        raise ConfigError(
            f"{path}:{keymap.line_of(binding_id)}: unknown binding id {quoted(binding_id)} "
            f"in 'keymap' ({hint})"
        )


def _check(key: str, value: object, where: str) -> object:
    if key == "readonly":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: 'readonly' must be true or false")
        return value
    if key == "log_history_lines":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1000:
            raise ConfigError(f"{where}: 'log_history_lines' must be a number >= 1000")
        return value
    if key == "keepalive_interval":
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 600:
            raise ConfigError(f"{where}: 'keepalive_interval' must be seconds from 0 to 600 "
                              "(0 turns keepalives off)")
        return float(value)
    if key == "persist_seconds":
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not 0 <= value <= 86400:
            raise ConfigError(f"{where}: 'persist_seconds' must be seconds from 0 to 86400 "
                              "(0: never keep a connection)")
        return float(value)
    if key == "keepalive_count_max":
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
            raise ConfigError(f"{where}: 'keepalive_count_max' must be a number from 1 to 100")
        return value
    if key == "catalogs":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: 'catalogs' must be a list of folders")
        return tuple(value)
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigError(f"{where}: 'keymap' must map binding ids to keys")
    return dict(value)
