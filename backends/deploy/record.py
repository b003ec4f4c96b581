"""A deployed stack's definition, kept on the hosts themselves.

There is no Corral server and no local state: after each apply that changes
the definition, every host that runs part of the stack gets a small *record
volume* (`corral-stack.NAME.GEN`) whose labels hold the definition (stack
spec and answers, passwords left out), compressed. Any Corral process with
the same inventory reads the records and takes the highest generation.

A volume, rather than a container or network, because its labels need no
image, it never runs, and a new generation replaces the old one by create
then remove. Volume labels cannot change, hence one volume per generation.

A record sits on hosts that may run no container holding a password, so it
holds nothing computed from one: only random per-service tokens that change
when a service's passwords do (`secret_tokens`), and a random token per
compose secret naming its folder on the hosts (`secret_files`). Records of format 1 held an
unsalted digest of the passwords; it is read (`legacy_digest`, to recognise
the containers it made) and never written again.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import types
import typing
import zlib
from dataclasses import dataclass, field

from corral.backends import labels as L
from corral.catalog.answers import Answers
from corral.catalog.spec import Stack

FORMAT = 2
#: Formats `decode()` reads: 1 held `secrets_digest` (sha256 of the passwords).
_READABLE = (1, 2)
#: The format 1 digest of no password at all (sha256 of the empty string).
_NO_SECRETS = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
PREFIX = "corral-stack."


@dataclass(frozen=True)
class Definition:
    """What was deployed, as a second operator needs it.

    Attributes:
        stack: The spec, password answers masked (`Stack.secrets` is empty).
        answers: The answers, passwords left out.
        secret_names: The variables that were passwords.
        secret_tokens: Per service whose containers hold a password answer,
            a random token mixed into its configuration hash; a new one is
            drawn when those passwords change (`secret_tokens.tokens_for()`).
        secret_files: Per compose secret (its `LocalFile.local` label), the
            random token naming its folder on the hosts; a new one is drawn
            when its content, owner or mode changes (`secret_files.settle()`).
        legacy_digest: Read from a format 1 record only, never written: the
            unsalted digest of the passwords its containers' hashes mix in.
        generation: Increases with every apply that changes the definition.
        deployed_at: Epoch seconds of that apply.
        upgrade_from: While an upgrade awaits confirm or rollback, the
            generation it upgraded from (whose record is kept); else None.
    """

    stack: Stack
    answers: dict[str, str] = field(default_factory=dict)
    secret_names: tuple[str, ...] = ()
    secret_tokens: dict[str, str] = field(default_factory=dict)
    secret_files: dict[str, str] = field(default_factory=dict)
    legacy_digest: str = ""
    generation: int = 1
    deployed_at: float = 0.0
    upgrade_from: int | None = None

    @property
    def name(self) -> str:
        """The stack name."""
        return self.stack.name

    @property
    def holds_secrets(self) -> bool:
        """Whether the deployed containers hold password answers (that an upgrade may keep)."""
        return bool(self.secret_tokens) or self.legacy_digest not in ("", _NO_SECRETS)

    @property
    def awaiting_decision(self) -> bool:
        """Whether an upgrade awaits confirm or rollback: the one test every verb uses."""
        return self.upgrade_from is not None

    def same_as(self, other: Definition | None) -> bool:
        """Whether both describe the same deploy (generation and time aside)."""
        return other is not None and self.to_dict(meta=False) == other.to_dict(meta=False)

    def to_dict(self, meta: bool = True) -> dict:
        """Plain data (what the record stores, and `corral stacks --json` prints)."""
        data = {
            "format": FORMAT, "name": self.stack.name, "entry": self.stack.entry,
            "version": self.stack.version, "answers": dict(sorted(self.answers.items())),
            "secret_names": sorted(self.secret_names),
            "secret_tokens": dict(sorted(self.secret_tokens.items())),
            "spec": self.stack.to_dict(),
        }
        if self.secret_files:
            data["secret_files"] = dict(sorted(self.secret_files.items()))
        if meta:
            data.update(generation=self.generation, deployed_at=self.deployed_at,
                        upgrade_from=self.upgrade_from)
        return data


def definition_of(stack: Stack, answers: Answers | None, generation: int,
                  deployed_at: float) -> Definition:
    """The definition of a freshly rendered stack (passwords taken out here)."""
    values = answers.values if answers else {}
    secret_names = tuple(sorted(answers.secret_names)) if answers else ()
    kept = {k: v for k, v in values.items() if k not in secret_names}
    masked = stack_from_dict(stack.to_dict())
    return Definition(masked, kept, secret_names, generation=generation,
                      deployed_at=deployed_at)


def encode(definition: Definition) -> dict[str, str]:
    """The labels of a record volume."""
    raw = json.dumps(definition.to_dict(), sort_keys=True, separators=(",", ":")).encode()
    return {
        L.RECORD: definition.name,
        L.GENERATION: str(definition.generation),
        L.ENTRY: definition.stack.entry,
        L.VERSION: definition.stack.version,
        L.DEFINITION: base64.b64encode(zlib.compress(raw, 9)).decode(),
    }


#: Largest record definition inflated: a label of a few KB that inflates to
#: gigabytes (a zlib bomb on a hostile host) must not take Corral's memory.
MAX_DEFINITION = 8 * 1024 * 1024


def _inflate(blob: bytes) -> bytes:
    inflater = zlib.decompressobj()
    raw = inflater.decompress(blob, MAX_DEFINITION)
    if inflater.unconsumed_tail:
        raise ValueError(f"definition inflates past {MAX_DEFINITION // (1024 * 1024)} MiB")
    return raw


def decode(labels: dict[str, str]) -> Definition:
    """Read a record volume's labels.

    Raises:
        ValueError: Not a record, or one this Corral cannot read.
    """
    try:
        data = json.loads(_inflate(base64.b64decode(labels[L.DEFINITION])))
    except (KeyError, ValueError, zlib.error) as exc:
        raise ValueError(f"unreadable stack record: {exc}") from exc
    if data.get("format") not in _READABLE:
        raise ValueError(f"stack record format {data.get('format')!r} is not {FORMAT}")
    return Definition(
        stack=stack_from_dict(data["spec"]),
        answers=dict(data.get("answers") or {}),
        secret_names=tuple(data.get("secret_names") or ()),
        secret_tokens=dict(data.get("secret_tokens") or {}),
        secret_files={str(k): str(v) for k, v in (data.get("secret_files") or {}).items()},
        legacy_digest=str(data.get("secrets_digest") or ""),
        generation=int(data.get("generation", 0)),
        deployed_at=float(data.get("deployed_at", 0.0)),
        upgrade_from=data.get("upgrade_from"),
    )


def record_name(stack: str, generation: int) -> str:
    """The record volume of one generation."""
    return f"{PREFIX}{stack}.{generation}"


def stack_from_dict(data: dict) -> Stack:
    """Rebuild a Stack from `Stack.to_dict()` (the inverse, secrets aside)."""
    return _build(Stack, data)


def _build(kind: object, value: object) -> object:
    """Turn plain data back into the (nested, frozen) dataclasses of the spec."""
    if value is None:
        return None
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = typing.get_type_hints(kind)
        assert isinstance(value, dict)
        return kind(**{f.name: _build(hints[f.name], value[f.name])
                       for f in dataclasses.fields(kind)
                       if f.name in value and f.name != "secrets"})
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return _build(options[0], value) if len(options) == 1 else value
    if origin is tuple:
        assert isinstance(value, list | tuple)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], item) for item in value)
        return tuple(_build(a, item) for a, item in zip(args, value, strict=False))
    if origin is dict:
        assert isinstance(value, dict)
        return {k: _build(args[1], v) for k, v in value.items()}
    if origin is frozenset:
        return frozenset(value)  # type: ignore[arg-type]
    return value
