"""What a replaced container changes: its configuration before and after, field by field.

Pure. "Before" is the deployed definition (the stack record's spec, what
the running containers were created from); "after" is the stack being
planned. Both become the create body every replica of a service shares
(`body.template`), flattened into readable fields (`image`, `env KEY`,
`ports`, `command`, `label KEY`, `volumes`…). Passwords never appear:
the record's spec is masked, the new spec is masked here, and a password
that changed shows as `******** (changed)`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from corral.backends.deploy.body import template
from corral.backends.deploy.record import Definition
from corral.catalog.spec import MASK, Stack, mask_secrets

#: Create-body keys under their readable names; others keep the engine's name.
_NAMES = {"Image": "image", "Cmd": "command", "Entrypoint": "entrypoint", "User": "user",
          "WorkingDir": "working dir", "Healthcheck": "healthcheck", "ExposedPorts": "expose",
          "_networks": "networks", "_aliases": "aliases", "_links": "links",
          "PortBindings": "ports", "Binds": "volumes", "RestartPolicy": "restart",
          "NetworkMode": "network mode", "_volumes_from": "volumes_from"}


@dataclass(frozen=True)
class FieldChange:
    """One configuration field of a service's containers, before and after.

    Attributes:
        field: `image`, `env KEY`, `label KEY`, `ports`, `command`, `volumes`…
        before: The deployed value (None: not set).
        after: The planned value (None: not set any more).
    """

    field: str
    before: str | None
    after: str | None

    def __str__(self) -> str:
        return f"{self.field}: {_shown(self.before)} → {_shown(self.after)}"

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {"field": self.field, "before": self.before, "after": self.after}


def _shown(value: str | None) -> str:
    return "(none)" if value is None else value


def flatten(body: dict) -> dict[str, str]:
    """A create body as readable fields (one per env variable and label)."""
    fields: dict[str, str] = {}
    for key, value in body.items():
        if key == "Env":
            for item in value:
                name, _, text = item.partition("=")
                fields[f"env {name}"] = text
        elif key == "Labels":
            for name, text in value.items():
                fields[f"label {name}"] = text
        elif key == "HostConfig":
            fields.update(flatten(value))
        elif key == "PortBindings":
            fields["ports"] = ", ".join(
                f"{b.get('HostIp') + ':' if b.get('HostIp') else ''}{b.get('HostPort')}:{port}"
                for port, bindings in value.items() for b in bindings)
        elif key in ("Cmd", "Entrypoint", "Binds", "Dns", "CapAdd", "CapDrop") \
                and isinstance(value, list):
            fields[_NAMES.get(key, key)] = " ".join(str(v) for v in value) if key in (
                "Cmd", "Entrypoint") else ", ".join(str(v) for v in value)
        else:
            fields[_NAMES.get(key, key)] = (value if isinstance(value, str)
                                            else json.dumps(value, sort_keys=True))
    return fields


def service_changes(before: Stack, after: Stack, service: str,
                    secrets_changed: bool) -> list[FieldChange]:
    """The fields of `service` that differ between two specs of one stack.

    Args:
        before: The deployed spec (masked, from the record).
        after: The planned spec (its `secrets` are masked here).
        service: A service both specs have.
        secrets_changed: The password answers differ (their tokens do):
            a masked value is then reported as changed.
    """
    old = flatten(mask_secrets(template(before, before.service(service)),
                               before.secrets))  # type: ignore[arg-type]
    new = flatten(mask_secrets(template(after, after.service(service)),
                               after.secrets))  # type: ignore[arg-type]
    changes = []
    for key in sorted(set(old) | set(new), key=_order):
        was, now = old.get(key), new.get(key)
        if was != now:
            changes.append(FieldChange(key, was, now))
        elif secrets_changed and now is not None and MASK in now:
            changes.append(FieldChange(key, was, f"{now} (changed)"))
    return changes


def _order(key: str) -> tuple[int, str]:
    """Image first, then command, environment, ports, volumes, labels, the rest."""
    for rank, prefix in enumerate(("image", "entrypoint", "command", "env ", "ports",
                                   "expose", "volumes", "label ")):
        if key.startswith(prefix):
            return rank, key
    return 99, key


def stack_changes(previous: Definition | None, stack: Stack, tokens: dict[str, str],
                  services: set[str]) -> dict[str, list[FieldChange]]:
    """Per service of `services` that the deployed definition also has, what changes.

    Args:
        previous: The deployed definition.
        stack: The planned stack.
        tokens: The planned `secret_tokens`: a service whose token is not the
            deployed one holds other passwords.
        services: The services whose containers are replaced.
    """
    if previous is None:
        return {}
    known = {s.name for s in previous.stack.services}
    return {name: service_changes(previous.stack, stack, name,
                                  tokens.get(name) != previous.secret_tokens.get(name))
            for name in sorted(services & known)}
