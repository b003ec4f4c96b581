"""The stack record Swarm services carry: what was deployed, readable by any operator.

Each service a deploy creates or changes carries, in its own labels, the
definition of the deploy that last changed it: catalog entry and version,
the generation, and the rendered spec with password answers masked and the
answers minus passwords (`io.corral.definition`, zlib + base64 like the
standalone engine's record volumes). The stack's record is the one with the
highest generation among its services. Never a password: the spec is the
masked `Stack.to_dict()`, and password answers are left out by name.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass

from corral.backends import labels as L
from corral.catalog.answers import Answers
from corral.catalog.spec import Stack

FORMAT = 1
#: Largest definition inflated (a hostile label must not take Corral's memory).
MAX_DEFINITION = 8 * 1024 * 1024


@dataclass(frozen=True)
class Record:
    """What a service's labels say of the deploy that last changed it."""

    stack: str
    entry: str
    version: str
    generation: int
    data: dict

    def to_dict(self) -> dict:
        """Plain data for `--json` (already without passwords)."""
        return {"stack": self.stack, "entry": self.entry, "version": self.version,
                "generation": self.generation}


def record_labels(stack: Stack, answers: Answers | None, generation: int) -> dict[str, str]:
    """The labels that carry the record of a deploy of `stack`."""
    secret = set(answers.secret_names) if answers else set()
    kept = {k: v for k, v in (answers.values if answers else {}).items() if k not in secret}
    data = {"format": FORMAT, "name": stack.name, "entry": stack.entry,
            "version": stack.version, "answers": dict(sorted(kept.items())),
            "secret_names": sorted(secret), "spec": stack.to_dict()}
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    return {L.ENTRY: stack.entry, L.VERSION: stack.version, L.GENERATION: str(generation),
            L.DEFINITION: base64.b64encode(zlib.compress(raw, 9)).decode()}


def read_record(labels: dict[str, str]) -> Record | None:
    """The record in a service's labels, or None when there is none or it is unreadable."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode(labels[L.DEFINITION]), MAX_DEFINITION)
        if inflater.unconsumed_tail:
            return None
        data = json.loads(raw)
        return Record(str(data["name"]), str(data.get("entry", "")),
                      str(data.get("version", "")), int(labels.get(L.GENERATION, "0")), data)
    except (KeyError, ValueError, TypeError, zlib.error):
        return None
