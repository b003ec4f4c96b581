"""A host as the user describes it, before it is written into an inventory.

The Add host form and `corral hosts add` both build one from what was typed,
check it field by field, try it, and hand it to `edit.add_host`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from corral.backends.inventory.load import (
    DEFAULT_SOCKET,
    HOST_NAME_PATTERN,
    LABEL_KEY_PATTERN,
    HostSpec,
    key_problem,
    parse_target,
)

# The loader's own rules, so a field is judged here exactly as it will be there.
from corral.catalog.excerpt import quoted


@dataclasses.dataclass(frozen=True)
class HostEntry:
    """A host as the user describes it, before it is in any inventory.

    Attributes:
        name: Inventory name.
        ssh: The SSH target text (`user@address:port` or a config alias).
        identity: Identity files, written as given (make them absolute or
            `~/`-relative: relative paths are read from the inventory's folder).
        socket: The engine's socket path, or None for the default.
        labels: Host labels.
        jump: Jump host targets, outermost first.
    """

    name: str
    ssh: str
    identity: tuple[str, ...] = ()
    socket: str | None = None
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    jump: tuple[str, ...] = ()

    def problems(self) -> dict[str, str]:
        """What is wrong with each field, for inline validation.

        Returns:
            Field name → one-line message; empty when the entry is usable.
        """
        found: dict[str, str] = {}
        if not HOST_NAME_PATTERN.match(self.name):
            found["name"] = "letters, digits, '.', '_' or '-' (at most 63), starting alphanumeric"
        for field, targets in (("ssh", (self.ssh,)), ("jump", self.jump)):
            for target in targets:
                try:
                    parse_target(target)
                except ValueError as exc:
                    found.setdefault(field, str(exc))
        for path in self.identity:
            if not Path(path).expanduser().is_file():
                found.setdefault("identity", f"no such file: {path}")
            elif problem := key_problem(Path(path).expanduser()):
                found.setdefault("identity", problem)
        if self.socket is not None and not self.socket.startswith("/"):
            found["socket"] = "must be an absolute path, e.g. /var/run/docker.sock"
        for key in self.labels:
            if not LABEL_KEY_PATTERN.match(key):
                found.setdefault("labels", f"bad label name {quoted(key)}")
        return found

    def to_mapping(self) -> dict[str, Any]:
        """The entry as it is written into the file (only the keys given)."""
        mapping: dict[str, Any] = {"name": self.name, "ssh": self.ssh}
        if self.identity:
            mapping["identity"] = self.identity[0] if len(self.identity) == 1 else [
                *self.identity
            ]
        if self.socket:
            mapping["socket"] = self.socket
        if self.labels:
            mapping["labels"] = dict(self.labels)
        if self.jump:
            mapping["jump"] = self.jump[0] if len(self.jump) == 1 else [*self.jump]
        return mapping

    def to_spec(self) -> HostSpec:
        """A HostSpec to try the host with before it is written anywhere.

        Raises:
            ValueError: A target does not parse (check `problems()` first).
        """
        return HostSpec(
            name=self.name,
            ssh=parse_target(self.ssh),
            identity=tuple(str(Path(path).expanduser().absolute()) for path in self.identity),
            socket=self.socket or DEFAULT_SOCKET,
            socket_explicit=self.socket is not None,
            labels=dict(self.labels),
            jump=tuple(parse_target(target) for target in self.jump),
        )


def identity_path(text: str) -> str:
    """An identity file as typed, made absolute (or kept `~/`-relative).

    Relative paths in the inventory are read from the inventory's folder,
    but people type them relative to where they are.
    """
    text = text.strip()
    return text if text.startswith("~") else str(Path(text).absolute())


def parse_labels(items: Iterable[str]) -> dict[str, str]:
    """`KEY=VALUE` texts to a label mapping (blank items are skipped).

    Raises:
        ValueError: An item has no `=` or no key.
    """
    labels: dict[str, str] = {}
    for item in items:
        item = item.strip()
        if not item:
            continue
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"label {quoted(item)} must be KEY=VALUE")
        labels[key.strip()] = value.strip()
    return labels
