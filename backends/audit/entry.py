"""One audit entry: who changed what, where, when, and how it ended.

An entry is plain JSON: the local file holds one per line and each host keeps
a copy in a volume's labels (`remote.py`). Entries read back from a host are
untrusted text, so `from_dict` accepts only the expected fields and types and
bounds every string.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

#: What replaces a secret in `args`.
MASK = "********"
#: Argument names whose values are never recorded, whatever the caller passed
#: (the gate's contract is that callers mask them already: belt and braces).
SECRET_KEY = re.compile(r"pass|pwd|(^|[_.-])pw($|[_.-])|secret|token|credential|private|apikey"
                        r"|api[_.-]key", re.IGNORECASE)
#: Longest string kept in an argument or the detail; the rest is cut with `…`.
MAX_TEXT = 300
#: Most arguments (and items of a list argument) kept.
MAX_ITEMS = 50
#: The outcomes `guard` reports.
RESULTS = ("ok", "partial", "failed", "refused")


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mask_args(value: object, key: str = "") -> object:
    """`value` with secret-looking arguments masked and long text cut.

    Args:
        value: The arguments (any JSON-like value).
        key: The name `value` is stored under, to recognise secrets.
    """
    if key and SECRET_KEY.search(key):
        return MASK
    if isinstance(value, Mapping):
        items = list(value.items())[:MAX_ITEMS]
        return {_cut(str(k), 80): mask_args(v, str(k)) for k, v in items}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [mask_args(item) for item in list(value)[:MAX_ITEMS]]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _cut(str(value))


def iso_time(epoch: float) -> str:
    """`2026-12-03T01:50:24.123Z` (UTC, milliseconds)."""
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))
    return f"{seconds}.{int(epoch * 1000) % 1000:03d}Z"


def new_id() -> str:
    """A random id that tells entries apart across machines."""
    return secrets.token_hex(8)


@dataclass(frozen=True)
class AuditEntry:
    """One mutation as the audit trail keeps it.

    Attributes:
        id: Random; the same entry read from the local file and from several
            hosts is shown once.
        time: When the outcome was known, epoch seconds.
        user: The local user who ran Corral.
        machine: The machine Corral ran on.
        ssh_users: The SSH login used on each host touched.
        hosts: The inventory names of the hosts touched.
        verb: The guard's dotted verb (`stack.rm`).
        stack: The stack, if any.
        target: The object acted on, if any.
        args: The arguments, secrets masked.
        result: `ok`, `partial` (some hosts failed), `failed` or `refused`.
        detail: Why it failed (on which hosts) or was refused (empty when ok).
    """

    id: str
    time: float
    user: str
    machine: str
    verb: str
    result: str
    hosts: tuple[str, ...] = ()
    ssh_users: dict[str, str] = field(default_factory=dict)
    stack: str | None = None
    target: str | None = None
    args: dict[str, object] = field(default_factory=dict)
    detail: str = ""

    @property
    def when(self) -> str:
        """The time as ISO 8601 UTC."""
        return iso_time(self.time)

    def to_dict(self) -> dict:
        """Plain data: one line of the local file, one host-side copy."""
        data = asdict(self)
        data["hosts"] = list(self.hosts)
        data["when"] = self.when
        return data


def _text(data: Mapping, key: str, limit: int = MAX_TEXT, optional: bool = False) -> str | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValueError(f"audit entry field {key!r} is not text")
    return _cut(value, limit)


def from_dict(data: object) -> AuditEntry:
    """Read an entry back (from the local file or a host).

    Raises:
        ValueError: Not an audit entry.
    """
    if not isinstance(data, Mapping):
        raise ValueError("an audit entry is a JSON object")
    when = data.get("time")
    if not isinstance(when, (int, float)) or isinstance(when, bool):
        raise ValueError("audit entry has no time")
    result = _text(data, "result")
    if result not in RESULTS:
        raise ValueError(f"audit entry result {result!r} is not one of {', '.join(RESULTS)}")
    hosts = data.get("hosts") or []
    users = data.get("ssh_users") or {}
    args = data.get("args") or {}
    if not isinstance(hosts, list) or not isinstance(users, Mapping) \
            or not isinstance(args, Mapping):
        raise ValueError("audit entry hosts, ssh_users or args have the wrong type")
    return AuditEntry(
        id=_text(data, "id", 64) or "", time=float(when), user=_text(data, "user", 80) or "",
        machine=_text(data, "machine", 255) or "", verb=_text(data, "verb", 80) or "",
        result=result, hosts=tuple(_cut(str(h), 80) for h in hosts[:MAX_ITEMS]),
        ssh_users={_cut(str(k), 80): _cut(str(v), 80)
                   for k, v in list(users.items())[:MAX_ITEMS]},
        stack=_text(data, "stack", 80, optional=True),
        target=_text(data, "target", optional=True),
        args=mask_args(dict(args)),  # type: ignore[arg-type]
        detail=_text(data, "detail", optional=True) or "",
    )
